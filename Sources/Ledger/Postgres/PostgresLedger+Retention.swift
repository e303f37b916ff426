public import Foundation
import LibPQ

extension PostgresLedger: RetentionLedger {
    /// A file the ledger has finished with: terminal, and its archive step done (`archived_at`, when its data ages from).
    static let finishedFile = """
        f.archived_at IS NOT NULL AND f.state IN (\(FileState.allCases.filter(\.isTerminal).map { "'\($0.rawValue)'" }.joined(separator: ", ")))
        """

    /// Files of a feed a problems feed has not delivered yet: $2 the feeds, $3 the last file id each has delivered.
    static let notHeld = """
        NOT EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[]) AS h(feed, up_to) WHERE h.feed = f.feed AND f.id > h.up_to::bigint)
        """

    public func archivedCopiesDue(before cutoff: Date, afterID: Int64?, limit: Int) async throws -> [FileRow] {
        try await withConnection { connection in
            try connection.query(
                """
                SELECT \(FileRow.columns) FROM bridge.files f
                WHERE \(Self.finishedFile) AND f.archived_at < $1 AND f.archive_path IS NOT NULL AND f.archive_removed_at IS NULL
                  AND f.id > $2 ORDER BY f.id LIMIT $3
                """, [.timestamp(cutoff), .int64(afterID ?? 0), .int(limit)]
            ).rows.map(FileRow.init)
        }
    }

    @discardableResult
    public func recordArchivedCopyRemoved(fileID: Int64, runID: Int64, bytes: Int64) async throws -> Bool {
        try await withConnection { connection in
            try connection.transaction { connection in
                let marked = try connection.query(
                    "UPDATE bridge.files SET archive_removed_at = now() WHERE id = $1 AND archive_removed_at IS NULL RETURNING archived_at",
                    [.int64(fileID)])
                guard marked.rowCount == 1 else { return false }
                try Self.count(
                    connection, runID: runID, .archivedFiles, deleted: 1, bytes: bytes, failed: 0, oldestDeleted: marked.date(0, "archived_at"))
                return true
            }
        }
    }

    public func retentionDue(_ retentionClass: RetentionClass, before cutoff: Date, holds: RecordHolds) async throws -> RetentionPreview {
        let sql: String
        switch retentionClass {
        case .archivedFiles:
            sql = """
                SELECT count(*) AS n, min(f.archived_at) AS oldest FROM bridge.files f
                WHERE \(Self.finishedFile) AND f.archived_at < $1 AND f.archive_path IS NOT NULL AND f.archive_removed_at IS NULL
                """
        case .recordBodies:
            sql = """
                SELECT count(*) AS n, min(f.archived_at) AS oldest FROM bridge.files f JOIN bridge.records r ON r.file_id = f.id
                WHERE \(Self.finishedFile) AND f.archived_at < $1 AND f.bodies_wiped_at IS NULL AND f.records_deleted_at IS NULL
                  AND r.body IS NOT NULL
                """
        case .records:
            sql = """
                SELECT count(*) AS n, min(f.archived_at) AS oldest FROM bridge.files f JOIN bridge.records r ON r.file_id = f.id
                WHERE \(Self.finishedFile) AND f.archived_at < $1 AND f.records_deleted_at IS NULL AND \(Self.notHeld)
                """
        case .reports:
            throw PGError(kind: .protocolMisuse, message: "reports are not in the ledger")
        }
        let (feeds, ids) = Self.holdArrays(holds)
        let parameters: [PGValue?] = retentionClass == .records ? [.timestamp(cutoff), feeds, ids] : [.timestamp(cutoff)]
        return try await withConnection { connection in
            let result = try connection.query(sql, parameters)
            return RetentionPreview(count: result.int(0, "n") ?? 0, oldest: result.date(0, "oldest"))
        }
    }

    public func wipeRecordBodies(before cutoff: Date, runID: Int64, files: Int) async throws -> (files: Int, records: Int) {
        try await withConnection { connection in
            try connection.transaction { connection in
                let chosen = try connection.query(
                    """
                    UPDATE bridge.files SET bodies_wiped_at = now() WHERE id IN (
                        SELECT f.id FROM bridge.files f
                        WHERE \(Self.finishedFile) AND f.archived_at < $1 AND f.bodies_wiped_at IS NULL AND f.records_deleted_at IS NULL
                        ORDER BY f.archived_at, f.id LIMIT $2 FOR UPDATE)
                    RETURNING id, archived_at
                    """, [.timestamp(cutoff), .int(files)])
                guard chosen.rowCount > 0 else { return (0, 0) }
                let ids = chosen.rows.compactMap { $0.int64("id") }
                let wiped = try connection.query(
                    """
                    WITH w AS (UPDATE bridge.records SET body = NULL WHERE file_id = ANY($1::text[]::bigint[]) AND body IS NOT NULL
                                 RETURNING file_id)
                    SELECT count(*) AS n, (SELECT min(f.archived_at) FROM bridge.files f WHERE f.id IN (SELECT file_id FROM w)) AS oldest FROM w
                    """, [.textArray(ids.map(String.init))])
                let count = wiped.int(0, "n") ?? 0
                try Self.count(connection, runID: runID, .recordBodies, deleted: count, bytes: 0, failed: 0, oldestDeleted: wiped.date(0, "oldest"))
                return (ids.count, count)
            }
        }
    }

    public func deleteRecords(before cutoff: Date, holds: RecordHolds, runID: Int64, files: Int) async throws -> (files: Int, records: Int) {
        let (feeds, holdIDs) = Self.holdArrays(holds)
        return try await withConnection { connection in
            try connection.transaction { connection in
                let chosen = try connection.query(
                    """
                    UPDATE bridge.files SET records_deleted_at = now() WHERE id IN (
                        SELECT f.id FROM bridge.files f
                        WHERE \(Self.finishedFile) AND f.archived_at < $1 AND f.records_deleted_at IS NULL AND \(Self.notHeld)
                        ORDER BY f.archived_at, f.id LIMIT $4 FOR UPDATE)
                    RETURNING id, archived_at
                    """, [.timestamp(cutoff), feeds, holdIDs, .int(files)])
                guard chosen.rowCount > 0 else { return (0, 0) }
                let ids = chosen.rows.compactMap { $0.int64("id") }
                let deleted = try connection.query(
                    """
                    WITH d AS (DELETE FROM bridge.records WHERE file_id = ANY($1::text[]::bigint[]) RETURNING file_id)
                    SELECT count(*) AS n, (SELECT min(f.archived_at) FROM bridge.files f WHERE f.id IN (SELECT file_id FROM d)) AS oldest FROM d
                    """, [.textArray(ids.map(String.init))])
                let count = deleted.int(0, "n") ?? 0
                try Self.count(connection, runID: runID, .records, deleted: count, bytes: 0, failed: 0, oldestDeleted: deleted.date(0, "oldest"))
                return (ids.count, count)
            }
        }
    }

    public func countRetention(
        runID: Int64, _ retentionClass: RetentionClass, deleted: Int, bytes: Int64, failed: Int, oldestDeleted: Date?
    ) async throws {
        try await withConnection { connection in
            try Self.count(connection, runID: runID, retentionClass, deleted: deleted, bytes: bytes, failed: failed, oldestDeleted: oldestDeleted)
        }
    }

    public func closeRetention(runID: Int64, _ retentionClass: RetentionClass, periodDays: Int, cutoff: Date, oldestKept: Date?) async throws {
        let kept: String
        switch retentionClass {
        case .archivedFiles:
            kept =
                "SELECT min(f.archived_at) FROM bridge.files f WHERE f.archive_path IS NOT NULL AND f.archive_removed_at IS NULL AND f.archived_at IS NOT NULL"
        case .recordBodies:
            kept =
                "SELECT min(f.archived_at) FROM bridge.files f WHERE f.archived_at IS NOT NULL AND f.bodies_wiped_at IS NULL AND f.records_deleted_at IS NULL"
        case .records:
            kept = "SELECT min(f.archived_at) FROM bridge.files f WHERE f.archived_at IS NOT NULL AND f.records_deleted_at IS NULL"
        case .reports:
            kept = "SELECT NULL::timestamptz"
        }
        try await withConnection { connection in
            try Self.count(connection, runID: runID, retentionClass, deleted: 0, bytes: 0, failed: 0, oldestDeleted: nil)
            try connection.execute(
                "UPDATE bridge.retention_counts SET period_days = $3, cutoff = $4, oldest_kept = coalesce($5, (\(kept))) WHERE run_id = $1 AND class = $2",
                [.int64(runID), .text(retentionClass.rawValue), .int(periodDays), .timestamp(cutoff), oldestKept.map(PGValue.timestamp)])
        }
    }

    public func retentionCounts(runID: Int64) async throws -> [RetentionCount] {
        try await withConnection { connection in
            try connection.query(
                """
                SELECT class, period_days, cutoff, deleted, bytes, failed, oldest_deleted, oldest_kept
                FROM bridge.retention_counts WHERE run_id = $1
                """, [.int64(runID)]
            ).rows.compactMap { row -> RetentionCount? in
                guard let retentionClass = row["class"].flatMap(RetentionClass.init(rawValue:)) else { return nil }
                return RetentionCount(
                    retentionClass: retentionClass, periodDays: row.int("period_days"), cutoff: row.date("cutoff"), deleted: row.int("deleted") ?? 0,
                    bytes: row.int64("bytes") ?? 0, failed: row.int("failed") ?? 0, oldestDeleted: row.date("oldest_deleted"),
                    oldestKept: row.date("oldest_kept"))
            }.sorted { RetentionClass.allCases.firstIndex(of: $0.retentionClass)! < RetentionClass.allCases.firstIndex(of: $1.retentionClass)! }
        }
    }

    /// Adds to the run's row of a class, making it when missing.
    static func count(
        _ connection: PGConnection, runID: Int64, _ retentionClass: RetentionClass, deleted: Int, bytes: Int64, failed: Int, oldestDeleted: Date?
    ) throws {
        try connection.execute(
            """
            INSERT INTO bridge.retention_counts AS c (run_id, class, deleted, bytes, failed, oldest_deleted) VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (run_id, class) DO UPDATE SET deleted = c.deleted + EXCLUDED.deleted, bytes = c.bytes + EXCLUDED.bytes,
                failed = c.failed + EXCLUDED.failed, oldest_deleted = least(c.oldest_deleted, EXCLUDED.oldest_deleted)
            """,
            [
                .int64(runID), .text(retentionClass.rawValue), .int(deleted), .int64(bytes), .int(failed),
                oldestDeleted.map(PGValue.timestamp),
            ])
    }

    static func holdArrays(_ holds: RecordHolds) -> (feeds: PGValue, ids: PGValue) {
        let sorted = holds.sorted { $0.key < $1.key }
        return (.textArray(sorted.map(\.key)), .textArray(sorted.map { String($0.value) }))
    }
}
