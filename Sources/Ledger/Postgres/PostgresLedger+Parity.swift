public import Foundation
import LibPQ

extension PostgresLedger: ParityLedger {
    public func plannedRecords(fileID: Int64, afterSeq: Int, limit: Int) async throws -> [PlannedRecord] {
        try await withConnection { connection in
            try connection.queryPrepared(
                """
                SELECT seq, line, key, outcome, method, path, body, problem FROM bridge.records
                WHERE file_id = $1 AND seq > $2 ORDER BY seq LIMIT $3
                """, [.int64(fileID), .int(afterSeq), .int(limit)]
            ).rows.map { row in
                PlannedRecord(
                    seq: row.int("seq") ?? 0, line: row.int("line") ?? 0, key: row["key"],
                    outcome: row["outcome"].flatMap(RecordOutcome.init(rawValue:)) ?? .rejected, method: row["method"], path: row["path"],
                    body: row["body"], problem: row["problem"])
            }
        }
    }

    @discardableResult
    public func wipeShadowBodies(feed: String, before: Date) async throws -> Int {
        try await withConnection { connection in
            try connection.query(
                """
                WITH wiped AS (
                    UPDATE bridge.records r SET body = NULL, updated_at = now() FROM bridge.files f
                    WHERE f.id = r.file_id AND f.feed = $1 AND f.created_at < $2 AND r.outcome = 'shadow' AND r.body IS NOT NULL
                    RETURNING 1)
                SELECT count(*) AS n FROM wiped
                """, [.text(feed), .timestamp(before)]
            ).rows.first?.int("n") ?? 0
        }
    }

    public func recordParity(_ result: ParityResult) async throws {
        let summary = result.summary
        let readBack = "{" + result.readBack.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
        try await withConnection { connection in
            try connection.execute(
                """
                INSERT INTO bridge.parity_results (file_id, feed, file_name, compared_at, rows_compared, rows_agreed, read_back, report_path)
                VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)
                ON CONFLICT (file_id) DO UPDATE SET feed = EXCLUDED.feed, file_name = EXCLUDED.file_name,
                    compared_at = EXCLUDED.compared_at, rows_compared = EXCLUDED.rows_compared, rows_agreed = EXCLUDED.rows_agreed,
                    read_back = EXCLUDED.read_back, report_path = EXCLUDED.report_path
                """,
                [
                    .int64(summary.fileID), .text(summary.feed), .text(summary.fileName), .timestamp(summary.comparedAt),
                    .int(summary.rowsCompared), .int(summary.rowsAgreed), .json(readBack), result.reportPath.map(PGValue.text),
                ])
        }
    }

    public func parityHistory(feed: String, limit: Int) async throws -> [ParitySummary] {
        try await parityRows(where: "feed = $1 ORDER BY file_id DESC LIMIT $2", [.text(feed), .int(limit)]).map(\.summary)
    }

    public func parity(fileID: Int64) async throws -> ParityResult? {
        try await parityRows(where: "file_id = $1", [.int64(fileID)]).first
    }

    private func parityRows(where condition: String, _ parameters: [PGValue?]) async throws -> [ParityResult] {
        try await withConnection { connection in
            try connection.query(
                """
                SELECT file_id, feed, file_name, compared_at, rows_compared, rows_agreed, read_back::text AS read_back, report_path
                FROM bridge.parity_results WHERE \(condition)
                """, parameters
            ).rows.map { row in
                let readBack = (row["read_back"]?.data(using: .utf8)).flatMap { try? JSONDecoder().decode([String: Int].self, from: $0) }
                return ParityResult(
                    summary: ParitySummary(
                        feed: row["feed"] ?? "", fileID: row.int64("file_id") ?? 0, fileName: row["file_name"] ?? "",
                        comparedAt: row.date("compared_at") ?? Date(timeIntervalSince1970: 0), rowsCompared: row.int("rows_compared") ?? 0,
                        rowsAgreed: row.int("rows_agreed") ?? 0),
                    readBack: readBack ?? [:], reportPath: row["report_path"])
            }
        }
    }

    public func recordPromotion(_ promotion: Promotion) async throws {
        try await withConnection { connection in
            try connection.execute(
                """
                INSERT INTO bridge.promotions (feed, from_status, to_status, promoted_at, promoted_by, evidence, override_reason)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                """,
                [
                    .text(promotion.feed), .text(promotion.from), .text(promotion.to), .timestamp(promotion.at), .text(promotion.by),
                    .text(promotion.evidence), promotion.overrideReason.map(PGValue.text),
                ])
        }
    }

    public func promotions(feed: String, limit: Int) async throws -> [Promotion] {
        try await withConnection { connection in
            try connection.query(
                """
                SELECT feed, from_status, to_status, promoted_at, promoted_by, evidence, override_reason FROM bridge.promotions
                WHERE feed = $1 ORDER BY id DESC LIMIT $2
                """, [.text(feed), .int(limit)]
            ).rows.map { row in
                Promotion(
                    feed: row["feed"] ?? "", from: row["from_status"] ?? "", to: row["to_status"] ?? "",
                    at: row.date("promoted_at") ?? Date(timeIntervalSince1970: 0), by: row["promoted_by"] ?? "",
                    evidence: row["evidence"] ?? "", overrideReason: row["override_reason"])
            }
        }
    }
}
