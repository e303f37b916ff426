import DQTAPI
import DQTTesting
import Foundation
import LibPQ
import NIOHTTP1
import Testing

/// Keys, roles and the rate limit, on every operation of the contract, against a real dqt-api and PostgreSQL.
@Suite("security: keys, roles, rate limit", .enabled(if: TestServices.shouldRun(TestServices.databaseURL)), .timeLimit(.minutes(10)))
struct AccessTests {
    /// operationId -> (summary, method) from the served contract.
    static func operations(_ h: APIHarness) async throws -> [String: String] {
        let spec = try #require(try await h.call(.GET, "/openapi.json").json)
        let paths = try #require(spec["paths"] as? [String: [String: Any]])
        var operations: [String: String] = [:]
        for (_, methods) in paths {
            for (_, value) in methods {
                guard let operation = value as? [String: Any], let id = operation["operationId"] as? String else { continue }
                operations[id] = (operation["summary"] as? String ?? "") + " " + (operation["description"] as? String ?? "")
            }
        }
        return operations
    }

    /// The roles an operation's summary names ("(role X)" or "(role X or Y)").
    static func roles(in summary: String) -> [Role] {
        guard let range = summary.range(of: "(role ") else { return [] }
        let rest = summary[range.upperBound...].prefix { $0 != ")" }
        return rest.components(separatedBy: " or ").compactMap { Role(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
    }

    @Test("the suite covers every operation of the contract")
    func coverage() async throws {
        try await APIHarness.with { h in
            let served = Set(try await Self.operations(h).keys)
            let covered = Set(Endpoint.all.map(\.operationID)).union(Endpoint.open)
            #expect(served == covered, "not covered: \(served.subtracting(covered).sorted()); unknown: \(covered.subtracting(served).sorted())")
            // And each sample request succeeds as written, so refusals below are due to the change under test.
            for endpoint in Endpoint.all {
                let reply = try await h.call(endpoint.method, endpoint.path(), body: endpoint.body, key: h.allKey)
                #expect(reply.status == endpoint.success, "\(endpoint): \(reply)")
            }
        }
    }

    @Test("missing, malformed, unknown, expired and revoked keys: 401 problem+json 10120 on every operation, nothing applied")
    func badKeys() async throws {
        try await APIHarness.with { h in
            let (expired, revoked) = try await h.sql { connection in
                let expired = try APIKeys.create(connection, name: "sec-expired", roles: Role.allCases, expiresAt: Date().addingTimeInterval(1)).key
                let revoked = try APIKeys.create(connection, name: "sec-revoked", roles: Role.allCases, expiresAt: nil).key
                _ = try APIKeys.revoke(connection, name: "sec-revoked")
                return (expired, revoked)
            }
            try await Task.sleep(for: .milliseconds(1200))
            let variants: [(String, String?)] = [
                ("missing", nil), ("basic", "Basic YWxhZGRpbjpvcGVuc2VzYW1l"), ("bearer without key", "Bearer"),
                ("unknown", "Bearer " + APIKeys.generate()), ("expired", "Bearer " + expired), ("revoked", "Bearer " + revoked),
                ("valid key plus a character", "Bearer " + h.allKey + "x"), ("valid key truncated", "Bearer " + String(h.allKey.dropLast())),
                ("two keys", "Bearer \(h.allKey) \(h.allKey)"), ("10,000-character key", "Bearer " + String(repeating: "k", count: 10_000)),
                ("sql in key", "Bearer ' OR 1=1 --"), ("key hash instead of key", "Bearer " + APIKeys.hash(h.allKey)),
                ("token scheme", "Token " + h.allKey),
            ]
            var refused = 0
            var runs = 0
            var wrong: [String] = []
            for endpoint in Endpoint.all {
                for (name, header) in variants {
                    runs += 1
                    let reply = try await h.call(
                        endpoint.method, endpoint.path(), body: endpoint.body,
                        headers: header.map { [("Authorization", $0)] } ?? [])
                    if reply.status == 401 && reply.isProblem && reply.errorCode == 10120 {
                        refused += 1
                    } else {
                        wrong.append("\(endpoint) with \(name): \(reply)")
                    }
                }
            }
            #expect(wrong.isEmpty, "\(wrong.prefix(10))")
            let audit = try await h.count("SELECT count(*) FROM audit")
            let idempotency = try await h.count("SELECT count(*) FROM idempotency_keys")
            #expect(audit == 0 && idempotency == 0)
            record(
                "401 for missing/malformed/unknown/expired/revoked keys (\(variants.count) kinds x \(Endpoint.all.count) operations)",
                runs: runs, expected: 0, applied: audit, duplicated: 0, refused: refused, reasons: "401 errorCode 10120",
                ok: wrong.isEmpty && audit == 0)
        }
    }

    @Test("a key without the operation's role: 403 problem+json 10121 on every operation, nothing applied")
    func wrongRoles() async throws {
        try await APIHarness.with { h in
            let summaries = try await Self.operations(h)
            var runs = 0
            var refused = 0
            var wrong: [String] = []
            for endpoint in Endpoint.all where endpoint.operationID != "runBatch" {
                let needed = Self.roles(in: summaries[endpoint.operationID] ?? "")
                #expect(!needed.isEmpty, "\(endpoint): the contract names no role")
                let others = Role.allCases.filter { !needed.contains($0) }
                let key = try await h.sql {
                    try APIKeys.create($0, name: "sec-without-\(endpoint.operationID)", roles: others, expiresAt: nil, rateLimit: 1_000_000).key
                }
                for candidate in [key, h.keys["none"]!] {
                    runs += 1
                    let reply = try await h.call(endpoint.method, endpoint.path(), body: endpoint.body, key: candidate)
                    if reply.status == 403 && reply.isProblem && reply.errorCode == 10121 {
                        refused += 1
                    } else {
                        wrong.append("\(endpoint) needs \(needed): \(reply)")
                    }
                }
                // The single role it needs is enough.
                let right = try await h.call(endpoint.method, endpoint.path(), body: endpoint.body, key: h.key(needed[0]))
                #expect(right.status == endpoint.success, "\(endpoint) with \(needed[0]): \(right)")
            }
            // A batch is authorised per operation.
            let batch = Endpoint.named("runBatch")
            let reply = try await h.call(
                .POST, batch.path(), body: batch.body!.replacingOccurrences(of: "sec-batch-1", with: "sec-batch-role"), key: h.keys["none"]!)
            let results = reply.json?["results"] as? [[String: Any]] ?? []
            #expect(reply.status == 200 && results.count == 1 && results.first?["status"] as? Int == 403, "\(reply)")
            runs += 1
            if results.first?["status"] as? Int == 403 { refused += 1 }
            let audited = try await h.count("SELECT count(*) FROM audit WHERE key_name LIKE 'sec-without-%' OR key_name = 'sec-none'")
            #expect(audited == 0)
            #expect(wrong.isEmpty, "\(wrong.prefix(10))")
            record(
                "403 for a key without the role (every operation, batch per operation)", runs: runs, expected: 0,
                applied: audited, refused: refused, reasons: "403 errorCode 10121", ok: wrong.isEmpty && audited == 0)
        }
    }

    @Test("over the rate limit: 429 with Retry-After and the reference's title and detail; the write is not applied")
    func rateLimit() async throws {
        try await APIHarness.with { h in
            // The key's window opens with its first call: the count cannot roll over during the test.
            let key = try await h.sql { try APIKeys.create($0, name: "sec-limited", roles: Role.allCases, expiresAt: nil, rateLimit: 5).key }
            var answered = 0
            for _ in 0..<5 {
                let status = try await h.call(.GET, "/v3/trns/1000001", key: key).status
                #expect(status == 204)
                if status == 204 { answered += 1 }
            }
            let limited = try await h.call(.GET, "/v3/trns/1000001", key: key)
            #expect(limited.status == 429)
            #expect(limited.isProblem && limited.errorCode == 10122, "\(limited)")
            let retryAfter = Int(limited.headers.first(name: "Retry-After") ?? "") ?? -1
            #expect((1...60).contains(retryAfter), "Retry-After \(retryAfter)")
            #expect(limited.json?["title"] as? String == "API calls quota exceeded")
            #expect(limited.json?["detail"] as? String == "A maximum of 5 calls per 60 seconds are permitted.")
            let deceased = Endpoint.named("setDeceased")
            let write = try await h.call(.PUT, deceased.path(), body: deceased.body, key: key, headers: [("Idempotency-Key", "sec-limited-1")])
            #expect(write.status == 429)
            let applied = try await h.count("SELECT count(*) FROM audit WHERE key_name = 'sec-limited'")
            let stored = try await h.count("SELECT count(*) FROM idempotency_keys WHERE idempotency_key = 'sec-limited-1'")
            #expect(applied == 0 && stored == 0)
            // Another key is not limited by this one.
            #expect(try await h.call(.GET, "/v3/trns/1000001", key: h.key(.getPerson)).status == 204)
            let refused = [limited.status, write.status].filter { $0 == 429 }.count
            record(
                "429 over the rate limit (limit 5, then a read and a write)", runs: 7, expected: 5, applied: answered + applied,
                refused: refused, reasons: "429 errorCode 10122, Retry-After \(retryAfter)", ok: refused == 2 && applied == 0 && answered == 5)
        }
    }
}
