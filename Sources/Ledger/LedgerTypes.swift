import Foundation
import LibPQ

/// Where a received file stands. Each state is written before the step that leaves it starts, so that a run that
/// stops anywhere leaves a state the next run resumes from.
///
/// ```
/// left -> discovered -> downloaded -> parsed -> publishing -> published
///                                  |        \-> shadowed            (shadow feeds: never published)
///                                  +-> duplicate                    (same content as an earlier file)
///                                  +-> quarantined                  (the whole file refused)
/// discovered -> gone                                                (vanished before it could be fetched)
/// ```
/// Terminal states also record whether the remote file has been archived (`archivedAt`).
public enum FileState: String, Sendable, CaseIterable, Codable {
    /// Seen but not taken yet (still growing, too young...): `reason` says why. Updated in place on every listing.
    case left
    /// Taken: about to be fetched.
    case discovered
    /// Fetched into the work folder; the SHA-256 is known.
    case downloaded
    /// Checked in full; every record staged in the ledger. Nothing is published before this.
    case parsed
    /// Being published; records not yet acknowledged are still `accepted`.
    case publishing
    /// Every record acknowledged (published or failed with the API's problem).
    case published
    /// A shadow feed's file: parsed, validated and reported, never published.
    case shadowed
    /// Refused as a whole (unsafe name, unreadable, control totals, sender not allowed...): `reason` says why.
    case quarantined
    /// The same content as an earlier file of the feed (`duplicateOf`): not published again.
    case duplicate
    /// Vanished from the pickup folder before it could be fetched.
    case gone

    public var isTerminal: Bool {
        switch self {
        case .published, .shadowed, .quarantined, .duplicate, .gone: true
        case .left, .discovered, .downloaded, .parsed, .publishing: false
        }
    }
}

/// What became of one record.
public enum RecordOutcome: String, Sendable, CaseIterable, Codable {
    /// Valid, staged, waiting for the API's acknowledgement.
    case accepted
    /// Refused by the mapping (the problem says why); never sent.
    case rejected
    /// Acknowledged by the API with a 2xx.
    case published
    /// Refused by the API (a 3xx or 4xx result for this operation; `problem` holds the API's answer).
    case failed
    /// A shadow feed's valid record: never sent.
    case shadow
}

/// Where a file came from.
public enum FileOrigin: String, Sendable, Codable {
    case sftp, folder, mail, replay
}

public enum RunStatus: String, Sendable, Codable {
    case running, succeeded, refusals, failed, interrupted
}

/// One row of `bridge.files`.
public struct FileRow: Sendable {
    public var id: Int64
    public var runID: Int64
    public var lastRunID: Int64
    public var feed: String
    public var origin: FileOrigin
    /// `sftp` or `folder`: how the file is reached (a mail drop lives on one or the other).
    public var transport: String
    /// The path below the source's root (printable form: control characters escaped).
    public var sourcePath: String
    public var name: String
    public var size: Int64?
    public var mtime: Date?
    public var sha256: String?
    public var state: FileState
    public var reason: String?
    public var duplicateOf: Int64?
    public var replayOf: Int64?
    public var localPath: String?
    public var archivePath: String?
    public var archivedAt: Date?
    public var errorCode: String?
    public var errorMessage: String?
    public var sender: String?
    public var attachments: [String]
    public var rowsRead: Int?
    public var accepted: Int?
    public var rejected: Int?
    public var warnings: Int?
    public var published: Int
    public var failed: Int
    public var createdAt: Date
    public var updatedAt: Date

    static let columns = """
        id, run_id, last_run_id, feed, source, transport, source_path, name, size, mtime, sha256, state, reason,
        duplicate_of, replay_of, local_path, archive_path, archived_at, error_code, error_message, sender,
        attachments, rows_read, accepted, rejected, warnings, published, failed, created_at, updated_at
        """

    init(_ row: PGRow) throws {
        id = try row.result.requireInt64(row.index, "id")
        runID = try row.result.requireInt64(row.index, "run_id")
        lastRunID = try row.result.requireInt64(row.index, "last_run_id")
        feed = try row.result.requireString(row.index, "feed")
        origin = FileOrigin(rawValue: try row.result.requireString(row.index, "source")) ?? .folder
        transport = try row.result.requireString(row.index, "transport")
        sourcePath = try row.result.requireString(row.index, "source_path")
        name = try row.result.requireString(row.index, "name")
        size = row.int64("size")
        mtime = row.date("mtime")
        sha256 = row["sha256"]
        state = FileState(rawValue: try row.result.requireString(row.index, "state")) ?? .discovered
        reason = row["reason"]
        duplicateOf = row.int64("duplicate_of")
        replayOf = row.int64("replay_of")
        localPath = row["local_path"]
        archivePath = row["archive_path"]
        archivedAt = row.date("archived_at")
        errorCode = row["error_code"]
        errorMessage = row["error_message"]
        sender = row["sender"]
        attachments = row.textArray("attachments")?.map { $0 ?? "" } ?? []
        rowsRead = row.int("rows_read")
        accepted = row.int("accepted")
        rejected = row.int("rejected")
        warnings = row.int("warnings")
        published = row.int("published") ?? 0
        failed = row.int("failed") ?? 0
        createdAt = row.date("created_at") ?? Date(timeIntervalSince1970: 0)
        updatedAt = row.date("updated_at") ?? Date(timeIntervalSince1970: 0)
    }
}

/// One row of `bridge.runs`.
public struct RunRow: Sendable {
    public var id: Int64
    public var startedAt: Date
    public var finishedAt: Date?
    public var status: RunStatus
    public var exitStatus: Int?
    public var command: String
    public var host: String
    public var pid: Int
    public var feeds: [String]
    /// The run's counts as JSON text.
    public var counts: String
    public var summary: String?
    public var error: String?

    static let columns = "id, started_at, finished_at, status, exit_status, command, host, pid, feeds, counts, summary, error"

    init(_ row: PGRow) throws {
        id = try row.result.requireInt64(row.index, "id")
        startedAt = try row.result.requireDate(row.index, "started_at")
        finishedAt = row.date("finished_at")
        status = RunStatus(rawValue: row["status"] ?? "") ?? .running
        exitStatus = row.int("exit_status")
        command = row["command"] ?? "run"
        host = row["host"] ?? ""
        pid = row.int("pid") ?? 0
        feeds = row.textArray("feeds")?.map { $0 ?? "" } ?? []
        counts = row["counts"] ?? "{}"
        summary = row["summary"]
        error = row["error"]
    }
}

/// A staged record waiting to be published.
public struct PendingRecord: Sendable {
    public let seq: Int
    public let line: Int
    public let key: String
    public let method: String
    public let path: String
    /// The request body as JSON text (nil: no body).
    public let body: String?
}

/// The API's answer for one record.
public struct RecordAcknowledgement: Sendable {
    public let seq: Int
    public let outcome: RecordOutcome
    public let apiStatus: Int
    public let replayed: Bool
    /// The API's problem document (JSON text) for a failed record.
    public let problem: String?

    public init(seq: Int, outcome: RecordOutcome, apiStatus: Int, replayed: Bool, problem: String?) {
        self.seq = seq
        self.outcome = outcome
        self.apiStatus = apiStatus
        self.replayed = replayed
        self.problem = problem
    }
}

/// A record as the reports show it (no body: personal data stays out of reports).
public struct RecordRow: Sendable {
    public let fileID: Int64
    public let seq: Int
    public let line: Int
    public let key: String?
    public let outcome: RecordOutcome
    public let apiStatus: Int?
    /// JSON text: the mapping's problems (an array) for a rejected record, the API's problem for a failed one.
    public let problem: String?
}

/// What a listing has seen of one path: since when its current size and mtime have been unchanged.
public struct ListingObservation: Sendable {
    public let size: Int64
    public let mtime: Date
    public let firstSeen: Date
    public let lastSeen: Date
    public let listings: Int
}
