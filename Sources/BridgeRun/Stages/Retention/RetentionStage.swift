import FeedMapping
import FileSources
import Foundation
import Ledger
import Logging

/// The retention stage, the last of `run` and the whole of `dqt-bridge retention`: removes, class by class
/// (``RetentionClass``), what the bridge finished with longer ago than the class's period (``RetentionSettings``),
/// as of the environment's clock. Each removal is counted in the ledger under the run (`bridge.retention_counts`).
///
/// Invariants: nothing younger than its period is touched; nothing of a file the ledger has not finished with
/// (not terminal, or not archived) is touched; an inbound file's records stay until every outbound problems feed
/// reading them has delivered past the file. A crash between removing an archived copy and recording it is finished
/// by the next run, which finds the copy gone and records it then (counted once).
struct RetentionStage: RunStage {
    /// Files per ledger transaction when wiping bodies or deleting records: a workforce extract alone holds 500,000
    /// records, so a transaction stays in the millions of rows at most.
    static let filesPerBatch = 10

    func run(in context: RunContext) async throws {
        let now = context.environment.clock()
        let settings = context.configuration.retention
        let holds = try await Self.holds(context)
        for retentionClass in RetentionClass.allCases {
            guard !context.stop.isSet else {
                context.tally.stoppedBySignal = true
                return
            }
            try await context.verifyLock()
            let cutoff = settings.cutoff(retentionClass, now: now)
            var oldestKept: Date?
            switch retentionClass {
            case .archivedFiles: try await removeArchivedCopies(before: cutoff, context)
            case .recordBodies:
                try await drain(context) { try await context.ledger.wipeRecordBodies(before: cutoff, runID: context.runID, files: $0) }
            case .records:
                try await drain(context) {
                    try await context.ledger.deleteRecords(before: cutoff, holds: holds, runID: context.runID, files: $0)
                }
            case .reports: oldestKept = try await sweepReports(before: cutoff, context)
            }
            try await context.ledger.closeRetention(
                runID: context.runID, retentionClass, periodDays: settings.days(retentionClass), cutoff: cutoff, oldestKept: oldestKept)
        }
        context.tally.retention = try await context.ledger.retentionCounts(runID: context.runID)
        for count in context.tally.retention {
            context.metrics.set("dqt_bridge_retention_removed", ["class": count.retentionClass.rawValue], Double(count.deleted))
            if count.deleted > 0 || count.failed > 0 {
                context.logger.info(
                    "retention",
                    metadata: ["class": "\(count.retentionClass.rawValue)", "removed": "\(count.deleted)", "failed": "\(count.failed)"])
            }
        }
    }

    /// Per inbound feed read by a live or shadow problems feed, the last file id that feed has delivered (0: none yet).
    static func holds(_ context: RunContext) async throws -> RecordHolds {
        var holds: RecordHolds = [:]
        for feed in context.catalog.outboundFeeds where feed.status == .live || feed.status == .shadow {
            guard case .problems(let inbound) = feed.input else { continue }
            let delivered = try await context.ledger.watermark(feed: feed.id)?.cursor.flatMap { Int64($0) } ?? 0
            holds[inbound] = min(holds[inbound] ?? delivered, delivered)
        }
        return holds
    }

    /// Calls `step` with a batch size until it reports no file left, checking the stop flag between batches.
    private func drain(_ context: RunContext, _ step: (Int) async throws -> (files: Int, records: Int)) async throws {
        while !context.stop.isSet {
            if try await step(Self.filesPerBatch).files == 0 { return }
        }
    }

    /// Removes the archived copies due from their sources; a copy already gone is recorded as removed.
    private func removeArchivedCopies(before cutoff: Date, _ context: RunContext) async throws {
        var afterID: Int64?
        var failed = 0
        while !context.stop.isSet {
            try await context.verifyLock()
            let due = try await context.ledger.archivedCopiesDue(before: cutoff, afterID: afterID, limit: 200)
            for file in due where !context.stop.isSet {
                afterID = file.id
                guard let path = file.archivePath else { continue }
                do {
                    let source = try context.source(file.sourceKind)
                    let bytes = try await source.stat(path)?.size
                    if bytes != nil { try await Self.remove(path, from: source) }
                    if let suffix = context.catalog.feed(id: file.feed).flatMap({ context.configuration.stabilityRule(for: $0).doneMarkerSuffix }) {
                        try await Self.remove(path + suffix, from: source)
                    }
                    FailPoint.hit("retention-archive-removed")
                    try await context.ledger.recordArchivedCopyRemoved(fileID: file.id, runID: context.runID, bytes: bytes ?? 0)
                } catch let error as FileSourceError where error.isFatal {
                    throw FatalRunError(description: "\(file.sourceKind.rawValue) source: \(error)")
                } catch let error as FileSourceError {
                    failed += 1
                    context.logger.error("cannot remove an archived file", metadata: ["file_id": "\(file.id)", "error": "\(error)"])
                } catch let error as FatalRunError {
                    failed += 1
                    context.logger.error("cannot remove an archived file", metadata: ["file_id": "\(file.id)", "error": "\(error)"])
                }
            }
            if due.count < 200 { break }
        }
        if failed > 0 {
            try await context.ledger.countRetention(runID: context.runID, .archivedFiles, deleted: 0, bytes: 0, failed: failed, oldestDeleted: nil)
            context.tally.failures.append("retention: \(failed) archived file(s) could not be removed (see the log); the next run tries again")
        }
    }

    /// Removes `path`; nothing there is as good as removed.
    static func remove(_ path: String, from source: any FileSource) async throws {
        do {
            try await source.remove(path)
        } catch FileSourceError.notFound {
        }
    }

    /// Sweeps the report folders; returns the oldest file kept.
    private func sweepReports(before cutoff: Date, _ context: RunContext) async throws -> Date? {
        let sweep = ReportsSweep(roots: context.reportFolders, protected: try await Self.undeliveredExportNames(context))
        let result = sweep.sweep(before: cutoff, dryRun: false)
        try await context.ledger.countRetention(
            runID: context.runID, .reports, deleted: result.removed, bytes: result.bytes, failed: result.failed, oldestDeleted: result.oldestRemoved)
        for failure in result.failures { context.logger.error("cannot remove a report", metadata: ["error": "\(failure)"]) }
        if result.failed > 0 {
            context.tally.failures.append("retention: \(result.failed) report file(s) could not be removed (see the log)")
        }
        return result.oldestKept
    }

    /// The file names of exports not yet delivered (a shadow export's file waits in the reports folder).
    static func undeliveredExportNames(_ context: RunContext) async throws -> Set<String> {
        var names: Set<String> = []
        for feed in context.catalog.outboundFeeds {
            if let export = try await context.ledger.unfinishedExport(feed: feed.id) { names.insert(export.fileName) }
        }
        return names
    }
}
