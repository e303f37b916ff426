public import Foundation
import Synchronization

/// What retention removed, in a ``MemoryLedger``: the marks `bridge.files` carries and the runs' counts.
struct MemoryRetention {
    var archiveRemoved: Set<Int64> = []
    var bodiesWiped: Set<Int64> = []
    var recordsDeleted: Set<Int64> = []
    var counts: [Int64: [RetentionClass: RetentionCount]] = [:]

    mutating func add(runID: Int64, _ retentionClass: RetentionClass, deleted: Int, bytes: Int64, failed: Int, oldestDeleted: Date?) {
        var row = counts[runID]?[retentionClass] ?? RetentionCount(retentionClass: retentionClass)
        row.deleted += deleted
        row.bytes += bytes
        row.failed += failed
        if let oldestDeleted { row.oldestDeleted = min(row.oldestDeleted ?? oldestDeleted, oldestDeleted) }
        counts[runID, default: [:]][retentionClass] = row
    }
}

extension MemoryLedger: RetentionLedger {
    /// The file's data ages from `archivedAt`; nil until the ledger has finished with it.
    static func finishedAt(_ file: FileRow) -> Date? {
        file.state.isTerminal ? file.archivedAt : nil
    }

    static func held(_ file: FileRow, _ holds: RecordHolds) -> Bool {
        holds[file.feed].map { file.id > $0 } ?? false
    }

    public func archivedCopiesDue(before cutoff: Date, afterID: Int64?, limit: Int) async throws -> [FileRow] {
        state.withLock { state in
            Array(
                state.files.filter { file in
                    guard let finished = Self.finishedAt(file), finished < cutoff, file.archivePath != nil else { return false }
                    return file.id > (afterID ?? 0) && !state.retention.archiveRemoved.contains(file.id)
                }.prefix(limit))
        }
    }

    @discardableResult
    public func recordArchivedCopyRemoved(fileID: Int64, runID: Int64, bytes: Int64) async throws -> Bool {
        state.withLock { state in
            guard let index = state.fileIndex(fileID), state.retention.archiveRemoved.insert(fileID).inserted else { return false }
            state.retention.add(runID: runID, .archivedFiles, deleted: 1, bytes: bytes, failed: 0, oldestDeleted: state.files[index].archivedAt)
            return true
        }
    }

    public func retentionDue(_ retentionClass: RetentionClass, before cutoff: Date, holds: RecordHolds) async throws -> RetentionPreview {
        state.withLock { state in
            var count = 0
            var oldest: Date?
            for file in state.files {
                guard let finished = Self.finishedAt(file), finished < cutoff else { continue }
                let records = state.records[file.id] ?? []
                let due: Int
                switch retentionClass {
                case .archivedFiles:
                    due = file.archivePath != nil && !state.retention.archiveRemoved.contains(file.id) ? 1 : 0
                case .recordBodies:
                    let open = !state.retention.bodiesWiped.contains(file.id) && !state.retention.recordsDeleted.contains(file.id)
                    due = open ? records.filter { $0.body != nil }.count : 0
                case .records:
                    due = state.retention.recordsDeleted.contains(file.id) || Self.held(file, holds) ? 0 : records.count
                case .reports:
                    due = 0
                }
                if due > 0 {
                    count += due
                    oldest = min(oldest ?? finished, finished)
                }
            }
            return RetentionPreview(count: count, oldest: oldest)
        }
    }

    public func wipeRecordBodies(before cutoff: Date, runID: Int64, files: Int) async throws -> (files: Int, records: Int) {
        state.withLock { state in
            let chosen = Self.oldestFirst(state.files) { file in
                !state.retention.bodiesWiped.contains(file.id) && !state.retention.recordsDeleted.contains(file.id)
            }.filter { Self.finishedAt($0)! < cutoff }.prefix(files)
            var wiped = 0
            var oldest: Date?
            for file in chosen {
                state.retention.bodiesWiped.insert(file.id)
                for index in (state.records[file.id] ?? []).indices {
                    guard state.records[file.id]![index].body != nil else { continue }
                    state.records[file.id]![index].body = nil
                    wiped += 1
                    oldest = min(oldest ?? file.archivedAt!, file.archivedAt!)
                }
            }
            if !chosen.isEmpty { state.retention.add(runID: runID, .recordBodies, deleted: wiped, bytes: 0, failed: 0, oldestDeleted: oldest) }
            return (chosen.count, wiped)
        }
    }

    public func deleteRecords(before cutoff: Date, holds: RecordHolds, runID: Int64, files: Int) async throws -> (files: Int, records: Int) {
        state.withLock { state in
            let chosen = Self.oldestFirst(state.files) { file in
                !state.retention.recordsDeleted.contains(file.id) && !Self.held(file, holds)
            }.filter { Self.finishedAt($0)! < cutoff }.prefix(files)
            var deleted = 0
            var oldest: Date?
            for file in chosen {
                state.retention.recordsDeleted.insert(file.id)
                let count = state.records.removeValue(forKey: file.id)?.count ?? 0
                if count > 0 { oldest = min(oldest ?? file.archivedAt!, file.archivedAt!) }
                deleted += count
            }
            if !chosen.isEmpty { state.retention.add(runID: runID, .records, deleted: deleted, bytes: 0, failed: 0, oldestDeleted: oldest) }
            return (chosen.count, deleted)
        }
    }

    public func countRetention(
        runID: Int64, _ retentionClass: RetentionClass, deleted: Int, bytes: Int64, failed: Int, oldestDeleted: Date?
    ) async throws {
        state.withLock {
            $0.retention.add(runID: runID, retentionClass, deleted: deleted, bytes: bytes, failed: failed, oldestDeleted: oldestDeleted)
        }
    }

    public func closeRetention(runID: Int64, _ retentionClass: RetentionClass, periodDays: Int, cutoff: Date, oldestKept: Date?) async throws {
        state.withLock { state in
            state.retention.add(runID: runID, retentionClass, deleted: 0, bytes: 0, failed: 0, oldestDeleted: nil)
            let removed: Set<Int64> =
                switch retentionClass {
                case .archivedFiles: state.retention.archiveRemoved
                case .recordBodies: state.retention.bodiesWiped.union(state.retention.recordsDeleted)
                case .records: state.retention.recordsDeleted
                case .reports: []
                }
            let kept = state.files.filter { file in
                file.archivedAt != nil && !removed.contains(file.id) && (retentionClass != .archivedFiles || file.archivePath != nil)
            }.compactMap(\.archivedAt).min()
            var row = state.retention.counts[runID]![retentionClass]!
            row.periodDays = periodDays
            row.cutoff = cutoff
            row.oldestKept = oldestKept ?? (retentionClass == .reports ? nil : kept)
            state.retention.counts[runID]![retentionClass] = row
        }
    }

    public func retentionCounts(runID: Int64) async throws -> [RetentionCount] {
        state.withLock { state in RetentionClass.allCases.compactMap { state.retention.counts[runID]?[$0] } }
    }

    /// Finished files that `include` keeps, oldest first (by when the ledger finished with them, then id).
    static func oldestFirst(_ files: [FileRow], _ include: (FileRow) -> Bool) -> [FileRow] {
        files.filter { finishedAt($0) != nil && include($0) }.sorted { ($0.archivedAt!, $0.id) < ($1.archivedAt!, $1.id) }
    }
}
