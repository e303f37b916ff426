public import Foundation
import LibPQ

extension PostgresLedger: FileLedger {
    public func file(id: Int64) async throws -> FileRow? {
        try await withConnection { connection in
            try connection.query("SELECT \(FileRow.columns) FROM bridge.files WHERE id = $1", [.int64(id)])
                .rows.first.map(FileRow.init)
        }
    }

    /// A file already taken from this path with this exact size and mtime (the listing shows a file the ledger
    /// knows): the newest such row that is not `left`.
    public func takenFile(feeds: [String], path: String, size: Int64, mtime: Date) async throws -> FileRow? {
        try await withConnection { connection in
            try connection.query(
                """
                SELECT \(FileRow.columns) FROM bridge.files
                WHERE feed = ANY($1::text[]) AND source_path = $2 AND size = $3 AND mtime = $4 AND state NOT IN ('left', 'gone')
                  AND source <> 'replay'
                ORDER BY id DESC LIMIT 1
                """, [.textArray(feeds), .text(path), .int64(size), .timestamp(mtime)]
            ).rows.first.map(FileRow.init)
        }
    }

    /// Records that a listed file is left for a later run, and why (one row per path, updated in place).
    public func recordLeft(
        runID: Int64, feed: String, origin: FileOrigin, transport: String, path: String, name: String, size: Int64,
        mtime: Date, reason: String
    ) async throws {
        try await withConnection { connection in
            try connection.execute(
                """
                INSERT INTO bridge.files (run_id, last_run_id, feed, source, transport, source_path, name, size, mtime, state, reason)
                VALUES ($1, $1, $2, $3, $4, $5, $6, $7, $8, 'left', $9)
                ON CONFLICT (feed, source_path) WHERE state = 'left' DO UPDATE SET
                    last_run_id = EXCLUDED.last_run_id, size = EXCLUDED.size, mtime = EXCLUDED.mtime,
                    reason = EXCLUDED.reason, updated_at = now()
                """,
                [
                    .int64(runID), .text(feed), .text(origin.rawValue), .text(transport), .text(path), .text(name),
                    .int64(size), .timestamp(mtime), .text(reason),
                ])
        }
    }

    /// Takes a listed file: its `left` row (if any) becomes `discovered`, else a new row is made. Written before
    /// the file is fetched, so a crash during the download leaves a row the next run resumes.
    public func discover(
        runID: Int64, feed: String, origin: FileOrigin, transport: String, path: String, name: String, size: Int64?,
        mtime: Date?, reason: String, replayOf: Int64?
    ) async throws -> FileRow {
        try await withConnection { connection in
            try connection.transaction { connection in
                let params: [PGValue?] = [
                    .int64(runID), .text(feed), .text(origin.rawValue), .text(transport), .text(path), .text(name),
                    size.map(PGValue.int64), mtime.map(PGValue.timestamp), .text(reason), replayOf.map(PGValue.int64),
                ]
                let updated = try connection.query(
                    """
                    UPDATE bridge.files SET state = 'discovered', run_id = $1, last_run_id = $1, size = $7, mtime = $8,
                        reason = $9, updated_at = now()
                    WHERE feed = $2 AND source_path = $5 AND state = 'left' AND $3 <> 'replay' AND $10::bigint IS NULL
                        AND $4 = transport AND $6 = name
                    RETURNING \(FileRow.columns)
                    """, params)
                if let row = updated.rows.first { return try FileRow(row) }
                return try FileRow(
                    connection.query(
                        """
                        INSERT INTO bridge.files (run_id, last_run_id, feed, source, transport, source_path, name, size, mtime, state, reason, replay_of)
                        VALUES ($1, $1, $2, $3, $4, $5, $6, $7, $8, 'discovered', $9, $10)
                        RETURNING \(FileRow.columns)
                        """, params
                    ).rows[0])
            }
        }
    }

    /// Files of these feeds (all feeds when nil) that a run must still work on: not in a terminal state, or in one
    /// whose archive step (moving the remote file, or deciding to leave it) is not done. Oldest first.
    public func unfinishedFiles(feeds: [String]?) async throws -> [FileRow] {
        try await withConnection { connection in
            try connection.query(
                """
                SELECT \(FileRow.columns) FROM bridge.files
                WHERE (state IN ('discovered', 'downloaded', 'parsed', 'publishing')
                       OR (state IN ('published', 'shadowed', 'quarantined', 'duplicate', 'gone') AND archived_at IS NULL))
                  AND ($1::text[] IS NULL OR feed = ANY($1::text[]) OR source = 'mail')
                ORDER BY id
                """, [feeds.map { PGValue.textArray($0) }]
            ).rows.map(FileRow.init)
        }
    }

    /// The earlier file of `feed` with this content that was handled (parsed, published or shadowed).
    public func original(feed: String, sha256: String, excluding id: Int64) async throws -> FileRow? {
        try await withConnection { connection in
            try connection.query(
                """
                SELECT \(FileRow.columns) FROM bridge.files
                WHERE feed = $1 AND sha256 = $2 AND id <> $3 AND replay_of IS NULL
                  AND state IN ('parsed', 'publishing', 'published', 'shadowed')
                ORDER BY id LIMIT 1
                """, [.text(feed), .text(sha256), .int64(id)]
            ).rows.first.map(FileRow.init)
        }
    }

    /// The newest file of `feed` with this content (any state but left/discovered), for replays by content.
    public func latestFile(feed: String, sha256: String) async throws -> FileRow? {
        try await withConnection { connection in
            try connection.query(
                """
                SELECT \(FileRow.columns) FROM bridge.files WHERE feed = $1 AND sha256 = $2 ORDER BY id DESC LIMIT 1
                """, [.text(feed), .text(sha256)]
            ).rows.first.map(FileRow.init)
        }
    }

    public func setDownloaded(id: Int64, runID: Int64, sha256: String, size: Int64, localPath: String) async throws {
        try await update(
            id: id, runID: runID, state: .downloaded,
            set: "sha256 = $4, size = coalesce(size, $5), local_path = $6, error_code = NULL, error_message = NULL",
            [.text(sha256), .int64(size), .text(localPath)])
    }

    /// A mail drop's email, routed to `feed` after reading its sender and attachments.
    public func setRouted(id: Int64, feed: String, sender: String?, attachments: [String]) async throws {
        try await withConnection { connection in
            try connection.execute(
                "UPDATE bridge.files SET feed = $2, sender = $3, attachments = $4::text[], updated_at = now() WHERE id = $1",
                [.int64(id), .text(feed), sender.map(PGValue.text), .textArray(attachments)])
        }
    }

    public func setState(id: Int64, runID: Int64, state: FileState, reason: String?) async throws {
        if let reason {
            try await update(id: id, runID: runID, state: state, set: "reason = $4", [.text(reason)])
        } else {
            try await update(id: id, runID: runID, state: state, set: nil, [])
        }
    }

    public func markDuplicate(id: Int64, runID: Int64, of original: Int64, reason: String) async throws {
        try await update(id: id, runID: runID, state: .duplicate, set: "duplicate_of = $4, reason = $5", [.int64(original), .text(reason)])
    }

    public func markQuarantined(id: Int64, runID: Int64, code: String, message: String) async throws {
        try await update(
            id: id, runID: runID, state: .quarantined, set: "reason = $5, error_code = $4, error_message = $5", [.text(code), .text(message)])
    }

    /// Records a failure that leaves the file's state as it is (the next run tries again).
    public func recordError(id: Int64, runID: Int64, code: String, message: String) async throws {
        try await withConnection { connection in
            try connection.execute(
                "UPDATE bridge.files SET error_code = $3, error_message = $4, last_run_id = $2, updated_at = now() WHERE id = $1",
                [.int64(id), .int64(runID), .text(code), .text(message)])
        }
    }

    /// Writes where the remote file is about to be moved (before moving it).
    public func planArchive(id: Int64, path: String) async throws {
        try await withConnection { connection in
            try connection.execute(
                "UPDATE bridge.files SET archive_path = $2, updated_at = now() WHERE id = $1", [.int64(id), .text(path)])
        }
    }

    /// Records that the remote file has been moved (after moving it).
    public func markArchived(id: Int64, note: String?) async throws {
        try await withConnection { connection in
            try connection.execute(
                "UPDATE bridge.files SET archived_at = now(), local_path = NULL, updated_at = now(), reason = coalesce($2, reason) WHERE id = $1",
                [.int64(id), note.map(PGValue.text)])
        }
    }

    /// Records that the file's archive step is done without moving it (shadow feeds, replays, vanished files):
    /// `archived_at` set, `archive_path` left empty.
    public func markArchiveSkipped(id: Int64) async throws {
        try await withConnection { connection in
            try connection.execute(
                "UPDATE bridge.files SET archived_at = now(), local_path = NULL, updated_at = now() WHERE id = $1 AND archived_at IS NULL",
                [.int64(id)])
        }
    }
    private func update(id: Int64, runID: Int64, state: FileState, set: String?, _ params: [PGValue?]) async throws {
        let extra = set.map { ", " + $0 } ?? ""
        let sql = "UPDATE bridge.files SET state = $3, last_run_id = $2, updated_at = now()\(extra) WHERE id = $1"
        let all: [PGValue?] = [.int64(id), .int64(runID), .text(state.rawValue)] + params
        try await withConnection { connection in try connection.execute(sql, all) }
    }

    /// Files a run worked on (discovered, resumed, left or archived in it), oldest first.
    public func files(runID: Int64) async throws -> [FileRow] {
        try await withConnection { connection in
            try connection.query(
                "SELECT \(FileRow.columns) FROM bridge.files WHERE last_run_id = $1 OR run_id = $1 ORDER BY id", [.int64(runID)]
            ).rows.map(FileRow.init)
        }
    }

    public func fileCountsByState() async throws -> [(feed: String, state: FileState, count: Int)] {
        try await withConnection { connection in
            try connection.query("SELECT feed, state, count(*) AS n FROM bridge.files GROUP BY feed, state ORDER BY feed, state")
                .rows.compactMap { row in
                    guard let feed = row["feed"], let state = row["state"].flatMap(FileState.init(rawValue:)) else { return nil }
                    return (feed, state, row.int("n") ?? 0)
                }
        }
    }

    /// Each feed's newest file that is not merely `left`.
    public func lastFilePerFeed() async throws -> [FileRow] {
        try await withConnection { connection in
            try connection.query(
                """
                SELECT DISTINCT ON (feed) \(FileRow.columns) FROM bridge.files WHERE state <> 'left' ORDER BY feed, id DESC
                """
            ).rows.map(FileRow.init)
        }
    }

    public func files(feed: String, afterID: Int64?, limit: Int) async throws -> [FileRow] {
        try await withConnection { connection in
            try connection.query(
                """
                SELECT \(FileRow.columns) FROM bridge.files
                WHERE feed = $1 AND id > coalesce($2::bigint, 0) AND state <> 'left' AND replay_of IS NULL
                ORDER BY id LIMIT $3
                """, [.text(feed), afterID.map(PGValue.int64), .int(limit)]
            ).rows.map(FileRow.init)
        }
    }
}
