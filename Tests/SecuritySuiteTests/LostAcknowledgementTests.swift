import AsyncHTTPClient
import DQTAPI
import DQTTesting
import FaultProxy
import Foundation
import LibPQ
import NIOCore
import NIOHTTP1
import Testing

/// dqt-api behind the fault proxy: responses lost after the write was applied, resets, 5xx, 429 and hangs, with a
/// client that retries every write with the same idempotency key until it is acknowledged. The API's final state
/// must hold every record once: none lost, none applied twice.
@Suite("security: idempotency under lost acknowledgements", .enabled(if: TestServices.shouldRun(TestServices.databaseURL)), .timeLimit(.minutes(10)))
struct LostAcknowledgementTests {
    static let faults: [FaultAction] = [
        .dropResponse, .resetAfterForwarding, .hangAfterForwarding, .resetAfterBytes(12), .resetBeforeForwarding,
        .respond(status: 500), .respond(status: 502), .respond(status: 503), .tooManyRequests(retryAfter: 1), .delay(milliseconds: 150),
    ]

    /// Sends until a 2xx (the acknowledgement) or a 4xx other than 429 (a refusal). Returns the final reply (nil if
    /// never acknowledged within `attempts`) and the number of attempts.
    static func deliver(
        _ h: APIHarness, base: String, _ method: HTTPMethod, _ path: String, body: String, key: String, idempotencyKey: String?,
        attempts: Int = 15, timeout: TimeAmount = .milliseconds(1500)
    ) async -> (APIHarness.Reply?, Int) {
        for attempt in 1...attempts {
            do {
                let headers = idempotencyKey.map { [("Idempotency-Key", $0)] } ?? []
                let reply = try await h.call(method, path, body: body, key: key, headers: headers, base: base, timeout: timeout)
                if reply.status == 429 {
                    let wait = Int(reply.headers.first(name: "Retry-After") ?? "1") ?? 1
                    try? await Task.sleep(for: .milliseconds(min(wait, 2) * 1000))
                    continue
                }
                if reply.status >= 500 { continue }
                return (reply, attempt)
            } catch {
                try? await Task.sleep(for: .milliseconds(10 * attempt))
            }
        }
        return (nil, attempts)
    }

    static var limits: FaultProxy.Limits {
        var limits = FaultProxy.Limits()
        limits.hangLimit = .seconds(5)
        limits.lifetime = .seconds(170)
        return limits
    }

    @Test("direct writes with an Idempotency-Key under seeded random faults: every record applied exactly once")
    func directWrites() async throws {
        try await APIHarness.with { h in
            let seed: UInt64 = 20_261_121
            let proxy = try FaultProxy(
                upstreamPort: h.port, schedule: .random(seed: seed, faultRate: 0.45, faults: Self.faults, maxFaults: 400),
                limits: Self.limits)
            defer { proxy.stop() }
            let trns = (1_000_001...1_000_058).map(String.init)
            var attempts = 0
            var refused: [String: Int] = [:]
            var acknowledged = 0
            for trn in trns {
                let key = "\(trn).201.4001.20240901"
                let (reply, tries) = await Self.deliver(
                    h, base: proxy.baseURL, .PUT, "/v3/persons/\(trn)/employments/\(key)", body: Endpoint.employmentBody(),
                    key: h.allKey, idempotencyKey: "sec-lost-ack:\(trn)")
                attempts += tries
                if let reply, reply.status < 300 { acknowledged += 1 } else { refused["\(reply?.status ?? 0)", default: 0] += 1 }
            }
            let perKey = try await h.sql { connection in
                try connection.query(
                    "SELECT idempotency_key, count(*) AS n FROM audit WHERE idempotency_key LIKE 'sec-lost-ack:%' GROUP BY idempotency_key"
                )
                .rows.map { $0.int("n") ?? 0 }
            }
            let rows = try await h.count("SELECT count(*) FROM employments WHERE employment_key LIKE '%.201.4001.20240901'")
            let duplicated = perKey.reduce(0) { $0 + max(0, $1 - 1) }
            let lost = trns.count - perKey.count
            let stats = proxy.stats
            print("lost-ack direct writes: \(stats)")
            #expect(acknowledged == trns.count, "refused: \(refused)")
            #expect(rows == trns.count && lost == 0 && duplicated == 0)
            #expect(
                (stats.byAction["drop-response"] ?? 0) > 0 && (stats.byAction["reset-after"] ?? 0) > 0,
                "the schedule must include lost acknowledgements: \(stats)")
            record(
                "direct writes with Idempotency-Key through seeded faults (seed \(seed))",
                runs: attempts, expected: trns.count, applied: perKey.count, lost: lost, duplicated: duplicated,
                refused: refused.values.reduce(0, +),
                reasons: "\(stats.injected) faults: \(Self.faultSummary(stats))" + (refused.isEmpty ? "" : "; " + SuiteTable.reasons(refused)),
                ok: lost == 0 && duplicated == 0 && acknowledged == trns.count)
        }
    }

    @Test("batches whose acknowledgement is lost, retried whole: each operation applied once, the retry replays")
    func batches() async throws {
        try await APIHarness.with { h in
            let script: [FaultAction] = [
                .dropResponse, .resetAfterForwarding, .hangAfterForwarding, .respond(status: 502),
                .resetAfterBytes(40), .tooManyRequests(retryAfter: 1),
            ]
            let proxy = try FaultProxy(upstreamPort: h.port, schedule: .script(script + script), limits: Self.limits)
            defer { proxy.stop() }
            let batches = 5
            let perBatch = 100
            var attempts = 0
            var replayedOperations = 0
            var refused: [String: Int] = [:]
            for batch in 0..<batches {
                var operations: [String] = []
                for index in 0..<perBatch {
                    let trn = String(1_000_001 + index % 58)
                    let start = String(format: "20%02d-%02d-01", 10 + batch, 1 + index / 58)
                    let key = "\(trn).201.4001.\(start.replacingOccurrences(of: "-", with: ""))"
                    let body = Endpoint.employmentBody().replacingOccurrences(of: "2024-09-01", with: start)
                    operations.append(
                        """
                        {"method":"PUT","path":"/v3/persons/\(trn)/employments/\(key)","idempotencyKey":"sec-batch-ack:\(batch):\(index)",\
                        "source":{"feed":"tps-workforce","fileSha256":"b\(batch)","line":\(index + 2)},"body":\(body)}
                        """)
                }
                let (reply, tries) = await Self.deliver(
                    h, base: proxy.baseURL, .POST, "/v3/batches",
                    body: "{\"operations\":[\(operations.joined(separator: ","))]}", key: h.allKey, idempotencyKey: nil)
                attempts += tries
                let results = reply?.json?["results"] as? [[String: Any]] ?? []
                #expect(
                    results.count == perBatch && results.allSatisfy { ($0["status"] as? Int ?? 0) == 204 },
                    "batch \(batch): \(String(describing: reply))")
                replayedOperations += results.filter { $0["replayed"] as? Bool == true }.count
                for result in results where statusOf(result) >= 300 { refused["\(statusOf(result))", default: 0] += 1 }
            }
            let perKey = try await h.sql { connection in
                try connection.query(
                    "SELECT idempotency_key, count(*) AS n FROM audit WHERE idempotency_key LIKE 'sec-batch-ack:%' GROUP BY idempotency_key"
                )
                .rows.map { $0.int("n") ?? 0 }
            }
            let expected = batches * perBatch
            let duplicated = perKey.reduce(0) { $0 + max(0, $1 - 1) }
            let lost = expected - perKey.count
            let stats = proxy.stats
            print("lost-ack batches: \(stats), \(replayedOperations) operations replayed on retry")
            #expect(lost == 0 && duplicated == 0)
            #expect(replayedOperations > 0, "a lost acknowledgement must have made some retry replay")
            record(
                "batches of \(perBatch) retried whole after lost acknowledgements", runs: attempts,
                expected: expected, applied: perKey.count, lost: lost, duplicated: duplicated,
                refused: refused.values.reduce(0, +),
                reasons: "faults: \(Self.faultSummary(stats)); \(replayedOperations) operations replayed by the API",
                ok: lost == 0 && duplicated == 0)
        }
    }

    /// The control: without an idempotency key, a lost acknowledgement followed by a retry applies a
    /// non-idempotent write twice. This is what the keys are for (and shows the proxy really loses the answer).
    @Test("control: a retried POST without an idempotency key after a lost acknowledgement is applied twice")
    func controlWithoutKey() async throws {
        try await APIHarness.with { h in
            let proxy = try FaultProxy(upstreamPort: h.port, schedule: .script([.dropResponse]), limits: Self.limits)
            defer { proxy.stop() }
            let body = #"{"trn":"1000040","alertTypeCode":"T3","details":"control","startDate":"2025-01-02","endDate":null,"sender":"GTCS"}"#
            // A generous timeout: a retry that timed out under load would be sent a third time (and applied thrice).
            let (reply, tries) = await Self.deliver(
                h, base: proxy.baseURL, .POST, "/v3/alerts", body: body, key: h.allKey, idempotencyKey: nil,
                timeout: .seconds(60))
            #expect(reply?.status == 201 && tries == 2)
            #expect(try await h.count("SELECT count(*) FROM alerts WHERE details = 'control'") == 2)
            // The same with a key: once.
            let keyed = try FaultProxy(upstreamPort: h.port, schedule: .script([.dropResponse]), limits: Self.limits)
            defer { keyed.stop() }
            let (again, _) = await Self.deliver(
                h, base: keyed.baseURL, .POST, "/v3/alerts", body: body.replacingOccurrences(of: "control", with: "keyed"),
                key: h.allKey, idempotencyKey: "sec-control")
            #expect(again?.status == 201)
            #expect(try await h.count("SELECT count(*) FROM alerts WHERE details = 'keyed'") == 1)
        }
    }

    static func faultSummary(_ stats: FaultProxyStats) -> String {
        stats.byAction.filter { $0.key != "pass" }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }
}

private func statusOf(_ result: [String: Any]) -> Int { result["status"] as? Int ?? 0 }
