import DQTAPI
import DQTTesting
import Foundation
import LibPQ
import NIOHTTP1
import Testing

/// The establishments store (GIAS and the TPS establishments file) and the workforce rows checked against it, over
/// HTTP on loopback against a real PostgreSQL.
@Suite(.enabled(if: TestServices.shouldRun(TestServices.databaseURL)))
struct EstablishmentTests {
    static func gias(la: String = "201", number: String? = "4001", name: String = "Oakfield Primary School", closeDate: String? = nil) -> String {
        """
        {"laCode":"\(la)","laName":"Camden","establishmentNumber":\(number.map { "\"\($0)\"" } ?? "null"),"name":"  \(name) ",
         "typeCode":"1","typeName":"Community school","typeGroupCode":"4","typeGroupName":"Local authority maintained schools",
         "statusCode":"\(closeDate == nil ? "1" : "2")","statusName":"\(closeDate == nil ? "Open" : "Closed")","phaseCode":"2",
         "phaseName":"Primary","numberOfPupils":312,"percentageFsm":12.5,"street":"1 High Street","locality":"","address3":null,
         "town":"London","county":null,"postcode":"NW1 1AA","closeDate":\(closeDate.map { "\"\($0)\"" } ?? "null")}
        """
    }

    /// A workforce row of person 1000040 at `la`/`establishment` from `start`, with its path.
    static func employment(la: String = "201", establishment: String?, start: String = "2024-09-01") -> (path: String, body: String) {
        let key = "1000040.\(la).\(establishment ?? "NULL").\(start.replacingOccurrences(of: "-", with: ""))"
        let body = employmentBody(trn: "1000040", start: start, establishment: establishment)
            .replacingOccurrences(of: #""localAuthorityCode":"201""#, with: #""localAuthorityCode":"\#(la)""#)
        return ("/v3/persons/1000040/employments/\(key)", body)
    }

    @Test func establishmentsAreWrittenReadAndAudited() async throws {
        try await Harness.with { h in
            let writer = h.key(.updateEstablishments)
            #expect(try await h.call(.PUT, "/v3/establishments/100001", json: Self.gias(), key: writer).status == 204)
            #expect(try await h.call(.PUT, "/v3/establishments/100001", json: Self.gias(), key: h.key(.getPerson)).status == 403)
            let invalid = try await h.call(.PUT, "/v3/establishments/100002", json: Self.gias(la: "20", number: "12345"), key: writer)
            #expect(invalid.status == 400)
            let errors = try #require(try invalid.json()["errors"] as? [String: Any])
            #expect(Set(errors.keys) == ["laCode", "establishmentNumber"])
            #expect(try await h.call(.PUT, "/v3/establishments/0", json: Self.gias(), key: writer).status == 400)
            #expect(try await h.call(.PUT, "/v3/establishments/12a", json: Self.gias(), key: writer).status == 400)
            let future = try await h.call(.PUT, "/v3/establishments/100003", json: Self.gias(closeDate: "2099-01-01"), key: writer)
            #expect(future.status == 400)

            let read = try await h.call(.GET, "/v3/establishments/100001", key: h.key(.setWorkforceData))
            #expect(read.status == 200)
            let document = try read.json()
            #expect(document["urn"] as? Int == 100001)
            #expect(document["name"] as? String == "Oakfield Primary School")
            #expect(document["locality"] == nil, "a blank locality is stored as null")
            #expect(document["percentageFsm"] as? Double == 12.5)
            #expect(try await h.call(.GET, "/v3/establishments/100009", key: h.key(.getPerson)).status == 404)
            #expect(try await h.call(.GET, "/v3/establishments/100001", key: h.key(.createTrn)).status == 403)

            // Renamed: replaced whole, the audit keeps before and after.
            #expect(try await h.call(.PUT, "/v3/establishments/100001", json: Self.gias(name: "Oakfield Academy"), key: writer).status == 204)
            let audit = try await h.sql { connection in
                let rows = try connection.query(
                    "SELECT before->>'name' AS before, after->>'name' AS after FROM audit WHERE operation = 'upsertEstablishment' ORDER BY id")
                return (0..<rows.rowCount).map { [rows.string($0, "before"), rows.string($0, "after")] }
            }
            #expect(audit == [[nil, "Oakfield Primary School"], ["Oakfield Primary School", "Oakfield Academy"]])

            let tps = try await h.call(
                .PUT, "/v3/tps-establishments/201/4001", json: #"{"empsName":"OAKFIELD","giasName":null,"schoolClosedDate":"2019-12-31"}"#,
                key: writer)
            #expect(tps.status == 204)
            #expect(try await h.call(.PUT, "/v3/tps-establishments/2011/4001", json: "{}", key: writer).status == 400)
            let list = try await h.call(.GET, "/v3/establishments?laCode=201&establishmentNumber=4001", key: h.key(.getPerson)).json()
            #expect((list["establishments"] as? [[String: Any]])?.map { $0["urn"] as? Int } == [100001])
            #expect((list["tpsEstablishments"] as? [[String: Any]])?.first?["schoolClosedDate"] as? String == "2019-12-31")
            let other = try await h.call(.GET, "/v3/establishments?laCode=202", key: h.key(.getPerson)).json()
            #expect((other["establishments"] as? [Any])?.isEmpty == true)
            #expect(try await h.call(.GET, "/v3/establishments?laCode=2x1", key: h.key(.getPerson)).status == 400)

            let kinds = try await h.call(.GET, "/v3/changes?kinds=establishment.upserted", key: h.key(.readChanges)).json()
            #expect((kinds["changes"] as? [Any])?.count == 3)
        }
    }

    @Test func workforceRowsAreCheckedAgainstTheEstablishments() async throws {
        try await Harness.with { h in
            let workforce = h.key(.setWorkforceData)
            // Nothing loaded yet: no judgement.
            let early = Self.employment(establishment: "4999")
            #expect(try await h.call(.PUT, early.path, json: early.body, key: workforce).status == 204)

            let writer = h.key(.updateEstablishments)
            #expect(try await h.call(.PUT, "/v3/establishments/100001", json: Self.gias(number: "4001"), key: writer).status == 204)
            #expect(
                try await h.call(.PUT, "/v3/establishments/100002", json: Self.gias(number: "4002", closeDate: "2020-07-31"), key: writer).status
                    == 204)
            let tpsClosed = #"{"empsName":"RIVERSIDE","giasName":"RIVERSIDE","schoolClosedDate":"2019-12-31"}"#
            #expect(try await h.call(.PUT, "/v3/tps-establishments/202/5001", json: tpsClosed, key: writer).status == 204)

            let open = Self.employment(establishment: "4001")
            #expect(try await h.call(.PUT, open.path, json: open.body, key: workforce).status == 204)

            let closed = Self.employment(establishment: "4002")
            let refused = try await h.call(.PUT, closed.path, json: closed.body, key: workforce)
            #expect(refused.status == 422)
            #expect(refused.errorCode == 10106)
            let beforeClosing = Self.employment(establishment: "4002", start: "2019-09-01")
            #expect(try await h.call(.PUT, beforeClosing.path, json: beforeClosing.body, key: workforce).status == 204)
            let tps = Self.employment(la: "202", establishment: "5001", start: "2020-01-01")
            #expect(try await h.call(.PUT, tps.path, json: tps.body, key: workforce).errorCode == 10106)

            let unknown = Self.employment(establishment: "4998")
            let keyed: [(String, String)] = [("Idempotency-Key", "wf:unknown")]
            let warned = try await h.call(.PUT, unknown.path, json: unknown.body, key: workforce, headers: keyed)
            #expect(warned.status == 200)
            let warnings = try #require(try warned.json()["warnings"] as? [[String: Any]])
            #expect(warnings.map { $0["code"] as? String } == ["EstablishmentUnknown"])
            #expect(warnings.first?["field"] as? String == "establishmentCode")
            let replay = try await h.call(.PUT, unknown.path, json: unknown.body, key: workforce, headers: keyed)
            #expect(replay.status == 200)
            let replayed = try #require(try replay.json()["warnings"] as? [[String: String]])
            #expect(replayed == warnings.map { $0.compactMapValues { $0 as? String } })

            let noLA = Self.employment(la: "999", establishment: nil)
            let laWarning = try await h.call(.PUT, noLA.path, json: noLA.body, key: workforce)
            #expect((try laWarning.json()["warnings"] as? [[String: Any]])?.first?["code"] as? String == "LocalAuthorityUnknown")
            let knownLA = Self.employment(establishment: nil)
            #expect(try await h.call(.PUT, knownLA.path, json: knownLA.body, key: workforce).status == 204)

            // The same rules in a batch, per operation; the refused row is not stored.
            func operation(_ row: (path: String, body: String), _ key: String) -> String {
                #"{"method":"PUT","path":"\#(row.path)","idempotencyKey":"\#(key)","body":\#(row.body.replacingOccurrences(of: "\n", with: ""))}"#
            }
            let batch = """
                {"operations":[\(operation(Self.employment(establishment: "4001", start: "2023-09-01"), "b:1")),
                \(operation(Self.employment(establishment: "4002", start: "2023-09-01"), "b:2")),
                \(operation(Self.employment(establishment: "4997", start: "2023-09-01"), "b:3"))]}
                """
            let reply = try await h.call(.POST, "/v3/batches", json: batch, key: workforce)
            let results = try #require(try reply.json()["results"] as? [[String: Any]])
            #expect(results.map { $0["status"] as? Int } == [204, 422, 200])
            #expect((results[1]["problem"] as? [String: Any])?["errorCode"] as? Int == 10106)
            let stored = try await h.sql { connection in
                let rows = try connection.query("SELECT employment_key FROM employments WHERE establishment_code = '4002' ORDER BY 1")
                return (0..<rows.rowCount).map { rows.string($0, "employment_key") }
            }
            #expect(stored == ["1000040.201.4002.20190901"])
        }
    }
}
