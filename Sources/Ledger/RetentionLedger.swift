public import Foundation

/// What the bridge's retention removes, each class after its own period (``RetentionClass``), and what it counted.
///
/// A file's ledger data ages from `archivedAt`: the moment the ledger finished with the file (every record
/// acknowledged or refused, the remote file moved or left where it was). A file that is not finished (not in a
/// terminal state, or its archive step not done) is never a candidate, whatever its age.
public enum RetentionClass: String, Sendable, CaseIterable, Codable {
    /// The partners' files moved to `processed/` or `quarantine/` on their source (SFTP or folder).
    case archivedFiles
    /// The request bodies still kept on records (personal data): a shadow feed's planned calls among them.
    case recordBodies
    /// The per-record rows of a file (line, key, outcome, the problems found); the file's row and counts stay.
    case records
    /// Run reports, mapping reports and shadow exports in the reports folder.
    case reports
}

/// What one class's retention did in one run: the evidence kept in the ledger (`bridge.retention_counts`).
public struct RetentionCount: Sendable, Equatable {
    public var retentionClass: RetentionClass
    public var periodDays: Int?
    /// Everything older than this was due.
    public var cutoff: Date?
    /// Archived files or reports removed, record bodies wiped, records deleted.
    public var deleted: Int
    /// Bytes of the files removed (0 for the ledger's own classes).
    public var bytes: Int64
    /// Items due that could not be removed (left for the next run).
    public var failed: Int
    public var oldestDeleted: Date?
    /// The oldest item of the class still kept after the run.
    public var oldestKept: Date?

    public init(
        retentionClass: RetentionClass, periodDays: Int? = nil, cutoff: Date? = nil, deleted: Int = 0, bytes: Int64 = 0, failed: Int = 0,
        oldestDeleted: Date? = nil, oldestKept: Date? = nil
    ) {
        self.retentionClass = retentionClass
        self.periodDays = periodDays
        self.cutoff = cutoff
        self.deleted = deleted
        self.bytes = bytes
        self.failed = failed
        self.oldestDeleted = oldestDeleted
        self.oldestKept = oldestKept
    }
}

/// What would go: how many items, and the oldest of them.
public struct RetentionPreview: Sendable, Equatable {
    public var count: Int
    public var oldest: Date?

    public init(count: Int, oldest: Date?) {
        self.count = count
        self.oldest = oldest
    }
}

/// Inbound feeds whose refused rows an outbound problems feed still has to send: per feed, the last file id the
/// problems feed has delivered. Later files of the feed keep their records until it has.
public typealias RecordHolds = [String: Int64]

/// The ledger's side of retention. Every removal is marked on the file's row and counted in the run's row of its
/// class in the same transaction, so a crash between the two cannot count a removal twice or lose it.
public protocol RetentionLedger: Sendable {
    /// Finished files archived before `cutoff` whose archived copy (`archivePath`) is still recorded as on the source,
    /// with an id above `afterID` (all when nil), in id order, at most `limit`.
    func archivedCopiesDue(before cutoff: Date, afterID: Int64?, limit: Int) async throws -> [FileRow]

    /// Records that a file's archived copy is gone from the source (removed now, or found missing) and counts it, with
    /// `bytes`, in the run's `archivedFiles` row. False (and nothing counted) when it was already recorded.
    @discardableResult
    func recordArchivedCopyRemoved(fileID: Int64, runID: Int64, bytes: Int64) async throws -> Bool

    /// What a ledger class (`archivedFiles`, `recordBodies`, `records`) would remove now for `cutoff`.
    func retentionDue(_ retentionClass: RetentionClass, before cutoff: Date, holds: RecordHolds) async throws -> RetentionPreview

    /// Wipes the kept bodies of the records of at most `files` finished files archived before `cutoff`, oldest first,
    /// counted in the run's `recordBodies` row. Returns how many files were looked at (0: none left) and bodies wiped.
    func wipeRecordBodies(before cutoff: Date, runID: Int64, files: Int) async throws -> (files: Int, records: Int)

    /// Deletes the records of at most `files` finished files archived before `cutoff` (none held by `holds`), oldest
    /// first, counted in the run's `records` row. Returns how many files were emptied (0: none left) and records deleted.
    func deleteRecords(before cutoff: Date, holds: RecordHolds, runID: Int64, files: Int) async throws -> (files: Int, records: Int)

    /// Adds removals the run made outside the ledger (reports) to its row of the class.
    func countRetention(runID: Int64, _ retentionClass: RetentionClass, deleted: Int, bytes: Int64, failed: Int, oldestDeleted: Date?) async throws

    /// Completes the run's row of a class (made when nothing was removed): its period, cutoff and oldest item kept.
    /// For the ledger's classes `oldestKept` nil means "ask the ledger"; for `reports` it is the caller's.
    func closeRetention(runID: Int64, _ retentionClass: RetentionClass, periodDays: Int, cutoff: Date, oldestKept: Date?) async throws

    /// The run's rows, in ``RetentionClass`` order.
    func retentionCounts(runID: Int64) async throws -> [RetentionCount]
}
