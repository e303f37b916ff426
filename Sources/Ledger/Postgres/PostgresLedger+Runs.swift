import Foundation
import LibPQ

extension PostgresLedger: RunLedger {
    public func startRun(command: String, host: String, pid: Int, feeds: [String]) async throws -> Int64 {
        try await withConnection { connection in
            try connection.query(
                "INSERT INTO bridge.runs (command, host, pid, feeds) VALUES ($1, $2, $3, $4::text[]) RETURNING id",
                [.text(command), .text(host), .int(pid), .textArray(feeds)]
            ).requireInt64(0, "id")
        }
    }

    /// Marks runs still `running` (other than `exceptRun`) as interrupted: whoever holds the lock knows no other
    /// run is alive. Returns their ids.
    @discardableResult
    public func markInterruptedRuns(exceptRun: Int64) async throws -> [Int64] {
        try await withConnection { connection in
            try connection.query(
                """
                UPDATE bridge.runs SET status = 'interrupted', finished_at = coalesce(finished_at, now()),
                    error = coalesce(error, 'the run stopped without finishing (killed or crashed); the next run resumed its files')
                WHERE status = 'running' AND id <> $1 RETURNING id
                """, [.int64(exceptRun)]
            ).rows.compactMap { $0.int64("id") }
        }
    }

    public func finishRun(
        id: Int64, status: RunStatus, exitStatus: Int32, countsJSON: String, summary: String, error: String?
    ) async throws {
        try await withConnection { connection in
            try connection.execute(
                """
                UPDATE bridge.runs SET finished_at = now(), status = $2, exit_status = $3, counts = $4::jsonb,
                    summary = $5, error = $6 WHERE id = $1
                """,
                [.int64(id), .text(status.rawValue), .int(Int(exitStatus)), .json(countsJSON), .text(summary), error.map(PGValue.text)])
        }
    }

    public func run(id: Int64) async throws -> RunRow? {
        try await withConnection { connection in
            let result = try connection.query("SELECT \(RunRow.columns) FROM bridge.runs WHERE id = $1", [.int64(id)])
            return try result.rows.first.map(RunRow.init)
        }
    }

    public func recentRuns(limit: Int) async throws -> [RunRow] {
        try await withConnection { connection in
            try connection.query("SELECT \(RunRow.columns) FROM bridge.runs ORDER BY id DESC LIMIT $1", [.int(limit)])
                .rows.map(RunRow.init)
        }
    }

    /// The most recent run still marked `running` (the lock holder, when the lock is taken).
    public func runningRun() async throws -> RunRow? {
        try await withConnection { connection in
            try connection.query("SELECT \(RunRow.columns) FROM bridge.runs WHERE status = 'running' ORDER BY id DESC LIMIT 1")
                .rows.first.map(RunRow.init)
        }
    }
}
