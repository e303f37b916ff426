import DQTAPI
import DQTTesting
import Foundation
import LibPQ
import NIOHTTP1
import Testing

/// Idempotency, the audit and the request size limit on every write endpoint, against a real dqt-api.
@Suite("security: idempotency, audit, size limits", .enabled(if: TestServices.shouldRun(TestServices.databaseURL)), .timeLimit(.minutes(10)))
struct WriteSafetyTests {
    static var writes: [Endpoint] { Endpoint.all.filter { $0.isWrite && $0.operationID != "runBatch" } }

    static func sameJSON(_ a: Data, _ b: Data) -> Bool {
        if a == b { return true }
        guard let x = try? JSONSerialization.jsonObject(with: a), let y = try? JSONSerialization.jsonObject(with: b) else { return false }
        let canonical = { (value: Any) in try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]) }
        return canonical(x) != nil && canonical(x) == canonical(y)
    }

    @Test("an idempotency key: replayed with the same request, 422 with another body, on every write; no audit row added")
    func idempotencyOnEveryWrite() async throws {
        try await APIHarness.with { h in
            var wrong: [String] = []
            var runs = 0
            var refused = 0
            var duplicated = 0
            var applied = 0
            for endpoint in Self.writes {
                let key = "sec-idem:\(endpoint.operationID)"
                let headers = [("Idempotency-Key", key)]
                let first = try await h.call(endpoint.method, endpoint.path(), body: endpoint.body, key: h.allKey, headers: headers)
                let rowsAfterFirst = try await h.count("SELECT count(*) FROM audit WHERE idempotency_key = $1", [.text(key)])
                let replay = try await h.call(endpoint.method, endpoint.path(), body: endpoint.body, key: h.allKey, headers: headers)
                let other = try await h.call(endpoint.method, endpoint.path(), body: endpoint.otherBody, key: h.allKey, headers: headers)
                runs += 3
                if first.status != endpoint.success { wrong.append("\(endpoint) first: \(first)") }
                // The same result: status and body (as JSON: member order may differ).
                if replay.status != first.status || !Self.sameJSON(replay.body, first.body) {
                    wrong.append("\(endpoint) replay: \(replay) vs \(first)")
                }
                if other.status == 422 && other.isProblem && other.errorCode == 10110 {
                    refused += 1
                } else {
                    wrong.append("\(endpoint) other body: \(other)")
                }
                // The replay and the refused reuse change nothing: no audit row beyond the first call's.
                let rows = try await h.count("SELECT count(*) FROM audit WHERE idempotency_key = $1", [.text(key)])
                if rowsAfterFirst >= 1 && rows == rowsAfterFirst {
                    applied += 1
                } else {
                    wrong.append("\(endpoint): \(rowsAfterFirst) audit rows after the first call, \(rows) at the end")
                }
                duplicated += max(0, rows - rowsAfterFirst)
                #expect(try await h.count("SELECT count(*) FROM idempotency_keys WHERE idempotency_key = $1", [.text(key)]) == 1)
            }
            // The same key on another path, and a batch operation reusing a direct call's key with another body.
            let deceased = Endpoint.named("setDeceased")
            let otherPath = try await h.call(
                .PUT, deceased.path(values: ["trn": "1000042"]), body: deceased.body, key: h.allKey,
                headers: [("Idempotency-Key", "sec-idem:setDeceased")])
            #expect(otherPath.status == 422 && otherPath.errorCode == 10110, "\(otherPath)")
            let batch =
                #"{"operations":[{"method":"PUT","path":"/v3/persons/deceased/1000045","idempotencyKey":"sec-idem:setDeceased","body":{"dateOfDeath":"2020-01-01"}},{"method":"PUT","path":"/v3/persons/deceased/1000045","idempotencyKey":"sec-idem:setDeceased","body":{"dateOfDeath":"2024-05-06"}}]}"#
            let batchReply = try await h.call(.POST, "/v3/batches", body: batch, key: h.allKey)
            let results = batchReply.json?["results"] as? [[String: Any]] ?? []
            #expect(results.map { $0["status"] as? Int } == [422, 204], "\(batchReply)")
            #expect(results.last?["replayed"] as? Bool == true)
            runs += 2
            refused += 2
            #expect(wrong.isEmpty, "\(wrong)")
            record(
                "idempotency key reused: replay, another body or path -> 422 (every write endpoint, batch)", runs: runs,
                expected: Self.writes.count, applied: applied, lost: Self.writes.count - applied, duplicated: duplicated,
                refused: refused, reasons: "422 errorCode 10110", ok: wrong.isEmpty)
        }
    }

    /// One row per change: a write whose rules change a second record (a route that gives QTS also sets the
    /// induction to RequiredToComplete) leaves a row for each change, both naming the key and the source; two rows
    /// recording the same change would be a duplicate.
    @Test("every successful write leaves its audit rows (one per change) naming the key and the declared source; refusals none")
    func auditOnEveryWrite() async throws {
        try await APIHarness.with { h in
            let summaries = try await AccessTests.operations(h)
            var wrong: [String] = []
            var applied = 0
            var duplicated = 0
            var severalChanges: [String] = []
            for (index, endpoint) in Self.writes.enumerated() {
                let role = try #require(AccessTests.roles(in: summaries[endpoint.operationID] ?? "").first)
                let correlation = "sec-audit-\(index)"
                let sha = String(repeating: String(format: "%02x", index), count: 32)
                let reply = try await h.call(
                    endpoint.method, endpoint.path(), body: endpoint.body, key: h.key(role),
                    headers: [
                        ("X-Correlation-Id", correlation), ("X-DQT-Source", "feed=sec-suite;sha256=\(sha);line=\(index + 1)"),
                    ])
                #expect(reply.status == endpoint.success, "\(endpoint): \(reply)")
                let rows = try await h.sql { connection in
                    try connection.query(
                        """
                        SELECT key_name, source_feed, source_sha256, source_line, method, path,
                               md5(coalesce(before::text, '') || '|' || coalesce(after::text, '')) AS change
                        FROM audit WHERE correlation_id = $1
                        """,
                        [.text(correlation)]
                    ).rows.map {
                        [
                            $0["key_name"], $0["source_feed"], $0["source_sha256"], $0.int("source_line").map(String.init), $0["method"], $0["path"],
                            $0["change"],
                        ]
                    }
                }
                let changes = Set(rows.map { $0[6] })
                duplicated += rows.count - changes.count
                if rows.count > 1 { severalChanges.append("\(endpoint.operationID): \(rows.count) rows") }
                guard !rows.isEmpty else {
                    wrong.append("\(endpoint): no audit row")
                    continue
                }
                let expected: [String?] = [
                    APIHarness.keyName(role.rawValue), "sec-suite", sha, String(index + 1), endpoint.method.rawValue, endpoint.path(),
                ]
                if rows.allSatisfy({ Array($0.prefix(6)) == expected }) && rows.count == changes.count {
                    applied += 1
                } else {
                    wrong.append("\(endpoint): audit \(rows) expected \(expected)")
                }
            }
            // A batch: one row per applied operation, each with its own source; a refused operation none.
            let batch = """
                {"operations":[
                 {"method":"PUT","path":"/v3/persons/deceased/1000041","source":{"feed":"sec-batch","fileSha256":"aa01","line":7},"body":{"dateOfDeath":"2024-01-01"}},
                 {"method":"PUT","path":"/v3/persons/1000042/qtls","source":{"feed":"sec-batch","fileSha256":"aa01","line":8},"body":{"qtsDate":"2021-01-01"}},
                 {"method":"PUT","path":"/v3/persons/deceased/1999999","source":{"feed":"sec-batch","fileSha256":"aa01","line":9},"body":{"dateOfDeath":"2024-01-01"}}]}
                """
            let reply = try await h.call(.POST, "/v3/batches", body: batch, key: h.allKey, headers: [("X-Correlation-Id", "sec-audit-batch")])
            #expect((reply.json?["results"] as? [[String: Any]])?.map { $0["status"] as? Int } == [204, 200, 404], "\(reply)")
            let batchRows = try await h.sql { connection in
                try connection.query("SELECT key_name, source_line FROM audit WHERE correlation_id = 'sec-audit-batch' ORDER BY source_line").rows
                    .map { "\($0["key_name"] ?? "-"):\($0.int("source_line") ?? -1)" }
            }
            #expect(batchRows == ["sec-all:7", "sec-all:8"])
            if batchRows.count == 2 { applied += 2 }
            // Refused writes leave no row.
            let refusedReplies = [
                try await h.call(
                    .PUT, "/v3/persons/deceased/1999999", body: #"{"dateOfDeath":"2024-01-01"}"#, key: h.allKey,
                    headers: [("X-Correlation-Id", "sec-audit-refused-1")]),
                try await h.call(
                    .PUT, "/v3/persons/deceased/1000045", body: #"{"dateOfDeath":"1800-01-01"}"#, key: h.allKey,
                    headers: [("X-Correlation-Id", "sec-audit-refused-2")]),
                try await h.call(
                    .PUT, "/v3/persons/1000001/welsh-induction", body: #"{"passed":true,"startDate":"2001-01-01","completedDate":"2002-01-01"}"#,
                    key: h.allKey, headers: [("X-Correlation-Id", "sec-audit-refused-3")]),
            ]
            #expect(refusedReplies.allSatisfy { (400..<500).contains($0.status) })
            let refusedRows = try await h.count("SELECT count(*) FROM audit WHERE correlation_id LIKE 'sec-audit-refused-%'")
            #expect(refusedRows == 0)
            // A successful write that changes nothing (the same PATCH again): noted, not required to be audited.
            let patch = Endpoint.named("patchPerson")
            let again = try await h.call(
                .PATCH, patch.path(), body: #"{"lastName":"Newlast"}"#, key: h.allKey, headers: [("X-Correlation-Id", "sec-audit-noop")])
            let noopRows = try await h.count("SELECT count(*) FROM audit WHERE correlation_id = 'sec-audit-noop'")
            print(
                "security: a PATCH that changes nothing answers \(again.status) and leaves \(noopRows) audit rows; writes with several audited changes: \(severalChanges)"
            )
            #expect(wrong.isEmpty, "\(wrong)")
            let expected = Self.writes.count + 2
            record(
                "every write audited (one row per change) with key and declared source (\(Self.writes.count) endpoints + batch)",
                runs: Self.writes.count + 4,
                expected: expected, applied: applied, lost: expected - applied - duplicated, duplicated: duplicated,
                refused: 4, reasons: "404/400 refusals leave no audit row", ok: wrong.isEmpty && refusedRows == 0)
        }
    }

    @Test("request bodies over the limit: 413 problem+json 10123 on every write, declared or chunked; too many operations 10124")
    func sizeLimits() async throws {
        let limit = 64 << 10
        try await APIHarness.with(configure: {
            $0.maxBodyBytes = limit
            $0.maxBatchOperations = 10
        }) { h in
            var wrong: [String] = []
            var refused = 0
            for endpoint in Endpoint.all where endpoint.body != nil {
                let body = endpoint.body!
                let padded = "{" + String(repeating: " ", count: limit + 1) + body.dropFirst()
                let reply = try await h.call(endpoint.method, endpoint.path(), body: padded, key: h.allKey)
                if reply.status == 413 && reply.isProblem && reply.errorCode == 10123 { refused += 1 } else { wrong.append("\(endpoint): \(reply)") }
                // Just under the limit is read normally (the padding is JSON whitespace).
                let under = "{" + String(repeating: " ", count: limit - body.utf8.count - 1) + body.dropFirst()
                let fits = try await h.call(endpoint.method, endpoint.path(), body: under, key: h.allKey)
                if fits.status == 413 { wrong.append("\(endpoint) under the limit: \(fits)") }
            }
            // Chunked, with no declared length.
            let chunked = try RawHTTP.send(
                port: h.port, method: "PUT", path: "/v3/persons/deceased/1000045", key: h.allKey,
                chunkedBody: "{\"dateOfDeath\":\"2024-05-06\"" + String(repeating: " ", count: 3 * limit) + "}")
            if chunked.hasPrefix("HTTP/1.1 413") && chunked.contains("10123") {
                refused += 1
            } else {
                wrong.append("chunked: \(chunked.prefix(200))")
            }
            // Too many operations.
            let operation = #"{"method":"PUT","path":"/v3/persons/deceased/1000045","body":{"dateOfDeath":"2024-01-01"}}"#
            let many = try await h.call(
                .POST, "/v3/batches", body: "{\"operations\":[\(Array(repeating: operation, count: 11).joined(separator: ","))]}", key: h.allKey)
            if many.status == 413 && many.errorCode == 10124 { refused += 1 } else { wrong.append("batch of 11: \(many)") }
            #expect(wrong.isEmpty, "\(wrong)")
            let runs = Endpoint.all.filter { $0.body != nil }.count + 2
            record(
                "413 for bodies over the limit (every endpoint with a body, chunked) and for too many batch operations", runs: runs,
                expected: 0, applied: 0, refused: refused, reasons: "413 errorCode 10123 / 10124", ok: wrong.isEmpty)
        }
    }
}
