import Foundation
import LibPQ

extension PostgresLedger: RecordLedger {
    /// Stages in one transaction, the records through a ``RecordWriter`` (COPY). `body` runs on the connection's
    /// thread.
    public func stage(
        fileID: Int64, runID: Int64,
        _ body: @escaping @Sendable (any StagingWriter) throws -> StageDecision
    ) async throws -> StageDecision {
        let decision = try await withConnection { connection in
            try connection.transaction { connection in
                try connection.execute("DELETE FROM bridge.records WHERE file_id = $1", [.int64(fileID)])
                var decision: StageDecision?
                try connection.copyFromStdin(
                    "COPY bridge.records (file_id, seq, line, key, outcome, method, path, body, problem) FROM STDIN (FORMAT binary)"
                ) { copy in
                    let writer = RecordWriter(fileID: fileID, copy: copy)
                    decision = try body(writer)
                    try writer.finish()
                }
                guard let decision else { throw PGError(kind: .protocolMisuse, message: "staging produced no decision") }
                if decision.state == .quarantined {
                    try connection.execute("DELETE FROM bridge.records WHERE file_id = $1", [.int64(fileID)])
                }
                try connection.execute(
                    """
                    UPDATE bridge.files SET state = $3, last_run_id = $2, rows_read = $4, accepted = $5, rejected = $6,
                        warnings = $7, check_summary = $8::jsonb, reason = coalesce($9, reason),
                        error_code = $10, error_message = $9, published = 0, failed = 0, updated_at = now()
                    WHERE id = $1
                    """,
                    [
                        .int64(fileID), .int64(runID), .text(decision.state.rawValue), .int(decision.rowsRead),
                        .int(decision.accepted), .int(decision.rejected), .int(decision.warnings),
                        .json(decision.summaryJSON), decision.refusalMessage.map(PGValue.text), decision.refusalCode.map(PGValue.text),
                    ])
                return decision
            }
        }
        // Until the table's statistics know about a big file's rows, the planner reads every remaining row of the file
        // for each batch the publisher asks for (measured: 1.7 CPU-seconds per 100,000 rows, growing with the square).
        if decision.accepted >= Self.analyzeAfterRecords {
            try await withConnection { try $0.execute("ANALYZE bridge.records") }
        }
        return decision
    }

    /// Files with at least this many accepted records refresh the records table's statistics after staging.
    static let analyzeAfterRecords = 10_000

    /// Up to `limit` staged records of a file not yet acknowledged, after `afterSeq`, in file order.
    public func pendingRecords(fileID: Int64, afterSeq: Int, limit: Int) async throws -> [PendingRecord] {
        try await withConnection { connection in
            try connection.queryPrepared(
                """
                SELECT seq, line, key, method, path, body FROM bridge.records
                WHERE file_id = $1 AND seq > $2 AND outcome = 'accepted' ORDER BY seq LIMIT $3
                """, [.int64(fileID), .int(afterSeq), .int(limit)]
            ).rows.map { row in
                PendingRecord(
                    seq: row.int("seq") ?? 0, line: row.int("line") ?? 0, key: row["key"] ?? "", method: row["method"] ?? "",
                    path: row["path"] ?? "", body: row["body"])
            }
        }
    }

    /// Records the API's answers (after it gave them); the bodies of acknowledged records are dropped.
    public func acknowledge(fileID: Int64, _ acknowledgements: [RecordAcknowledgement]) async throws {
        guard !acknowledgements.isEmpty else { return }
        let seqs = PGValue.intArray(acknowledgements.map { Int32($0.seq) })
        let outcomes = PGValue.textArray(acknowledgements.map(\.outcome.rawValue))
        let statuses = PGValue.intArray(acknowledgements.map { Int32($0.apiStatus) })
        let replayed = PGValue.boolArray(acknowledgements.map(\.replayed))
        let problems = PGValue.textArray(acknowledgements.map(\.problem))
        try await withConnection { connection in
            _ = try connection.queryPrepared(
                """
                UPDATE bridge.records AS r SET outcome = u.outcome, api_status = u.status, replayed = u.replayed,
                    problem = u.problem::jsonb, body = NULL, updated_at = now()
                FROM unnest($2::int[], $3::text[], $4::int[], $5::boolean[], $6::text[]) AS u(seq, outcome, status, replayed, problem)
                WHERE r.file_id = $1 AND r.seq = u.seq AND r.outcome = 'accepted'
                """, [.int64(fileID), seqs, outcomes, statuses, replayed, problems])
        }
    }

    /// Counts of a file's records by outcome.
    public func recordCounts(fileID: Int64) async throws -> [RecordOutcome: Int] {
        try await withConnection { connection in
            var counts: [RecordOutcome: Int] = [:]
            for row in try connection.query(
                "SELECT outcome, count(*) AS n FROM bridge.records WHERE file_id = $1 GROUP BY outcome", [.int64(fileID)]
            ).rows {
                if let outcome = row["outcome"].flatMap(RecordOutcome.init(rawValue:)) { counts[outcome] = row.int("n") ?? 0 }
            }
            return counts
        }
    }

    /// Stores the published/failed counts on the file row and returns how many records are still pending.
    @discardableResult
    public func refreshPublishCounts(fileID: Int64) async throws -> (published: Int, failed: Int, pending: Int) {
        let counts = try await recordCounts(fileID: fileID)
        let published = counts[.published] ?? 0
        let failed = counts[.failed] ?? 0
        try await withConnection { connection in
            try connection.execute(
                "UPDATE bridge.files SET published = $2, failed = $3, updated_at = now() WHERE id = $1",
                [.int64(fileID), .int(published), .int(failed)])
        }
        return (published, failed, counts[.accepted] ?? 0)
    }

    /// Records of a file with these outcomes, in file order, at most `limit`.
    public func records(fileID: Int64, outcomes: [RecordOutcome], limit: Int) async throws -> [RecordRow] {
        try await withConnection { connection in
            try connection.query(
                """
                SELECT file_id, seq, line, key, outcome, api_status, problem FROM bridge.records
                WHERE file_id = $1 AND outcome = ANY($2::text[]) ORDER BY seq LIMIT $3
                """, [.int64(fileID), .textArray(outcomes.map(\.rawValue)), .int(limit)]
            ).rows.map { row in
                RecordRow(
                    fileID: row.int64("file_id") ?? fileID, seq: row.int("seq") ?? 0, line: row.int("line") ?? 0, key: row["key"],
                    outcome: row["outcome"].flatMap(RecordOutcome.init(rawValue:)) ?? .rejected, apiStatus: row.int("api_status"),
                    problem: row["problem"])
            }
        }
    }

    /// The outcome recorded for each key of the records of earlier files of `feed` with this content (the only
    /// files whose records can have the same keys), for replays and dry runs.
    public func outcomes(feed: String, sha256: String) async throws -> [String: RecordOutcome] {
        try await withConnection { connection in
            var found: [String: RecordOutcome] = [:]
            for row in try connection.query(
                """
                SELECT r.key, r.outcome FROM bridge.records r JOIN bridge.files f ON f.id = r.file_id
                WHERE f.feed = $1 AND f.sha256 = $2 AND r.key IS NOT NULL
                """, [.text(feed), .text(sha256)]
            ).rows {
                guard let key = row["key"], let outcome = row["outcome"].flatMap(RecordOutcome.init(rawValue:)) else { continue }
                if found[key] != .published { found[key] = outcome }
            }
            return found
        }
    }
}
