public import Foundation

/// Where an outbound export stands. Each state is written after the step it names has finished, so a run that stops
/// anywhere leaves a row the next run finishes (the same range, the same file name, the same bytes).
///
/// ```
/// planned -> written -> uploaded -> verified -> delivered
///    \__________\___________\___________\------> failed   (reason and attempts kept; the next run resumes it)
/// ```
/// Only `delivered` is terminal: a `failed` export is still the feed's unfinished export.
public enum ExportState: String, Sendable, CaseIterable, Codable {
    /// The range and the file name are fixed; nothing written yet.
    case planned
    /// The file is in the work folder; its record count, size and SHA-256 are recorded.
    case written
    /// The bytes are at the destination under a temporary name.
    case uploaded
    /// The destination's copy was read back and has the recorded size and SHA-256.
    case verified
    /// The file is at the destination under its final name, and (for a regular export) the feed's watermark moved.
    case delivered
    /// The last attempt failed (`failureReason`); the next run tries again from the start with the same range.
    case failed
}

/// The delivery steps between `written` and `delivered` that the ledger records.
public enum ExportProgress: String, Sendable {
    case uploaded, verified

    public var state: ExportState { self == .uploaded ? .uploaded : .verified }
}

/// The changes an export covers: those after `after` (exclusive; nil = from the feed's beginning) up to `upTo`
/// (inclusive; equal to `after` for an empty range). Cursors are the change feed's opaque strings: the ledger only
/// compares them for equality.
public struct ExportRange: Sendable, Hashable, CustomStringConvertible {
    public let after: String?
    public let upTo: String?

    public init(after: String?, upTo: String?) {
        self.after = after
        self.upTo = upTo
    }

    /// True when the range holds no change.
    public var isEmpty: Bool { after == upTo }

    public var description: String { "(\(after ?? "start"), \(upTo ?? "start")]" }
}

/// An export as the ledger knows it.
public struct ExportRow: Sendable, Hashable {
    public var id: Int64
    public var feed: String
    /// The run that planned it, and the last run that worked on it.
    public var runID: Int64
    public var lastRunID: Int64
    public var range: ExportRange
    /// Fixed when the export is planned; a resend keeps its original's.
    public var fileName: String
    /// Where it goes (for operators: a folder, an SFTP location, an outbox; no secrets).
    public var destination: String
    /// Changes (records) the file holds, its size and SHA-256: known from `written` on (a resend knows them from
    /// its original when planned).
    public var records: Int?
    public var size: Int64?
    public var sha256: String?
    public var state: ExportState
    public var failureReason: String?
    /// Runs that have worked on it (1 when planned; one more each time a later run resumes it).
    public var attempts: Int
    /// For a resend: the delivered export whose bytes it delivers again.
    public var resendOf: Int64?
    public var plannedAt: Date
    public var writtenAt: Date?
    public var uploadedAt: Date?
    public var verifiedAt: Date?
    public var deliveredAt: Date?
    public var updatedAt: Date

    public init(
        id: Int64, feed: String, runID: Int64, range: ExportRange, fileName: String, destination: String, resendOf: Int64?,
        plannedAt: Date
    ) {
        self.id = id
        self.feed = feed
        self.runID = runID
        self.lastRunID = runID
        self.range = range
        self.fileName = fileName
        self.destination = destination
        self.state = .planned
        self.attempts = 1
        self.resendOf = resendOf
        self.plannedAt = plannedAt
        self.updatedAt = plannedAt
    }
}

/// An outbound feed's watermark: the upper end of the last settled range, delivered in a regular export or found to
/// hold nothing to send.
public struct ExportWatermark: Sendable, Hashable {
    public let feed: String
    /// nil: the settled ranges so far started at the beginning and were empty.
    public let cursor: String?
    /// The last delivered regular export; nil while every range so far held nothing.
    public let exportID: Int64?
    public let deliveredAt: Date?
    /// When a range was last settled (delivered or found empty): a daily feed is due once per slot.
    public let checkedAt: Date

    public init(feed: String, cursor: String?, exportID: Int64?, deliveredAt: Date?, checkedAt: Date) {
        self.feed = feed
        self.cursor = cursor
        self.exportID = exportID
        self.deliveredAt = deliveredAt
        self.checkedAt = checkedAt
    }
}

/// One outbound feed's exports at a glance, for `status`, the run report and metrics.
public struct ExportFeedSummary: Sendable, Hashable {
    public let feed: String
    /// Delivered exports, resends included.
    public let delivered: Int
    /// Exports not yet delivered (at most one regular export, plus unfinished resends).
    public let pending: Int
    /// The newest delivered export.
    public let lastDelivered: ExportRow?
}

/// The ledger refuses a step that would break an export invariant; nothing is changed.
public enum ExportLedgerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The feed already has an undelivered export: the run must finish it before planning another.
    case unfinishedExport(feed: String, id: Int64)
    /// The planned range does not start at the feed's watermark (or, when delivering, the watermark moved since).
    case notContiguous(feed: String, watermark: String?, after: String?)
    /// Another export of the feed already has this file name.
    case fileNameTaken(feed: String, name: String)
    case unknownExport(id: Int64)
    /// The export is already delivered: nothing more may change.
    case alreadyDelivered(id: Int64)
    /// The step needs the file's size and SHA-256, which are recorded when it is written.
    case notWritten(id: Int64)
    /// Regenerated bytes differ from the recorded ones: the range no longer yields the same file.
    case contentChanged(id: Int64, recorded: String, now: String)
    /// Only a delivered export can be resent.
    case notDelivered(id: Int64)

    public var description: String {
        switch self {
        case .unfinishedExport(let feed, let id):
            "feed \(feed) has an undelivered export (#\(id)): it is finished before another is planned"
        case .notContiguous(let feed, let watermark, let after):
            "export of feed \(feed) must start at the watermark \(watermark ?? "start"), not at \(after ?? "start")"
        case .fileNameTaken(let feed, let name): "feed \(feed) already has an export named \(name)"
        case .unknownExport(let id): "no export #\(id)"
        case .alreadyDelivered(let id): "export #\(id) is already delivered"
        case .notWritten(let id): "export #\(id) has not been written yet (no size and SHA-256 recorded)"
        case .contentChanged(let id, let recorded, let now):
            "export #\(id) regenerated with SHA-256 \(now), but \(recorded) was recorded: the file is not delivered"
        case .notDelivered(let id): "export #\(id) is not delivered, so it cannot be resent"
        }
    }
}
