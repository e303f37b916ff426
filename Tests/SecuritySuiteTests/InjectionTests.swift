import DQTAPI
import DQTTesting
import Foundation
import LibPQ
import NIOHTTP1
import Synchronization
import Testing

/// SQL-injection and other hostile strings in every path parameter, query parameter, write header and body field of
/// every operation: the answer is a 4xx problem (or a normal 404 or success), never a 5xx or a dropped connection,
/// and the database is intact afterwards.
@Suite("security: hostile strings in every parameter", .enabled(if: TestServices.shouldRun(TestServices.databaseURL)), .timeLimit(.minutes(10)))
struct InjectionTests {
    /// One probe: an operation with one value replaced.
    struct Probe: Sendable {
        let endpoint: Endpoint
        let place: String
        let hostile: String
        let path: String
        let body: String?
        let headers: [(String, String)]
    }

    /// Every leaf of a JSON value, as a path of keys and indexes.
    static func leaves(_ value: Any, _ prefix: [Any] = []) -> [[Any]] {
        if let object = value as? [String: Any] {
            return object.keys.sorted().flatMap { leaves(object[$0]!, prefix + [$0]) }
        }
        if let array = value as? [Any] {
            return array.indices.flatMap { leaves(array[$0], prefix + [$0]) }
        }
        return [prefix]
    }

    static func replacing(_ value: Any, at path: ArraySlice<Any>, with replacement: Any) -> Any {
        guard let first = path.first else { return replacement }
        if var object = value as? [String: Any], let key = first as? String {
            object[key] = replacing(object[key] as Any, at: path.dropFirst(), with: replacement)
            return object
        }
        if var array = value as? [Any], let index = first as? Int {
            array[index] = replacing(array[index], at: path.dropFirst(), with: replacement)
            return array
        }
        return value
    }

    static func probes() -> [Probe] {
        var probes: [Probe] = []
        for endpoint in Endpoint.all {
            for (name, value) in Hostile.values {
                for parameter in endpoint.pathValues.keys.sorted() {
                    probes.append(
                        Probe(
                            endpoint: endpoint, place: "path \(parameter)", hostile: name,
                            path: endpoint.path(values: [parameter: value]), body: endpoint.body, headers: []))
                }
                for (parameter, _) in endpoint.query {
                    probes.append(
                        Probe(
                            endpoint: endpoint, place: "query \(parameter)", hostile: name,
                            path: endpoint.path(query: [parameter: value]), body: endpoint.body, headers: []))
                }
                // Headers only with printable ASCII (the client refuses line breaks and NUL; those are covered in paths and bodies).
                if value.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) {
                    var headers = ["X-Correlation-Id", "X-Api-Version"]
                    if endpoint.isWrite { headers += ["Idempotency-Key", "X-DQT-Source"] }
                    for header in headers {
                        probes.append(
                            Probe(
                                endpoint: endpoint, place: "header \(header)", hostile: name, path: endpoint.path(),
                                body: endpoint.body, headers: [(header, value)]))
                    }
                }
                if let body = endpoint.body, let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) {
                    for leaf in leaves(json) where !leaf.isEmpty {
                        let changed = replacing(json, at: leaf[...], with: value)
                        let text = String(decoding: try! JSONSerialization.data(withJSONObject: changed), as: UTF8.self)
                        probes.append(
                            Probe(
                                endpoint: endpoint, place: "body \(leaf.map { "\($0)" }.joined(separator: "."))",
                                hostile: name, path: endpoint.path(), body: text, headers: []))
                    }
                }
            }
        }
        return probes
    }

    /// Tables, and a digest of each one's rows, from the database.
    /// Persons' rows are compared for the TRNs in `existing` (those before the sweep) outside `victims`.
    static func snapshot(_ h: APIHarness, existing: [String], excludingTRNs victims: Set<String>) async throws -> [String: String] {
        try await h.sql { connection in
            var result: [String: String] = [:]
            let tables = try connection.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename").rows.compactMap {
                $0["tablename"]
            }
            result["tables"] = tables.joined(separator: ",")
            for table in ["api_keys", "schema_migrations"] {
                result[table] = try connection.query("SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS d FROM \(table) t")
                    .string(0, "d")
            }
            let seeded = victims.sorted()
            result["persons outside the targets"] = try connection.query(
                "SELECT md5(coalesce(string_agg(p::text, '|' ORDER BY trn), '')) AS d FROM persons p WHERE trn = ANY($2::text[]) AND NOT (trn = ANY($1::text[]))",
                [.textArray(seeded), .textArray(existing)]
            ).string(0, "d")
            for table in ["routes", "alerts", "previous_names", "employments"] {
                result[table + " outside the targets"] = try connection.query(
                    "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS d FROM \(table) t WHERE NOT (trn = ANY($1::text[]))",
                    [.textArray(seeded)]
                ).string(0, "d")
            }
            return result
        }
    }

    @Test("no hostile value gets a 5xx or a dropped connection, refusals are problem+json, the database is intact")
    func sweep() async throws {
        try await APIHarness.with { h in
            var victims: Set<String> = ["2000001"]
            for endpoint in Endpoint.all {
                if let trn = endpoint.pathValues["trn"] { victims.insert(trn) }
                if let body = endpoint.body { for match in body.matches(of: /"trn":"(\d{7})"/) { victims.insert(String(match.1)) } }
                if let body = endpoint.body { for match in body.matches(of: /persons\/(?:deceased\/)?(\d{7})/) { victims.insert(String(match.1)) } }
            }
            // An alert's endpoints change the person whose alert it is.
            let alertIDs = Endpoint.all.compactMap { $0.pathValues["alertId"] }
            victims.formUnion(
                try await h.sql {
                    try $0.query("SELECT trn FROM alerts WHERE alert_id = ANY($1::text[])", [.textArray(alertIDs)]).rows.compactMap { $0["trn"] }
                })
            let existing = try await h.sql { try $0.query("SELECT trn FROM persons").rows.compactMap { $0["trn"] } }
            let before = try await Self.snapshot(h, existing: existing, excludingTRNs: victims)
            let auditBefore = try await h.count("SELECT count(*) FROM audit")
            let probes = Self.probes()

            struct Tally: Sendable {
                var byStatus: [String: Int] = [:]
                var failures: [String] = []
                var reflected: [String] = []
                var writeSuccesses: [String: Int] = [:]  // correlation id -> applied operations
                var refusedCorrelations: Set<String> = []
            }
            let tally = Locked(Tally())
            let next = Locked(0)
            let clock = ContinuousClock.now
            // Operations in parallel, each operation's probes one after another: two probes of one operation at
            // once would race on the same record (ConcurrencyTests covers that), and this sweep is about values.
            let queues = Dictionary(grouping: probes, by: \.endpoint.operationID).values.map { $0 }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        while true {
                            let queue = next.withLock { n -> Int in
                                defer { n += 1 }
                                return n
                            }
                            guard queue < queues.count else { return }
                            for probe in queues[queue] {
                                let label = "\(probe.endpoint) \(probe.place) = \(probe.hostile)"
                                do {
                                    let reply = try await h.call(
                                        probe.endpoint.method, probe.path, body: probe.body, key: h.allKey, headers: probe.headers)
                                    let correlation = reply.headers.first(name: "X-Correlation-Id") ?? ""
                                    tally.withLock { t in
                                        t.byStatus["\(reply.status)", default: 0] += 1
                                        if reply.status >= 500 {
                                            t.failures.append("\(label): \(reply)")
                                        } else if reply.status >= 400 {
                                            let legacy404 = probe.endpoint.operationID == "getQualifiedTeachingStatus" && reply.status == 404
                                            if !reply.isProblem && !legacy404 { t.failures.append("\(label): not problem+json: \(reply)") }
                                            t.refusedCorrelations.insert(correlation)
                                        } else if probe.endpoint.isWrite {
                                            if probe.endpoint.operationID == "runBatch" {
                                                let results = reply.json?["results"] as? [[String: Any]] ?? []
                                                let applied = results.filter { ($0["status"] as? Int ?? 0) < 300 && $0["replayed"] as? Bool != true }
                                                    .count
                                                t.writeSuccesses[correlation] = applied
                                                for result in results where (result["status"] as? Int ?? 0) >= 500 {
                                                    t.failures.append("\(label): batch operation \(result)")
                                                }
                                            } else {
                                                t.writeSuccesses[correlation] = 1
                                            }
                                        }
                                        if reply.status >= 400,
                                            reply.text.contains("<script>") || reply.text.contains("DROP TABLE") || reply.text.contains("A' OR 1=1")
                                        {
                                            t.reflected.append("\(label): \(reply.text.prefix(200))")
                                        }
                                    }
                                } catch {
                                    tally.withLock { $0.failures.append("\(label): no answer: \(error)") }
                                }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let elapsed = ContinuousClock.now - clock
            let result = tally.withLock { $0 }
            let after = try await Self.snapshot(h, existing: existing, excludingTRNs: victims)
            for (name, value) in before { #expect(after[name] == value, "\(name) changed") }
            // Audit rows only for successful writes, and never the same change twice for one request.
            let audited = try await h.sql { connection in
                try connection.query(
                    """
                    SELECT correlation_id, count(*) AS n,
                           count(DISTINCT md5(coalesce(before::text, '') || '|' || coalesce(after::text, ''))) AS changes
                    FROM audit GROUP BY correlation_id
                    """
                ).rows
                    .map { ($0["correlation_id"] ?? "", $0.int("n") ?? 0, $0.int("changes") ?? 0) }
            }
            var auditProblems: [String] = []
            for (correlation, count, changes) in audited {
                if result.refusedCorrelations.contains(correlation) { auditProblems.append("\(correlation): refused but audited") }
                if result.writeSuccesses[correlation] == nil { auditProblems.append("\(correlation): audited but not a successful write") }
                if count != changes { auditProblems.append("\(correlation): \(count) rows for \(changes) changes") }
            }
            let auditAfter = try await h.count("SELECT count(*) FROM audit")
            // A stored hostile value comes back exactly as sent (bound, never spliced).
            let patch = try await h.call(.PATCH, "/v3/persons/1000044", body: #"{"lastName":"'; DROP TABLE persons; --"}"#, key: h.allKey)
            let stored = try await h.call(.GET, "/v3/persons/1000044", key: h.allKey)
            #expect(patch.status == 204 && stored.json?["lastName"] as? String == "'; DROP TABLE persons; --", "\(patch) \(stored)")

            print("security sweep: \(probes.count) probes in \(elapsed): \(result.byStatus.sorted { $0.key < $1.key })")
            #expect(result.failures.isEmpty, "\(result.failures.count) failures, first: \(result.failures.prefix(15).joined(separator: "\n"))")
            #expect(result.reflected.isEmpty, "hostile values echoed in problems: \(result.reflected.prefix(5))")
            #expect(auditProblems.isEmpty, "\(auditProblems.prefix(10))")
            let refused = result.byStatus.filter { ($0.key.first ?? "0") == "4" }.values.reduce(0, +)
            let applied = result.writeSuccesses.values.reduce(0, +)
            record(
                "hostile strings in every parameter and body field (\(Hostile.values.count) kinds x \(Endpoint.all.count) operations)",
                runs: probes.count, expected: probes.count, applied: probes.count - refused - result.failures.count,
                lost: result.failures.count, duplicated: 0, refused: refused,
                reasons:
                    "4xx problem+json x\(refused); 5xx or no answer x\(result.failures.count); database \(before == after ? "intact" : "CHANGED"); \(applied) writes accepted, audit +\(auditAfter - auditBefore)",
                ok: result.failures.isEmpty && auditProblems.isEmpty && before == after)
        }
    }

    @Test("a very long URL is refused with a 4xx, not dropped")
    func veryLongURL() async throws {
        try await APIHarness.with { h in
            for length in [20_000, 100_000] {
                let path = "/v3/persons/" + String(repeating: "1", count: length)
                do {
                    let reply = try await h.call(.GET, path, key: h.allKey)
                    #expect((400..<500).contains(reply.status), "\(length): \(reply)")
                } catch {
                    Issue.record("a \(length)-character URL got no answer: \(error)")
                }
            }
        }
    }
}
