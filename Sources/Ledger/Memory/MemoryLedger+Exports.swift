import Foundation
import Synchronization

/// Exports in memory, with ``PostgresLedger``'s checks in the same order, so both stores refuse the same steps.
extension MemoryLedger: ExportLedger {
    public func export(id: Int64) async throws -> ExportRow? {
        state.withLock { $0.export(id) }
    }

    public func unfinishedExport(feed: String) async throws -> ExportRow? {
        state.withLock { $0.unfinished(feed: feed) }
    }

    public func watermark(feed: String) async throws -> ExportWatermark? {
        state.withLock { $0.watermarks[feed] }
    }

    public func planExport(feed: String, runID: Int64, range: ExportRange, fileName: String, destination: String) async throws -> ExportRow {
        try state.withLock { state in
            if let unfinished = state.unfinished(feed: feed) {
                if unfinished.range == range && unfinished.fileName == fileName && unfinished.destination == destination { return unfinished }
                throw ExportLedgerError.unfinishedExport(feed: feed, id: unfinished.id)
            }
            let watermark = state.watermarks[feed]
            guard watermark?.cursor == range.after else {
                throw ExportLedgerError.notContiguous(feed: feed, watermark: watermark?.cursor, after: range.after)
            }
            guard !state.exports.contains(where: { $0.feed == feed && $0.fileName == fileName && $0.resendOf == nil }) else {
                throw ExportLedgerError.fileNameTaken(feed: feed, name: fileName)
            }
            let row = ExportRow(
                id: Int64(state.exports.count + 1), feed: feed, runID: runID, range: range, fileName: fileName, destination: destination,
                resendOf: nil, plannedAt: Date())
            state.exports.append(row)
            return row
        }
    }

    public func planResend(of id: Int64, runID: Int64, destination: String) async throws -> ExportRow {
        try state.withLock { state in
            guard let original = state.export(id) else { throw ExportLedgerError.unknownExport(id: id) }
            guard original.state == .delivered else { throw ExportLedgerError.notDelivered(id: id) }
            if let unfinished = state.exports.first(where: { $0.resendOf == id && $0.state != .delivered }) { return unfinished }
            var row = ExportRow(
                id: Int64(state.exports.count + 1), feed: original.feed, runID: runID, range: original.range, fileName: original.fileName,
                destination: destination, resendOf: id, plannedAt: Date())
            row.records = original.records
            row.size = original.size
            row.sha256 = original.sha256
            state.exports.append(row)
            return row
        }
    }

    public func resumeExport(id: Int64, runID: Int64) async throws -> ExportRow {
        try update(id: id, requireWritten: false) { row in
            row.attempts += 1
            row.lastRunID = runID
        }
    }

    public func markWritten(id: Int64, records: Int, size: Int64, sha256: String) async throws -> ExportRow {
        try update(id: id, requireWritten: false) { row in
            if let recorded = row.sha256, recorded != sha256 {
                throw ExportLedgerError.contentChanged(id: id, recorded: recorded, now: sha256)
            }
            row.state = .written
            row.records = records
            row.size = size
            row.sha256 = sha256
            row.failureReason = nil
            row.writtenAt = Date()
        }
    }

    public func markProgress(id: Int64, _ step: ExportProgress) async throws -> ExportRow {
        try update(id: id, requireWritten: true) { row in
            row.state = step.state
            if step == .uploaded { row.uploadedAt = Date() } else { row.verifiedAt = Date() }
        }
    }

    public func markDelivered(id: Int64) async throws -> ExportRow {
        try state.withLock { state in
            guard let index = state.exportIndex(id) else { throw ExportLedgerError.unknownExport(id: id) }
            let row = state.exports[index]
            if row.state == .delivered { return row }
            guard row.sha256 != nil else { throw ExportLedgerError.notWritten(id: id) }
            let now = Date()
            if row.resendOf == nil {
                let watermark = state.watermarks[row.feed]
                guard watermark?.cursor == row.range.after else {
                    throw ExportLedgerError.notContiguous(feed: row.feed, watermark: watermark?.cursor, after: row.range.after)
                }
                state.watermarks[row.feed] = ExportWatermark(feed: row.feed, cursor: row.range.upTo, exportID: id, deliveredAt: now, checkedAt: now)
            }
            state.exports[index].state = .delivered
            state.exports[index].failureReason = nil
            state.exports[index].deliveredAt = now
            state.exports[index].updatedAt = now
            return state.exports[index]
        }
    }

    public func settleEmptyRange(feed: String, range: ExportRange) async throws -> ExportWatermark {
        try state.withLock { state in
            if let unfinished = state.unfinished(feed: feed) { throw ExportLedgerError.unfinishedExport(feed: feed, id: unfinished.id) }
            let watermark = state.watermarks[feed]
            guard watermark?.cursor == range.after else {
                throw ExportLedgerError.notContiguous(feed: feed, watermark: watermark?.cursor, after: range.after)
            }
            let settled = ExportWatermark(
                feed: feed, cursor: range.upTo, exportID: watermark?.exportID, deliveredAt: watermark?.deliveredAt, checkedAt: Date())
            state.watermarks[feed] = settled
            return settled
        }
    }

    public func markExportFailed(id: Int64, reason: String) async throws -> ExportRow {
        try update(id: id, requireWritten: false) { row in
            row.state = .failed
            row.failureReason = reason
        }
    }

    public func exports(feed: String?, limit: Int) async throws -> [ExportRow] {
        state.withLock { state in Array(state.exports.reversed().filter { feed == nil || $0.feed == feed }.prefix(limit)) }
    }

    public func exports(runID: Int64) async throws -> [ExportRow] {
        state.withLock { state in state.exports.filter { $0.runID == runID || $0.lastRunID == runID } }
    }

    public func exportSummaries() async throws -> [ExportFeedSummary] {
        state.withLock { state in
            Dictionary(grouping: state.exports, by: \.feed).keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { feed in
                let rows = state.exports.filter { $0.feed == feed }
                return ExportFeedSummary(
                    feed: feed, delivered: rows.count { $0.state == .delivered }, pending: rows.count { $0.state != .delivered },
                    lastDelivered: rows.last { $0.state == .delivered })
            }
        }
    }

    /// Changes an undelivered export through `change` (which may throw to refuse), stamping `updatedAt`.
    private func update(id: Int64, requireWritten: Bool, _ change: (inout ExportRow) throws -> Void) throws -> ExportRow {
        try state.withLock { state in
            guard let index = state.exportIndex(id) else { throw ExportLedgerError.unknownExport(id: id) }
            guard state.exports[index].state != .delivered else { throw ExportLedgerError.alreadyDelivered(id: id) }
            if requireWritten && state.exports[index].sha256 == nil { throw ExportLedgerError.notWritten(id: id) }
            var row = state.exports[index]
            try change(&row)
            row.updatedAt = Date()
            state.exports[index] = row
            return row
        }
    }
}

extension MemoryLedger.State {
    func exportIndex(_ id: Int64) -> Int? {
        id >= 1 && id <= Int64(exports.count) ? Int(id - 1) : nil
    }

    func export(_ id: Int64) -> ExportRow? {
        exportIndex(id).map { exports[$0] }
    }

    func unfinished(feed: String) -> ExportRow? {
        exports.first { $0.feed == feed && $0.state != .delivered && $0.resendOf == nil }
    }
}
