import Delivery
import FeedMapping
import FileSources
import Foundation
import Ledger
import Logging

/// One outbound feed's exports, exactly once. For a feed that is due (a range with nothing to send only settles the
/// watermark, and writes no file unless the feed asks for empty files):
/// 1. its undelivered export (a crash, a destination that was down) is finished first: same range, same file name, the
///    bytes regenerated and checked against the recorded SHA-256;
/// 2. then the next one is planned: the range from the watermark to what is there now and the file name are recorded
///    before anything is written; the range's items are written to a work file; its size, hash and record count are
///    recorded; it is delivered (temporary name, read back, final name); and one ledger transaction marks it delivered
///    and moves the watermark to the range's end.
///
/// A delivery repeated after a crash finds the final file with the same bytes and sends nothing, so whatever point a
/// run stops at, each range reaches the destination once, byte for byte as a clean run would have written it.
struct Exporter {
    let context: RunContext
    let now: @Sendable () -> Date

    var ledger: any LedgerStore { context.ledger }

    func export(_ feed: OutboundFeedDefinition, forced: Bool) async throws {
        let input = ExportInput(feed: feed, ledger: ledger, changeFeed: context.environment.changeFeed)
        if case .changes = feed.input, context.environment.changeFeed == nil, !forced {
            // An environment made without the API's change feed (a check-only or test setup): nothing to read.
            context.logger.debug("no change feed: the feed is not exported", metadata: ["feed": "\(feed.id)"])
            return
        }
        do {
            if let unfinished = try await ledger.unfinishedExport(feed: feed.id) {
                let resumed = try await ledger.resumeExport(id: unfinished.id, runID: context.runID)
                ExportFailPoint.resumed.hit()
                context.logger.info(
                    "resuming an export", metadata: ["feed": "\(feed.id)", "export_id": "\(resumed.id)", "state": "\(unfinished.state.rawValue)"])
                try await finish(resumed, feed: feed, input: input, delivery: try context.delivery(for: feed, folder: nil))
            }
            let due = try await ExportSchedule.isDue(feed, ledger: ledger, now: now())
            guard forced || due else { return }
            try await context.verifyLock()
            let range = try await input.nextRange(after: try await ledger.watermark(feed: feed.id)?.cursor)
            if range.isEmpty && feed.emptyFile == .skip {
                _ = try await ledger.settleEmptyRange(feed: feed.id, range: range)
                context.tally.exports.append(.init(feed: feed.id, id: nil, name: nil, records: 0, state: "nothing new", note: "no file written"))
                return
            }
            let delivery = try context.delivery(for: feed, folder: nil)
            let planned = try await plan(feed, range: range, destination: delivery.destination)
            ExportFailPoint.planned.hit()
            try await finish(planned, feed: feed, input: input, delivery: delivery)
        } catch let error as ExportStop {
            throw error.underlying
        } catch {
            context.tally.failures.append("export \(feed.id): \(error)")
            context.logger.error("export failed", metadata: ["feed": "\(feed.id)", "error": "\(error)"])
        }
    }

    /// Records the plan under the name the mapping gives the planning time. File names carry the time to the second, so
    /// a second export of a feed within one second (two inbound files finished together) waits for the next second.
    private func plan(_ feed: OutboundFeedDefinition, range: ExportRange, destination: String) async throws -> ExportRow {
        var attempt = 0
        while true {
            do {
                return try await ledger.planExport(
                    feed: feed.id, runID: context.runID, range: range, fileName: feed.fileName(at: now()), destination: destination)
            } catch ExportLedgerError.fileNameTaken where attempt < 3 {
                attempt += 1
                try await Task.sleep(for: .milliseconds(1000 - Int(now().timeIntervalSince1970.truncatingRemainder(dividingBy: 1) * 1000) + 5))
            }
        }
    }

    /// `dqt-bridge export --resend ID`: the delivered export's bytes, regenerated from its range and checked against its
    /// hash, delivered again under its name to its feed's destination (or `folder`), as a new export row.
    func resend(exportID: Int64, toFolder folder: String?) async throws {
        do {
            guard let original = try await ledger.export(id: exportID) else { throw ExportLedgerError.unknownExport(id: exportID) }
            guard let feed = context.catalog.outboundFeed(id: original.feed) else {
                throw ExportFailure("export #\(exportID) belongs to feed \(original.feed), which no mapping defines now")
            }
            let row = try await ledger.planResend(
                of: exportID, runID: context.runID, destination: try context.delivery(for: feed, folder: folder).destination)
            ExportFailPoint.planned.hit()
            let input = ExportInput(feed: feed, ledger: ledger, changeFeed: context.environment.changeFeed)
            try await finish(row, feed: feed, input: input, delivery: try context.delivery(for: feed, folder: folder, resend: row.id))
        } catch let error as ExportStop {
            throw error.underlying
        } catch {
            context.tally.failures.append("resend of export #\(exportID): \(error)")
            context.logger.error("resend failed", metadata: ["export_id": "\(exportID)", "error": "\(error)"])
        }
    }

    /// Takes an export from wherever it stands to delivered. A failure is recorded on the export (it stays the feed's
    /// unfinished one) and rethrown; losing the lock stops the run.
    private func finish(_ planned: ExportRow, feed: OutboundFeedDefinition, input: ExportInput, delivery: any Delivery) async throws {
        var row = planned
        let work = joinPath(context.workFolder, "exports", "\(row.id).dat")
        defer { try? FileManager.default.removeItem(atPath: work) }
        do {
            try await context.verifyLock()
            var alreadyThere = false
            if row.sha256 != nil && row.resendOf == nil {
                // Written before: a destination that has the file needs nothing but the ledger's last step.
                alreadyThere = try await DeliveryThread.isDelivered(delivery, export: row)
            }
            var sent = false
            if !alreadyThere {
                let written = try await ExportFile.write(input, range: row.range, to: work)
                row = try await ledger.markWritten(id: row.id, records: written.records, size: written.size, sha256: written.sha256)
                ExportFailPoint.written.hit()
                try await context.verifyLock()
                let receipt = try await DeliveryThread.deliver(delivery, localFile: work, export: row, ledger: ledger)
                sent = !receipt.alreadyPresent
            }
            ExportFailPoint.markingDelivered.hit()
            row = try await ledger.markDelivered(id: row.id)
            ExportFailPoint.delivered.hit()
            context.metrics.increment("dqt_bridge_exports_delivered_total", ["feed": feed.id])
            context.tally.exports.append(
                .init(
                    feed: feed.id, id: row.id, name: row.fileName, records: row.records ?? 0, state: "delivered",
                    note: (sent ? "sent to " : "already at ") + delivery.destination + (row.resendOf.map { " (resend of #\($0))" } ?? "")))
            context.logger.info(
                "export delivered",
                metadata: [
                    "feed": "\(feed.id)", "export_id": "\(row.id)", "file": "\(row.fileName)", "records": "\(row.records ?? 0)",
                    "bytes": "\(row.size ?? 0)", "sha256": "\(row.sha256 ?? "")", "range": "\(row.range)", "sent": "\(sent)",
                ])
        } catch let error as RunLockLost {
            throw ExportStop(underlying: error)
        } catch {
            _ = try? await ledger.markExportFailed(id: row.id, reason: "\(error)")
            context.tally.exports.append(
                .init(feed: feed.id, id: row.id, name: row.fileName, records: row.records ?? 0, state: "failed", note: "\(error)"))
            throw error
        }
    }
}

/// An error that must stop the run, carried past the per-feed error handling.
struct ExportStop: Error {
    let underlying: any Error
}
