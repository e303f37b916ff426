import DQTTesting
import Foundation
import LibPQ
import Testing

@testable import FaultProxy

/// dqt-api's own PostgreSQL lost under it: a fault proxy (TCP) sits between the service and PostgreSQL and is
/// stopped while a write waits inside the database, which ends every connection and refuses new ones.
@Suite("faults: dqt-api's database unreachable", .enabled(if: TestServices.shouldRun(TestServices.databaseURL)), .timeLimit(.minutes(5)))
struct DatabaseOutageTests {
    static let trn = "1000001"

    @Test("the database cut mid-request: 503 problem+json 10131 with Retry-After on that write and on every request that needs it; nothing applied")
    func databaseCutMidRequest() async throws {
        let admin = try TestServices.require(TestServices.databaseURL)
        let proxy = try FaultProxy(upstreamPort: URLComponents(string: admin)?.port ?? 5432, mode: .tcp, schedule: .passThrough)
        defer { proxy.stop() }
        let proxyPort = proxy.port
        try await APIServerProcess.with(
            arguments: ["--pool-size", "2"],
            databaseURLForService: { url in
                var components = URLComponents(string: url)!
                components.port = proxyPort
                return components.string!
            }
        ) { api in
            let auth = "Host: 127.0.0.1\r\nAuthorization: Bearer \(api.key)\r\n"
            let before = try api.exchange("GET /v3/persons/\(Self.trn) HTTP/1.1\r\n\(auth)Connection: close\r\n\r\n")
            #expect(before.status == 200, "before the cut: \(before)")

            // The write waits for the person's row, which the test holds; the database is cut while it waits.
            let holder = try PGConnection(api.databaseURL)
            try holder.execute("BEGIN")
            _ = try holder.query("SELECT trn FROM persons WHERE trn = $1 FOR UPDATE", [.text(Self.trn)])
            let auditBefore = try holder.query("SELECT count(*) FROM audit").int(0, 0) ?? -1
            let body = #"{"middleName":"Outage"}"#
            let write = Task {
                try api.exchange(
                    "PATCH /v3/persons/\(Self.trn) HTTP/1.1\r\n\(auth)Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)",
                    limit: .seconds(60))
            }
            var waiting = false
            for _ in 0..<200 where !waiting {
                try await Task.sleep(for: .milliseconds(50))
                let lockWaits = try PGConnection(api.databaseURL).query(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
                waiting = (lockWaits.int(0, 0) ?? 0) > 0
            }
            #expect(waiting, "the write never waited for the row")
            proxy.stop()
            let cut = try await write.value
            try holder.execute("ROLLBACK")

            // While the database stays unreachable: reads, the change feed, a batch and readiness.
            let batch =
                #"{"operations":[{"method":"PUT","path":"/v3/persons/deceased/\#(Self.trn)","body":{"dateOfDeath":"2024-01-01"},"idempotencyKey":"outage-1"}]}"#
            let during: [(String, RawReply)] = [
                ("PATCH /v3/persons/{trn} cut while waiting in the database", cut),
                ("GET /v3/persons/{trn}", try api.exchange("GET /v3/persons/\(Self.trn) HTTP/1.1\r\n\(auth)Connection: close\r\n\r\n")),
                ("GET /v3/changes", try api.exchange("GET /v3/changes HTTP/1.1\r\n\(auth)Connection: close\r\n\r\n")),
                (
                    "POST /v3/batches",
                    try api.exchange(
                        "POST /v3/batches HTTP/1.1\r\n\(auth)Content-Type: application/json\r\nContent-Length: \(batch.utf8.count)\r\nConnection: close\r\n\r\n\(batch)"
                    )
                ),
            ]
            var wrong: [String] = []
            for (name, reply) in during
            where !(reply.status == 503 && reply.isProblem(errorCode: 10131) && Int(reply.header("Retry-After") ?? "") ?? 0 > 0) {
                wrong.append("\(name): \(reply)")
            }
            let ready = try api.exchange("GET /health/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            if ready.status != 503 { wrong.append("/health/ready: \(ready)") }
            let auditAfter = try PGConnection(api.databaseURL).query("SELECT count(*) FROM audit").int(0, 0) ?? -1
            #expect(wrong.isEmpty, "\(wrong)")
            #expect(auditAfter == auditBefore, "audit rows \(auditBefore) -> \(auditAfter)")
            SuiteTable.append(
                SuiteRow(
                    suite: "faults", scenario: "dqt-api's PostgreSQL unreachable mid-request (fault proxy, TCP): 503 with Retry-After",
                    runs: 1, expected: during.count, applied: 0, refused: during.count - wrong.count,
                    reasons:
                        "503 errorCode 10131 Retry-After x\(during.count - wrong.count); audit \(auditAfter == auditBefore ? "unchanged" : "CHANGED")",
                    ok: wrong.isEmpty && auditAfter == auditBefore))
        }
    }
}
