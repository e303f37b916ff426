import DQTModel
import DQTTesting
import Foundation
import Ledger
import LibPQ
import Testing

/// What only the PostgreSQL store can show: the bytes in `bridge.records` after COPY.
@Suite("PostgresLedger", .serialized, .enabled(if: TestServices.shouldRun(TestServices.databaseURL)))
struct PostgresLedgerTests {
    @Test("Staging keeps every record's bytes: keys, paths and bodies with control characters, rejected rows' problems")
    func stagingRoundTrip() async throws {
        let awkward = "tab\t newline\n cr\r backslash\\ \\N quote\" Siân 𝄞"
        let body = #"{"note":"\#(awkward)","empty":""}"#
        try await TemporaryDatabase.with(prefix: "bridge_ledger_test") { database in
            let ledger = PostgresLedger(conninfo: database.url, maximumConnections: 2, reconnectAttempts: 1)
            defer { ledger.close() }
            try await ledger.migrate()
            let run = try await ledger.startRun(command: "test", host: "test", pid: 1, feeds: ["test-feed"])
            let file = try await ledger.discover(
                runID: run, feed: "test-feed", origin: .folder, transport: "folder", path: "x/file.csv", name: "file.csv", size: 1,
                mtime: Date(), reason: "test")
            try await ledger.setDownloaded(id: file.id, runID: run, sha256: String(repeating: "a", count: 64), size: 1, localPath: "/nonexistent")
            _ = try await ledger.stage(fileID: file.id, runID: run) { writer in
                try writer.accepted(line: 2, key: "k-\(awkward)", method: "PUT", path: "/p/\(awkward)", body: body, shadow: false)
                try writer.accepted(line: 3, key: "k-shadow", method: "PUT", path: "/p/s", body: body, shadow: true)
                try writer.accepted(line: 4, key: "k-empty", method: "POST", path: "/p/e", body: nil, shadow: false)
                try writer.rejected(
                    line: 7, key: nil,
                    problemsJSON: JSONValue.array([.object([("code", .string("type-error")), ("message", .string(awkward))])]).serialized)
                return StageDecision(state: .parsed, rowsRead: 4, accepted: 3, rejected: 1, warnings: 0, summaryJSON: "{}")
            }
            let rows = try await ledger.withConnection { connection in
                try connection.query(
                    "SELECT seq, line, key, outcome, method, path, body, problem->0->>'message' AS message FROM bridge.records WHERE file_id = $1 ORDER BY seq",
                    [.int64(file.id)]
                ).rows.map { [$0["seq"], $0["line"], $0["key"], $0["outcome"], $0["method"], $0["path"], $0["body"], $0["message"]] }
            }
            #expect(
                rows == [
                    ["1", "2", "k-\(awkward)", "accepted", "PUT", "/p/\(awkward)", body, nil],
                    ["2", "3", "k-shadow", "shadow", "PUT", "/p/s", body, nil],  // kept for parity
                    ["3", "4", "k-empty", "accepted", "POST", "/p/e", nil, nil],
                    ["4", "7", nil, "rejected", nil, nil, nil, awkward],
                ])
            let pending = try await ledger.pendingRecords(fileID: file.id, afterSeq: 0, limit: 10)
            #expect(pending.map(\.body) == [body, nil])
        }
    }
}
