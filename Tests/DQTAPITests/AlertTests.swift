import DQTAPI
import DQTTesting
import Foundation
import LibPQ
import NIOHTTP1
import Testing

/// Alerts by natural key (source and the partner's reference), corrected and ended, over HTTP on loopback against a
/// real PostgreSQL: what the database holds, what the audit and the change feed say.
@Suite(.enabled(if: TestServices.shouldRun(TestServices.databaseURL)))
struct AlertTests {
    static func notice(
        trn: String = "1000044", code: String = "T2", details: String = "Interim prohibition order", end: String? = "2027-04-15",
        source: String? = "ewc", reference: String? = "EWC/2026/0042"
    ) -> String {
        func json(_ value: String?) -> String { value.map { "\"\($0)\"" } ?? "null" }
        return """
            {"trn":"\(trn)","alertTypeCode":"\(code)","details":"\(details)","startDate":"2026-10-15","endDate":\(json(end)),
             "sender":"teacher.alerts@ewc.wales.example","source":\(json(source)),"reference":\(json(reference))}
            """
    }

    /// The alerts of 1000044 and 1000045 as (id, type, details, end date, end reason), and the audit rows of alert writes.
    static func stored(_ h: Harness) async throws -> (alerts: [[String?]], audits: [[String?]]) {
        try await h.sql { connection in
            let alerts = try connection.query(
                """
                SELECT alert_id, alert_type_code, details, end_date::text AS end_date, end_reason FROM alerts
                WHERE trn IN ('1000044', '1000045') ORDER BY created_at, alert_id
                """)
            let audits = try connection.query(
                """
                SELECT operation, before->>'details' AS before, after->>'details' AS after, after->>'end_reason' AS reason FROM audit
                WHERE operation IN ('createAlert', 'updateAlert', 'endAlert') ORDER BY id
                """)
            return (
                (0..<alerts.rowCount).map { row in
                    ["alert_id", "alert_type_code", "details", "end_date", "end_reason"].map { alerts.string(row, $0) }
                },
                (0..<audits.rowCount).map { row in ["operation", "before", "after", "reason"].map { audits.string(row, $0) } }
            )
        }
    }

    @Test func aResentNoticeIsOneAlertAndACorrectedOneUpdatesIt() async throws {
        try await Harness.with { h in
            let key = h.key(.updateRole)
            let created = try await h.call(.POST, "/v3/alerts", json: Self.notice(), key: key)
            #expect(created.status == 201)
            let id = try #require(try created.json()["alertId"] as? String)
            #expect(try created.json()["outcome"] as? String == "Created")

            // The same notice again, without an Idempotency-Key: the same alert, nothing written.
            let resent = try await h.call(.POST, "/v3/alerts", json: Self.notice(), key: key)
            #expect(resent.status == 200)
            #expect(try resent.json()["alertId"] as? String == id && resent.json()["outcome"] as? String == "Unchanged")
            var state = try await Self.stored(h)
            #expect(state.alerts.count == 1 && state.audits.count == 1)

            // Corrected: updated in place, audited with before and after.
            let corrected = try await h.call(.POST, "/v3/alerts", json: Self.notice(details: "Interim prohibition order, varied"), key: key)
            #expect(corrected.status == 200)
            #expect(try corrected.json()["alertId"] as? String == id && corrected.json()["outcome"] as? String == "Updated")
            state = try await Self.stored(h)
            #expect(state.alerts == [[id, "T2", "Interim prohibition order, varied", "2027-04-15", nil]])
            #expect(state.audits.last == ["createAlert", "Interim prohibition order", "Interim prohibition order, varied", nil])

            // The same reference from another source is another notice; the same key for another person is refused.
            let otherSource = try await h.call(.POST, "/v3/alerts", json: Self.notice(source: "gtcs"), key: key)
            #expect(try otherSource.status == 201 && otherSource.json()["alertId"] as? String != id)
            let otherPerson = try await h.call(.POST, "/v3/alerts", json: Self.notice(trn: "1000045"), key: key)
            #expect(otherPerson.status == 409 && otherPerson.errorCode == 10108)

            // Without a source, the API key's name is the source: a key of its own.
            let byKey = try await h.call(.POST, "/v3/alerts", json: Self.notice(source: nil), key: key)
            #expect(byKey.status == 201)
            let byKeyID = try #require(try byKey.json()["alertId"] as? String)
            let byKeyAgain = try await h.call(.POST, "/v3/alerts", json: Self.notice(source: nil), key: key)
            #expect(try byKeyAgain.status == 200 && byKeyAgain.json()["alertId"] as? String == byKeyID)
            let source = try await h.sql { try $0.query("SELECT source FROM alerts WHERE alert_id = $1", [.text(byKeyID)]).string(0, 0) }
            #expect(source == "test-UpdateRole")

            // Without a reference every notice is a new alert, as before.
            for _ in 0..<2 { #expect(try await h.call(.POST, "/v3/alerts", json: Self.notice(source: nil, reference: nil), key: key).status == 201) }
            #expect(try await Self.stored(h).alerts.count == 5)

            // Refused before the database: a source without a reference, a reference with a space, an upper-case source.
            for body in [Self.notice(reference: nil), Self.notice(reference: "EWC 42"), Self.notice(source: "EWC")] {
                let reply = try await h.call(.POST, "/v3/alerts", json: body, key: key)
                #expect(reply.status == 400 && reply.errorCode == 10100, "\(reply.text)")
            }
        }
    }

    /// The same notice sent at once on several connections: one alert, made once, however the calls interleave.
    @Test func concurrentNoticesWithOneKeyMakeOneAlert() async throws {
        try await Harness.with { h in
            let key = h.key(.updateRole)
            let replies = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let reply = try await h.call(.POST, "/v3/alerts", json: Self.notice(), key: key)
                        return (reply.status, try reply.json()["alertId"] as? String)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(replies.map(\.0).sorted() == [200, 200, 200, 200, 200, 200, 200, 201])
            #expect(Set(replies.map(\.1)).count == 1)
            let state = try await Self.stored(h)
            #expect(state.alerts.count == 1 && state.audits.count == 1)
        }
    }

    @Test func anAlertIsCorrectedEndedOnceAndThenNoLongerChanges() async throws {
        try await Harness.with { h in
            let key = h.key(.updateRole)
            let id = try #require(try await h.call(.POST, "/v3/alerts", json: Self.notice(), key: key).json()["alertId"] as? String)

            #expect(try await h.call(.PATCH, "/v3/alerts/\(id)", json: #"{"alertTypeCode":"T1","endDate":"2027-10-15"}"#, key: key).status == 204)
            // The same values again: nothing written.
            #expect(try await h.call(.PATCH, "/v3/alerts/\(id)", json: #"{"alertTypeCode":"T1"}"#, key: key).status == 204)
            let before = try await h.call(.PATCH, "/v3/alerts/\(id)", json: #"{"endDate":"2026-01-01"}"#, key: key)
            #expect(before.status == 400 && before.errorCode == 10100)
            #expect(try await h.call(.PATCH, "/v3/alerts/\(id)", json: "{}", key: key).status == 400)

            let end = #"{"endDate":"2026-12-01","reason":"Order revoked on appeal"}"#
            #expect(try await h.call(.POST, "/v3/alerts/\(id)/end", json: end, key: key).status == 204)
            var state = try await Self.stored(h)
            #expect(state.alerts == [[id, "T1", "Interim prohibition order", "2026-12-01", "Order revoked on appeal"]])
            #expect(state.audits.map { $0[0] } == ["createAlert", "updateAlert", "endAlert"])
            #expect(state.audits.last?[3] == "Order revoked on appeal")

            // Ended once: a second end (any date), a correction and a changed notice are 409; the notice resent is a no-op.
            let again = try await h.call(.POST, "/v3/alerts/\(id)/end", json: end, key: key)
            #expect(again.status == 409 && again.errorCode == 10107)
            let later = try await h.call(.POST, "/v3/alerts/\(id)/end", json: #"{"endDate":"2027-01-01","reason":"Later"}"#, key: key)
            #expect(later.status == 409 && later.errorCode == 10107)
            let patched = try await h.call(.PATCH, "/v3/alerts/\(id)", json: #"{"details":"Too late"}"#, key: key)
            #expect(patched.status == 409 && patched.errorCode == 10107)
            let changed = try await h.call(.POST, "/v3/alerts", json: Self.notice(details: "Another text"), key: key)
            #expect(changed.status == 409 && changed.errorCode == 10107)
            let resent = try await h.call(.POST, "/v3/alerts", json: Self.notice(code: "T1", end: nil), key: key)
            #expect(try resent.status == 200 && resent.json()["outcome"] as? String == "Unchanged")
            state = try await Self.stored(h)
            #expect(state.alerts.count == 1 && state.audits.count == 3 && state.alerts[0][4] == "Order revoked on appeal")

            // An end before the alert's start, an unknown alert, a malformed id.
            let second = try #require(
                try await h.call(.POST, "/v3/alerts", json: Self.notice(reference: "EWC/2026/0043"), key: key).json()["alertId"] as? String)
            let early = try await h.call(.POST, "/v3/alerts/\(second)/end", json: #"{"endDate":"2026-01-01","reason":"x"}"#, key: key)
            #expect(early.status == 400 && early.errorCode == 10100)
            let blankReason = try await h.call(.POST, "/v3/alerts/\(second)/end", json: #"{"endDate":"2026-12-01","reason":"  "}"#, key: key)
            #expect(blankReason.status == 400)
            let unknown = "00000000-0000-4000-a000-00000000ffff"
            #expect(try await h.call(.POST, "/v3/alerts/\(unknown)/end", json: end, key: key).status == 404)
            #expect(try await h.call(.PATCH, "/v3/alerts/\(unknown)", json: #"{"details":"x"}"#, key: key).status == 404)
            #expect(try await h.call(.POST, "/v3/alerts/bad%20id/end", json: end, key: key).status == 400)
        }
    }

    @Test func theChangeFeedTellsCreatedUpdatedAndEndedApart() async throws {
        try await Harness.with { h in
            let key = h.key(.updateRole)
            let id = try #require(try await h.call(.POST, "/v3/alerts", json: Self.notice(), key: key).json()["alertId"] as? String)
            _ = try await h.call(.POST, "/v3/alerts", json: Self.notice(), key: key)
            _ = try await h.call(.POST, "/v3/alerts", json: Self.notice(details: "Varied"), key: key)
            _ = try await h.call(.PATCH, "/v3/alerts/\(id)", json: #"{"alertTypeCode":"T1"}"#, key: key)
            #expect(try await h.call(.POST, "/v3/alerts/\(id)/end", json: #"{"endDate":"2026-12-01","reason":"Revoked"}"#, key: key).status == 204)

            let alerts = try await h.changes(kinds: "alert.created,alert.updated,alert.ended").changes
            #expect(alerts.map { $0["kind"] as? String } == ["alert.created", "alert.updated", "alert.updated", "alert.ended"])
            #expect(alerts.map { $0["operation"] as? String } == ["createAlert", "createAlert", "updateAlert", "endAlert"])
            let ended = try #require(alerts.last?["after"] as? [String: Any])
            #expect(ended["alertId"] as? String == id && ended["endDate"] as? String == "2026-12-01" && ended["endReason"] as? String == "Revoked")
            #expect(ended["source"] as? String == "ewc" && ended["reference"] as? String == "EWC/2026/0042")
            #expect(ended["lastName"] != nil && ended["alertTypeCode"] as? String == "T1")
            let endedBefore = try #require(alerts.last?["before"] as? [String: Any])
            #expect(endedBefore["endDate"] as? String == "2027-04-15" && endedBefore["endReason"] is NSNull)
            #expect(try await h.changes(kinds: "alert.ended").changes.count == 1)
        }
    }

    @Test func writingAlertsNeedsTheRoleUpdateRole() async throws {
        try await Harness.with { h in
            let id = try #require(
                try await h.call(.POST, "/v3/alerts", json: Self.notice(), key: h.key(.updateRole)).json()["alertId"] as? String)
            for role in Role.allCases where role != .updateRole {
                let patch = try await h.call(.PATCH, "/v3/alerts/\(id)", json: #"{"details":"x"}"#, key: h.key(role))
                let end = try await h.call(.POST, "/v3/alerts/\(id)/end", json: #"{"endDate":"2026-12-01","reason":"x"}"#, key: h.key(role))
                let create = try await h.call(.POST, "/v3/alerts", json: Self.notice(details: "x"), key: h.key(role))
                for reply in [patch, end, create] {
                    #expect(reply.status == 403 && reply.errorCode == 10121, "\(role): \(reply.text)")
                }
            }
            #expect(try await h.call(.POST, "/v3/alerts/\(id)/end", json: #"{"endDate":"2026-12-01","reason":"x"}"#).status == 401)
            #expect(try await Self.stored(h).audits.count == 1)
        }
    }

    /// The batch route finds the new endpoints by method and path, as the bridge sends them.
    @Test func alertsAreCorrectedAndEndedInABatch() async throws {
        try await Harness.with { h in
            let id = try #require(
                try await h.call(.POST, "/v3/alerts", json: Self.notice(), key: h.key(.updateRole)).json()["alertId"] as? String)
            let batch = """
                {"operations":[
                 {"method":"PATCH","path":"/v3/alerts/\(id)","idempotencyKey":"alert-b1","body":{"details":"Varied"}},
                 {"method":"POST","path":"/v3/alerts/\(id)/end","idempotencyKey":"alert-b2","body":{"endDate":"2026-12-01","reason":"Revoked"}},
                 {"method":"POST","path":"/v3/alerts/\(id)/end","idempotencyKey":"alert-b3","body":{"endDate":"2026-12-02","reason":"Again"}}]}
                """
            let reply = try await h.call(.POST, "/v3/batches", json: batch, key: h.key(.updateRole))
            #expect(reply.status == 200)
            let results = try #require(try reply.json()["results"] as? [[String: Any]])
            #expect(results.map { $0["status"] as? Int } == [204, 204, 409])
            #expect(try await Self.stored(h).alerts == [[id, "T2", "Varied", "2026-12-01", "Revoked"]])
        }
    }
}
