import DQTAPI
import DQTTesting
import Foundation
import NIOHTTP1
import Testing

/// `GET /v3/alerts?source=`: a source's alerts by natural key, keyset-paged on the reference, over HTTP against a real
/// PostgreSQL.
@Suite(.enabled(if: TestServices.shouldRun(TestServices.databaseURL)))
struct AlertsBySourceTests {
    static func notice(trn: String, code: String = "B1", start: String = "2025-03-10", end: String? = nil, source: String?, reference: String?)
        -> String
    {
        func json(_ value: String?) -> String { value.map { "\"\($0)\"" } ?? "null" }
        return """
            {"trn":"\(trn)","alertTypeCode":"\(code)","startDate":"\(start)","endDate":\(json(end)),"sender":"DBS","source":\(json(source)),"reference":\(json(reference))}
            """
    }

    /// Five dbs alerts (created out of reference order), one of another source and one without a reference.
    static func seed(_ h: Harness) async throws {
        let key = h.key(.updateRole)
        for (trn, reference) in [
            ("1000003", "DBS0000000003"), ("1000001", "DBS0000000001"), ("1000005", "DBS0000000005"), ("1000002", "DBS0000000002"),
            ("1000004", "DBS0000000004"),
        ] {
            let reply = try await h.call(.POST, "/v3/alerts", json: notice(trn: trn, source: "dbs", reference: reference), key: key)
            #expect(reply.status == 201, "\(reply.text)")
        }
        #expect(
            try await h.call(.POST, "/v3/alerts", json: notice(trn: "1000006", source: "gtcs", reference: "DBS0000000001"), key: key).status == 201)
        #expect(try await h.call(.POST, "/v3/alerts", json: notice(trn: "1000007", source: nil, reference: nil), key: key).status == 201)
    }

    @Test func pagesASourcesAlertsInReferenceOrderEachOnce() async throws {
        try await Harness.with { h in
            try await Self.seed(h)
            let key = h.key(.getPerson)
            var after: String?
            var seen: [[String: Any]] = []
            var pages = 0
            while true {
                let query = "/v3/alerts?source=dbs&limit=2" + (after.map { "&after=\($0)" } ?? "")
                let reply = try await h.call(.GET, query, key: key)
                #expect(reply.status == 200, "\(reply.text)")
                let page = try reply.json()
                let alerts = try #require(page["alerts"] as? [[String: Any]])
                seen += alerts
                pages += 1
                #expect(page["nextAfter"] as? String == alerts.last?["reference"] as? String)
                guard page["hasMore"] as? Bool == true else { break }
                after = page["nextAfter"] as? String
            }
            #expect(pages == 3)
            #expect(seen.map { $0["reference"] as? String } == (1...5).map { "DBS000000000\($0)" })
            #expect(seen.map { $0["trn"] as? String } == (1...5).map { "100000\($0)" })
            #expect(seen.allSatisfy { $0["source"] as? String == "dbs" && $0["alertTypeCode"] as? String == "B1" })
            #expect(seen.allSatisfy { $0["startDate"] as? String == "2025-03-10" && ($0["endDate"] == nil || $0["endDate"] is NSNull) })
            #expect(seen.allSatisfy { ($0["alertId"] as? String)?.isEmpty == false && ($0["updatedOn"] as? String)?.hasSuffix("Z") == true })

            // An ended alert shows its end; an alert written behind the cursor is not given twice.
            let first = try #require(seen.first?["alertId"] as? String)
            let end = try await h.call(
                .POST, "/v3/alerts/\(first)/end", json: #"{"endDate":"2026-10-20","reason":"Removed from the list"}"#, key: h.key(.updateRole))
            #expect(end.status == 204 || end.status == 200, "\(end.text)")
            let rest = try await h.call(.GET, "/v3/alerts?source=dbs&after=DBS0000000004", key: key)
            #expect(try (rest.json()["alerts"] as? [[String: Any]])?.map { $0["reference"] as? String } == ["DBS0000000005"])
            #expect(try rest.json()["hasMore"] as? Bool == false)
            let again = try await h.call(.GET, "/v3/alerts?source=dbs&limit=1", key: key)
            #expect(try (again.json()["alerts"] as? [[String: Any]])?.first?["endDate"] as? String == "2026-10-20")

            // Another source's alerts; a source with none; past the last reference.
            let gtcs = try await h.call(.GET, "/v3/alerts?source=gtcs", key: key)
            #expect(try (gtcs.json()["alerts"] as? [[String: Any]])?.map { $0["trn"] as? String } == ["1000006"])
            let none = try await h.call(.GET, "/v3/alerts?source=ewc", key: key)
            #expect(try (none.json()["alerts"] as? [Any])?.isEmpty == true && (none.json()["nextAfter"] == nil || none.json()["nextAfter"] is NSNull))
            let past = try await h.call(.GET, "/v3/alerts?source=dbs&after=DBS9", key: key)
            #expect(try (past.json()["alerts"] as? [Any])?.isEmpty == true && past.json()["hasMore"] as? Bool == false)
        }
    }

    @Test func refusesWrongParametersAndRoles() async throws {
        try await Harness.with { h in
            let key = h.key(.getPerson)
            for query in [
                "source=DBS", "source=dbs&limit=0", "source=dbs&limit=1001", "source=dbs&after=DBS%20000",
                "source=" + String(repeating: "a", count: 41),
            ] {
                let reply = try await h.call(.GET, "/v3/alerts?\(query)", key: key)
                #expect(reply.status == 400, "\(query): \(reply.status) \(reply.text)")
            }
            #expect(try await h.call(.GET, "/v3/alerts", key: key).status == 400)
            #expect(try await h.call(.GET, "/v3/alerts?source=dbs").status == 401)
            #expect(try await h.call(.GET, "/v3/alerts?source=dbs", key: h.key(.updateRole)).status == 403)
            #expect(try await h.call(.GET, "/v3/alerts?source=dbs", key: h.key(.readChanges)).status == 403)
            #expect(try await h.call(.GET, "/v3/alerts?source=dbs", key: h.allKey).status == 200)
        }
    }
}
