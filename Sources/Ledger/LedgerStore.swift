public import Foundation

/// The bridge's ledger: everything a run writes down so that the next run, after a crash anywhere, resumes with
/// nothing lost and nothing applied twice. ``PostgresLedger`` is the production store; ``MemoryLedger`` keeps the
/// same semantics in memory for fast tests.
///
/// Each concern is a protocol of its own, so a component asks only for what it uses (the publisher takes a
/// ``RecordLedger``, outbound exports an ``ExportLedger``); the run takes the whole store.
public protocol LedgerStore: RunLedger, ListingLedger, FileLedger, RecordLedger, ExportLedger, RetentionLedger, ParityLedger, RunLockLedger,
    ArrivalLedger, NoticeLedger
{
    /// Brings the store's schema up to date; returns the migrations applied (none for a store without a schema).
    @discardableResult
    func migrate() async throws -> [Int]

    /// Releases the store's connections; the store is not used after this.
    func close()
}

/// Runs: one row per pass of `run` or `replay`, with how it ended.
public protocol RunLedger: Sendable {
    func startRun(command: String, host: String, pid: Int, feeds: [String]) async throws -> Int64

    /// Marks runs still `running` (other than `exceptRun`) as interrupted: whoever holds the run lock knows no other
    /// run is alive. Returns their ids.
    @discardableResult
    func markInterruptedRuns(exceptRun: Int64) async throws -> [Int64]

    func finishRun(id: Int64, status: RunStatus, exitStatus: Int32, countsJSON: String, summary: String, error: String?) async throws

    func run(id: Int64) async throws -> RunRow?

    /// The newest runs first.
    func recentRuns(limit: Int) async throws -> [RunRow]

    /// The most recent run still marked `running` (the lock holder, when the lock is taken).
    func runningRun() async throws -> RunRow?
}

/// What listings of the pickup folders saw, to judge whether a file has stopped changing.
public protocol ListingLedger: Sendable {
    /// Records that a listing saw `path` with this size and mtime now; returns since when they have been unchanged.
    func observe(feed: String, path: String, size: Int64, mtime: Date, now: Date) async throws -> ListingObservation

    /// Notes what the run decided about the path it last observed (taken or left, and why).
    func noteDecision(feed: String, path: String, decision: String) async throws
}

/// Received files and their state machine (``FileState``). Every transition is written before the step that leaves
/// the state starts.
public protocol FileLedger: Sendable {
    func file(id: Int64) async throws -> FileRow?

    /// A file already taken from this path with this exact size and mtime (the listing shows a file the ledger
    /// knows): the newest such row that is neither `left` nor `gone`, replays excluded.
    func takenFile(feeds: [String], path: String, size: Int64, mtime: Date) async throws -> FileRow?

    /// Records that a listed file is left for a later run, and why (one `left` row per path, updated in place).
    func recordLeft(
        runID: Int64, feed: String, origin: FileOrigin, transport: String, path: String, name: String, size: Int64,
        mtime: Date, reason: String
    ) async throws

    /// Takes a listed file: its `left` row (same transport and name, not a replay) becomes `discovered`, else a new
    /// row is made. Written before the file is fetched, so a crash during the download leaves a row the next run
    /// resumes.
    func discover(
        runID: Int64, feed: String, origin: FileOrigin, transport: String, path: String, name: String, size: Int64?,
        mtime: Date?, reason: String, replayOf: Int64?
    ) async throws -> FileRow

    /// Files of these feeds (all feeds when nil; mail drops always) that a run must still work on: not in a terminal
    /// state, or in one whose archive step is not done. Oldest first; `left` files are not included.
    func unfinishedFiles(feeds: [String]?) async throws -> [FileRow]

    /// The earliest other file of `feed` with this content that was handled (parsed, publishing, published or
    /// shadowed), replays excluded: the original a new file duplicates.
    func original(feed: String, sha256: String, excluding id: Int64) async throws -> FileRow?

    /// The newest file of `feed` with this content, in any state, for replays by content.
    func latestFile(feed: String, sha256: String) async throws -> FileRow?

    /// `downloaded`: the work copy is at `localPath`; the listing's size is kept when it had one. Clears the error.
    func setDownloaded(id: Int64, runID: Int64, sha256: String, size: Int64, localPath: String) async throws

    /// A mail drop's email, routed to `feed` after reading its sender and attachments.
    func setRouted(id: Int64, feed: String, sender: String?, attachments: [String]) async throws

    /// Moves the file to `state`; `reason`, when given, replaces the recorded one.
    func setState(id: Int64, runID: Int64, state: FileState, reason: String?) async throws

    func markDuplicate(id: Int64, runID: Int64, of original: Int64, reason: String) async throws

    /// `quarantined`: the message is both the reason and the error message.
    func markQuarantined(id: Int64, runID: Int64, code: String, message: String) async throws

    /// Records a failure that leaves the file's state as it is (the next run tries again).
    func recordError(id: Int64, runID: Int64, code: String, message: String) async throws

    /// Writes where the remote file is about to be moved (before moving it).
    func planArchive(id: Int64, path: String) async throws

    /// Records that the remote file has been moved (after moving it); the work copy is forgotten and `note`, when
    /// given, replaces the reason.
    func markArchived(id: Int64, note: String?) async throws

    /// Records that the file's archive step is done without moving it (shadow feeds, replays, vanished files):
    /// `archivedAt` set once, `archivePath` left empty.
    func markArchiveSkipped(id: Int64) async throws

    /// Files a run worked on (discovered, resumed, left or archived in it), oldest first.
    func files(runID: Int64) async throws -> [FileRow]

    /// How many files each feed has in each state, by feed then state.
    func fileCountsByState() async throws -> [(feed: String, state: FileState, count: Int)]

    /// Each feed's newest file that is not merely `left`, by feed.
    func lastFilePerFeed() async throws -> [FileRow]

    /// Files of `feed` with an id above `afterID` (all when nil), in id order, at most `limit`; `left` rows and
    /// replays excluded (an outbound problems feed reads its inbound feed's files in this order).
    func files(feed: String, afterID: Int64?, limit: Int) async throws -> [FileRow]
}

extension FileLedger {
    public func discover(
        runID: Int64, feed: String, origin: FileOrigin, transport: String, path: String, name: String, size: Int64?,
        mtime: Date?, reason: String
    ) async throws -> FileRow {
        try await discover(
            runID: runID, feed: feed, origin: origin, transport: transport, path: path, name: name, size: size, mtime: mtime,
            reason: reason, replayOf: nil)
    }

    public func setState(id: Int64, runID: Int64, state: FileState) async throws {
        try await setState(id: id, runID: runID, state: state, reason: nil)
    }

    public func markArchived(id: Int64) async throws {
        try await markArchived(id: id, note: nil)
    }
}

/// A file's records: staged in file order once the whole file is checked, then acknowledged one by one as the API
/// answers.
public protocol RecordLedger: Sendable {
    /// Stages a file's records atomically: earlier staged records of the file are replaced, `body` writes the new
    /// ones through a ``StagingWriter``, and the ``StageDecision`` it returns sets the file's new state and counts.
    /// Nothing is visible until `body` has returned, so a crash or a thrown error leaves the file as it was
    /// (`downloaded`). A quarantined file keeps no records.
    ///
    /// `body` may block (the check reads the file) and may run more than once (a store retries after a lost
    /// connection), so it must start afresh each time.
    func stage(fileID: Int64, runID: Int64, _ body: @escaping @Sendable (any StagingWriter) throws -> StageDecision) async throws -> StageDecision

    /// Up to `limit` staged records of a file not yet acknowledged, after `afterSeq`, in file order.
    func pendingRecords(fileID: Int64, afterSeq: Int, limit: Int) async throws -> [PendingRecord]

    /// Records the API's answers (after it gave them) for records still `accepted`; their bodies are dropped.
    func acknowledge(fileID: Int64, _ acknowledgements: [RecordAcknowledgement]) async throws

    /// Counts of a file's records by outcome (outcomes with no record are absent).
    func recordCounts(fileID: Int64) async throws -> [RecordOutcome: Int]

    /// Stores the published/failed counts on the file and returns them with how many records are still pending.
    @discardableResult
    func refreshPublishCounts(fileID: Int64) async throws -> (published: Int, failed: Int, pending: Int)

    /// Records of a file with these outcomes, in file order, at most `limit`.
    func records(fileID: Int64, outcomes: [RecordOutcome], limit: Int) async throws -> [RecordRow]

    /// The outcome recorded for each key of the records of files of `feed` with this content (the only files whose
    /// records can have the same keys), `published` winning over any other, for replays and dry runs.
    func outcomes(feed: String, sha256: String) async throws -> [String: RecordOutcome]
}

/// Where staging writes a file's records, numbering them 1, 2, 3... in the order written.
public protocol StagingWriter: AnyObject {
    /// How many records have been written.
    var written: Int { get }

    /// A valid record: `accepted` (to be published, with its body, JSON text or nil) or `shadow` (never published; its
    /// body kept for the feed's parity window, see ``ParityLedger``).
    func accepted(line: Int, key: String, method: String, path: String, body: String?, shadow: Bool) throws

    /// A row the mapping refused; `problemsJSON` is a JSON array of its problems (no values).
    func rejected(line: Int, key: String?, problemsJSON: String) throws
}

/// Makes runs exclusive: at most one run or replay works on the ledger at a time.
public protocol RunLockLedger: Sendable {
    /// Takes the run lock, or returns nil when another holder has it.
    func acquireRunLock() async throws -> (any RunLock)?
}

/// The run lock, held for the whole run.
public protocol RunLock: Sendable {
    /// Checks the lock is still held, taking it again if the store's connection was lost. Throws ``RunLockLost``
    /// when another holder took it meanwhile.
    func verify() async throws

    /// Gives the lock up; releasing twice does nothing.
    func release() async
}

public struct RunLockLost: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "the run lock was lost (the database connection broke and another run took it)" }
}
