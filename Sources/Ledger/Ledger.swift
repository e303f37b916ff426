import Dispatch
import Foundation
import LibPQ

/// The bridge's ledger in PostgreSQL: runs, files (with their state machine), records (with their outcomes) and
/// listing observations. Every method is safe to call from async code: the SQL runs on the pool's own threads.
///
/// Calls that fail because the connection broke (PostgreSQL restarted, network) are retried a few times with backoff;
/// every write here is idempotent (upserts, state updates, a staging transaction that starts by deleting what it
/// replaces), so a retry after a lost COMMIT acknowledgement does no harm.
public final class Ledger: Sendable {
    public let pool: PGPool
    private let conninfo: String
    /// How long connection failures are retried before an operation gives up.
    private let reconnectAttempts: Int

    /// The advisory lock key that makes runs exclusive ("DQTBRUN1").
    public static let runLockKey: Int64 = 0x4451_5442_5255_4E31

    public init(conninfo: String, maximumConnections: Int = 4, reconnectAttempts: Int = 8) {
        self.conninfo = conninfo
        self.pool = PGPool(conninfo: conninfo, maximumConnections: maximumConnections)
        self.reconnectAttempts = reconnectAttempts
    }

    public func close() { pool.close() }

    /// Runs `body` on a pooled connection, retrying on connection failures.
    @discardableResult
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await pool.withConnection(body)
            } catch let error as PGError where Self.isTransient(error) && attempt < reconnectAttempts {
                attempt += 1
                let delay = min(5.0, 0.1 * pow(2.0, Double(attempt))) * Double.random(in: 0.5...1.0)
                try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            }
        }
    }

    /// Errors worth retrying on a fresh connection: the link broke (also in the middle of a COPY), or the server is
    /// shutting down, restarting or not yet accepting connections (SQLSTATE classes 08 and 57).
    public static func isTransient(_ error: PGError) -> Bool {
        if error.kind == .connection || error.kind == .copy { return true }
        guard let state = error.sqlState else { return false }
        return state.hasPrefix("08") || state.hasPrefix("57")
    }

    // MARK: Schema and lock

    @discardableResult
    public func migrate() async throws -> [Int] {
        try await withConnection { try LedgerMigrations.migrate($0) }
    }

    /// Takes the run lock on a dedicated connection, or returns nil when another session holds it.
    public func acquireRunLock() async throws -> RunLock? {
        let lock = RunLock(conninfo: conninfo, key: Self.runLockKey)
        return try await lock.acquire() ? lock : nil
    }

    // MARK: Runs

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

    // MARK: Listings

    /// Records that a listing saw `path` with this size and mtime now; returns since when they have been unchanged.
    public func observe(feed: String, path: String, size: Int64, mtime: Date, now: Date) async throws -> ListingObservation {
        try await withConnection { connection in
            let row = try connection.query(
                """
                INSERT INTO bridge.listing_observations AS o (feed, path, size, mtime, first_seen, last_seen)
                VALUES ($1, $2, $3, $4, $5, $5)
                ON CONFLICT (feed, path) DO UPDATE SET
                    first_seen = CASE WHEN o.size = EXCLUDED.size AND o.mtime = EXCLUDED.mtime THEN o.first_seen ELSE EXCLUDED.first_seen END,
                    listings = CASE WHEN o.size = EXCLUDED.size AND o.mtime = EXCLUDED.mtime THEN o.listings + 1 ELSE 1 END,
                    size = EXCLUDED.size, mtime = EXCLUDED.mtime, last_seen = EXCLUDED.last_seen
                RETURNING size, mtime, first_seen, last_seen, listings
                """,
                [.text(feed), .text(path), .int64(size), .timestamp(mtime), .timestamp(now)]
            ).rows[0]
            return ListingObservation(
                size: row.int64("size") ?? size, mtime: row.date("mtime") ?? mtime, firstSeen: row.date("first_seen") ?? now,
                lastSeen: row.date("last_seen") ?? now, listings: row.int("listings") ?? 1)
        }
    }

    public func noteDecision(feed: String, path: String, decision: String) async throws {
        try await withConnection { connection in
            try connection.execute(
                "UPDATE bridge.listing_observations SET decision = $3 WHERE feed = $1 AND path = $2",
                [.text(feed), .text(path), .text(decision)])
        }
    }

    /// Forgets observations of paths of `feed` not listed for `olderThan` seconds (files that went away).
    public func pruneObservations(feed: String, notSeenSince: Date) async throws {
        try await withConnection { connection in
            try connection.execute(
                "DELETE FROM bridge.listing_observations WHERE feed = $1 AND last_seen < $2",
                [.text(feed), .timestamp(notSeenSince)])
        }
    }

    // MARK: Files

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
                [.int64(runID), .text(feed), .text(origin.rawValue), .text(transport), .text(path), .text(name),
                 .int64(size), .timestamp(mtime), .text(reason)])
        }
    }

    /// Takes a listed file: its `left` row (if any) becomes `discovered`, else a new row is made. Written before
    /// the file is fetched, so a crash during the download leaves a row the next run resumes.
    public func discover(
        runID: Int64, feed: String, origin: FileOrigin, transport: String, path: String, name: String, size: Int64?,
        mtime: Date?, reason: String, replayOf: Int64? = nil
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
                return try FileRow(connection.query(
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
        try await update(id: id, runID: runID, state: .downloaded, set: "sha256 = $4, size = coalesce(size, $5), local_path = $6, error_code = NULL, error_message = NULL",
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

    public func setState(id: Int64, runID: Int64, state: FileState, reason: String? = nil) async throws {
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
        try await update(id: id, runID: runID, state: .quarantined, set: "reason = $5, error_code = $4, error_message = $5", [.text(code), .text(message)])
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
    public func markArchived(id: Int64, note: String? = nil) async throws {
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

    public func clearLocalPath(id: Int64) async throws {
        try await withConnection { connection in
            try connection.execute("UPDATE bridge.files SET local_path = NULL WHERE id = $1", [.int64(id)])
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

    // MARK: Records

    /// Stages a file's records in one transaction: earlier staged records of the file are replaced, `body` writes
    /// the new ones through a ``RecordWriter`` (COPY), and `finish` decides the file's new state from what was
    /// written. Nothing is visible until the whole file has been checked, so a crash leaves the file `downloaded`.
    ///
    /// `body` runs on the connection's thread (it may block: the check reads the file).
    public func stage(
        fileID: Int64, runID: Int64,
        _ body: @escaping @Sendable (RecordWriter) throws -> StageDecision
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
                    [.int64(fileID), .int64(runID), .text(decision.state.rawValue), .int(decision.rowsRead),
                     .int(decision.accepted), .int(decision.rejected), .int(decision.warnings),
                     .json(decision.summaryJSON), decision.refusalMessage.map(PGValue.text), decision.refusalCode.map(PGValue.text)])
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

/// What staging decided for a file.
public struct StageDecision: Sendable {
    public var state: FileState
    public var rowsRead: Int
    public var accepted: Int
    public var rejected: Int
    public var warnings: Int
    /// The mapping report's summary (JSON text, no personal data).
    public var summaryJSON: String
    public var refusalCode: String?
    public var refusalMessage: String?

    public init(
        state: FileState, rowsRead: Int, accepted: Int, rejected: Int, warnings: Int, summaryJSON: String,
        refusalCode: String? = nil, refusalMessage: String? = nil
    ) {
        self.state = state
        self.rowsRead = rowsRead
        self.accepted = accepted
        self.rejected = rejected
        self.warnings = warnings
        self.summaryJSON = summaryJSON
        self.refusalCode = refusalCode
        self.refusalMessage = refusalMessage
    }
}

/// Writes a file's records into `bridge.records` through COPY, numbering them in file order.
///
/// Rows are encoded straight into a byte buffer in COPY's binary format and handed to libpq in pieces of about
/// 256 KiB: on a 500,000-row file the sink runs once per record on the checker's thread, so it must be cheap. Binary
/// rows are lengths and bytes: nothing to escape here, nothing to parse in the server (measured on PostgreSQL 15:
/// 500,000 staged records in 1.1 s instead of 1.5-2.1 s in text format).
public final class RecordWriter {
    let fileID: Int64
    let copy: PGCopyWriter
    public private(set) var written = 0
    private var buffer: [UInt8] = []
    private static let flushSize = 256 * 1024

    init(fileID: Int64, copy: PGCopyWriter) {
        self.fileID = fileID
        self.copy = copy
        buffer.reserveCapacity(Self.flushSize + 64 * 1024)
        buffer.append(contentsOf: Self.signature)
        appendInt32(0)  // flags
        appendInt32(0)  // no header extension
    }

    /// A valid record: `accepted` (to be published, with its body, JSON text or nil) or `shadow` (never published,
    /// no body kept).
    public func accepted(line: Int, key: String, method: String, path: String, body: String?, shadow: Bool) throws {
        try startRow(line: line)
        appendText(key)
        appendText(shadow ? Self.shadowText : Self.acceptedText)
        appendText(method)
        appendText(path)
        if let body, !shadow { appendText(body) } else { appendNull() }
        appendNull()  // problem
        try endRow()
    }

    /// A row the mapping refused; `problems` is a JSON array of its problems (no values).
    public func rejected(line: Int, key: String?, problemsJSON: String) throws {
        try startRow(line: line)
        if let key { appendText(key) } else { appendNull() }
        appendText(Self.rejectedText)
        appendNull()  // method
        appendNull()  // path
        appendNull()  // body
        // jsonb's binary form: a version byte, then the JSON text.
        appendInt32(1 + problemsJSON.utf8.count)
        buffer.append(1)
        buffer.append(contentsOf: problemsJSON.utf8)
        try endRow()
    }

    /// Ends the COPY data (the trailer) and hands what is buffered to libpq.
    func finish() throws {
        buffer.append(contentsOf: [0xFF, 0xFF])  // a field count of -1
        try flush()
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBufferPointer { try copy.write(Data(buffer: $0)) }
        buffer.removeAll(keepingCapacity: true)
    }

    private static let signature: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00]
    private static let acceptedText = "accepted"
    private static let shadowText = "shadow"
    private static let rejectedText = "rejected"
    /// file_id, seq, line, key, outcome, method, path, body, problem.
    private static let fieldCount: [UInt8] = [0, 9]

    private func startRow(line: Int) throws {
        written += 1
        guard Int32(exactly: written) != nil, Int32(exactly: line) != nil else {
            throw PGError(kind: .protocolMisuse, message: "record \(written) (line \(line)) is beyond the ledger's int4 columns")
        }
        buffer.append(contentsOf: Self.fieldCount)
        appendInt32(8)
        withUnsafeBytes(of: fileID.bigEndian) { buffer.append(contentsOf: $0) }
        appendInt32(4)
        appendInt32(written)
        appendInt32(4)
        appendInt32(line)
    }

    private func endRow() throws {
        if buffer.count >= Self.flushSize { try flush() }
    }

    private func appendText(_ text: String) {
        appendInt32(text.utf8.count)
        buffer.append(contentsOf: text.utf8)
    }

    private func appendNull() { appendInt32(-1) }

    /// A 32-bit big-endian integer: a length, or a value checked to fit by `startRow`.
    private func appendInt32(_ value: Int) {
        withUnsafeBytes(of: Int32(truncatingIfNeeded: value).bigEndian) { buffer.append(contentsOf: $0) }
    }

}

/// The run lock: `pg_try_advisory_lock` on a connection of its own, held for the whole run.
public final class RunLock: @unchecked Sendable {
    // @unchecked: `connection` is only touched on `queue`.
    private let conninfo: String
    private let key: Int64
    private let queue = DispatchQueue(label: "dqt.bridge.run-lock")
    private var connection: PGConnection?

    init(conninfo: String, key: Int64) {
        self.conninfo = conninfo
        self.key = key
    }

    private func onQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    func acquire() async throws -> Bool {
        try await onQueue { [self] in
            let connection = try PGConnection(conninfo)
            guard try connection.tryAdvisoryLock(key) else { return false }
            self.connection = connection
            return true
        }
    }

    /// Checks the lock is still held (the connection alive); after a lost connection (a database restart) it takes
    /// the lock again on a new connection. Throws ``LockLost`` when another session took it meanwhile.
    public func verify() async throws {
        try await onQueue { [self] in
            if let connection, connection.isConnected, (try? connection.query("SELECT 1")) != nil { return }
            self.connection = nil
            var lastError: (any Error)?
            for attempt in 0..<20 {
                do {
                    let fresh = try PGConnection(conninfo)
                    guard try fresh.tryAdvisoryLock(key) else { throw LockLost() }
                    self.connection = fresh
                    return
                } catch let error as LockLost {
                    throw error
                } catch {
                    lastError = error
                    Thread.sleep(forTimeInterval: min(3, 0.1 * Double(1 << min(attempt, 5))))
                }
            }
            throw lastError ?? LockLost()
        }
    }

    public func release() async {
        _ = try? await onQueue { [self] in
            if let connection { _ = try? connection.advisoryUnlock(key) }
            connection = nil
        }
    }

    public struct LockLost: Error, CustomStringConvertible {
        public var description: String { "the run lock was lost (the database connection broke and another run took it)" }
    }
}
