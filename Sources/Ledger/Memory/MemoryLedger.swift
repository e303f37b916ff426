public import Foundation
import Synchronization

/// The ledger in memory, with the semantics of ``PostgresLedger``: the same state transitions, lookups, staging,
/// acknowledgements, counts and run lock, so tests of the publisher and the run need no database. Nothing survives
/// the process; listings sort text by code point.
public final class MemoryLedger: LedgerStore, Sendable {
    struct Observation {
        var value: ListingObservation
        var decision: String?
    }

    struct ObservationKey: Hashable {
        let feed: String
        let path: String
    }

    /// A record as staged, then acknowledged.
    struct StoredRecord: Sendable {
        let seq: Int
        let line: Int
        let key: String?
        var outcome: RecordOutcome
        let method: String?
        let path: String?
        var body: String?
        var apiStatus: Int?
        var replayed: Bool?
        var problem: String?
    }

    struct State {
        /// Run `id` is at index `id - 1`; files likewise.
        var runs: [RunRow] = []
        var files: [FileRow] = []
        /// A file's records in `seq` order (seq `n` at index `n - 1`).
        var records: [Int64: [StoredRecord]] = [:]
        var observations: [ObservationKey: Observation] = [:]
        /// Export `id` is at index `id - 1`.
        var exports: [ExportRow] = []
        var watermarks: [String: ExportWatermark] = [:]
        var runLockHolder: ObjectIdentifier?
        var retention = MemoryRetention()
        var parity: [Int64: ParityResult] = [:]
        var promotions: [Promotion] = []
        var notices = MemoryNotices()

        func fileIndex(_ id: Int64) -> Int? {
            id >= 1 && id <= Int64(files.count) ? Int(id - 1) : nil
        }
    }

    let state = Mutex(State())

    public init() {}

    /// There is no schema to migrate.
    @discardableResult
    public func migrate() async throws -> [Int] { [] }

    public func close() {}

    public func acquireRunLock() async throws -> (any RunLock)? {
        let lock = MemoryRunLock(ledger: self)
        let taken = state.withLock { state -> Bool in
            guard state.runLockHolder == nil else { return false }
            state.runLockHolder = ObjectIdentifier(lock)
            return true
        }
        return taken ? lock : nil
    }
}

/// The run lock of a ``MemoryLedger``: held until released. Like a lock whose connection broke, a released lock that
/// is verified takes the lock again when nobody else holds it.
final class MemoryRunLock: RunLock {
    let ledger: MemoryLedger

    init(ledger: MemoryLedger) {
        self.ledger = ledger
    }

    func verify() async throws {
        let held = ledger.state.withLock { state -> Bool in
            if state.runLockHolder == nil { state.runLockHolder = ObjectIdentifier(self) }
            return state.runLockHolder == ObjectIdentifier(self)
        }
        if !held { throw RunLockLost() }
    }

    func release() async {
        ledger.state.withLock { state in
            if state.runLockHolder == ObjectIdentifier(self) { state.runLockHolder = nil }
        }
    }
}

extension MemoryLedger: RunLedger {
    public func startRun(command: String, host: String, pid: Int, feeds: [String]) async throws -> Int64 {
        state.withLock { state in
            let id = Int64(state.runs.count + 1)
            state.runs.append(RunRow(id: id, startedAt: Date(), command: command, host: host, pid: pid, feeds: feeds))
            return id
        }
    }

    @discardableResult
    public func markInterruptedRuns(exceptRun: Int64) async throws -> [Int64] {
        state.withLock { state in
            var interrupted: [Int64] = []
            for index in state.runs.indices where state.runs[index].status == .running && state.runs[index].id != exceptRun {
                state.runs[index].status = .interrupted
                state.runs[index].finishedAt = state.runs[index].finishedAt ?? Date()
                state.runs[index].error =
                    state.runs[index].error
                    ?? "the run stopped without finishing (killed or crashed); the next run resumed its files"
                interrupted.append(state.runs[index].id)
            }
            return interrupted
        }
    }

    public func finishRun(
        id: Int64, status: RunStatus, exitStatus: Int32, countsJSON: String, summary: String, error: String?
    ) async throws {
        state.withLock { state in
            guard id >= 1 && id <= Int64(state.runs.count) else { return }
            let index = Int(id - 1)
            state.runs[index].finishedAt = Date()
            state.runs[index].status = status
            state.runs[index].exitStatus = Int(exitStatus)
            state.runs[index].counts = countsJSON
            state.runs[index].summary = summary
            state.runs[index].error = error
        }
    }

    public func run(id: Int64) async throws -> RunRow? {
        state.withLock { state in id >= 1 && id <= Int64(state.runs.count) ? state.runs[Int(id - 1)] : nil }
    }

    public func recentRuns(limit: Int) async throws -> [RunRow] {
        state.withLock { Array($0.runs.reversed().prefix(limit)) }
    }

    public func runningRun() async throws -> RunRow? {
        state.withLock { $0.runs.last { $0.status == .running } }
    }
}

extension MemoryLedger: ListingLedger {
    public func observe(feed: String, path: String, size: Int64, mtime: Date, now: Date) async throws -> ListingObservation {
        state.withLock { state in
            let key = ObservationKey(feed: feed, path: path)
            let seen: ListingObservation
            if let earlier = state.observations[key]?.value, earlier.size == size, earlier.mtime == mtime {
                seen = ListingObservation(size: size, mtime: mtime, firstSeen: earlier.firstSeen, lastSeen: now, listings: earlier.listings + 1)
            } else {
                seen = ListingObservation(size: size, mtime: mtime, firstSeen: now, lastSeen: now, listings: 1)
            }
            state.observations[key, default: Observation(value: seen)].value = seen
            return seen
        }
    }

    public func noteDecision(feed: String, path: String, decision: String) async throws {
        state.withLock { $0.observations[ObservationKey(feed: feed, path: path)]?.decision = decision }
    }
}
