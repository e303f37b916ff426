public import Foundation

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

/// A received file as the ledger knows it.
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

    init(
        id: Int64, runID: Int64, feed: String, origin: FileOrigin, transport: String, sourcePath: String, name: String,
        size: Int64?, mtime: Date?, state: FileState, reason: String?, replayOf: Int64?, createdAt: Date
    ) {
        self.id = id
        self.runID = runID
        self.lastRunID = runID
        self.feed = feed
        self.origin = origin
        self.transport = transport
        self.sourcePath = sourcePath
        self.name = name
        self.size = size
        self.mtime = mtime
        self.state = state
        self.reason = reason
        self.replayOf = replayOf
        self.attachments = []
        self.published = 0
        self.failed = 0
        self.createdAt = createdAt
        self.updatedAt = createdAt
    }
}

/// A run as the ledger knows it.
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

    init(id: Int64, startedAt: Date, command: String, host: String, pid: Int, feeds: [String]) {
        self.id = id
        self.startedAt = startedAt
        self.status = .running
        self.command = command
        self.host = host
        self.pid = pid
        self.feeds = feeds
        self.counts = "{}"
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
