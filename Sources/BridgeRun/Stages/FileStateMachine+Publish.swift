import Foundation
import Ledger
import Logging
import Publisher

extension FileStateMachine {
    /// `publishing` -> `published` once no record is pending. A file stays `publishing` when the API failed (this run
    /// then publishes nothing more; the next run resumes) or some records are still pending.
    func publish(_ file: FileRow, logger: Logger) async throws -> FileRow {
        var file = file
        let ledger = context.ledger
        guard context.apiAvailable else {
            logger.warning("the API failed earlier in this run; publishing this file is left for the next run")
            context.tally.failures.append("file \(file.id) (\(file.feed) \(file.name)): not published, the API failed earlier in this run")
            return file
        }
        guard let sha256 = file.sha256 else { throw FatalRunError(description: "file \(file.id) has no SHA-256") }
        let metrics = context.metrics
        let publisher = Publisher(
            ledger: ledger, transport: context.environment.transport, settings: context.configuration.publisherSettings, logger: logger,
            observer: metrics)
        let total = try await ledger.refreshPublishCounts(fileID: file.id)
        let progress = context.progress
        progress.start("publishing \(file.name)", total: Int64(total.pending))
        let outcome: PublishSummary
        do {
            outcome = try await metrics.time("publish") {
                try await publisher.publish(fileID: file.id, feed: file.feed, fileSHA256: sha256) { done in
                    progress.update(Int64(done), unit: .records)
                }
            }
            progress.finish()
        } catch {
            progress.finish()
            context.apiAvailable = false
            let counts = try? await ledger.refreshPublishCounts(fileID: file.id)
            context.tally.update(file.feed) { c in
                c.recordsPublished += max(0, (counts?.published ?? total.published) - total.published)
                c.recordsFailed += max(0, (counts?.failed ?? total.failed) - total.failed)
            }
            throw error
        }
        let counts = try await ledger.refreshPublishCounts(fileID: file.id)
        context.tally.update(file.feed) { c in
            c.recordsPublished += counts.published - total.published
            c.recordsFailed += counts.failed - total.failed
            c.recordsReplayed += outcome.replayed
        }
        metrics.increment("dqt_bridge_records_total", ["feed": file.feed, "outcome": "published"], by: Double(counts.published - total.published))
        metrics.increment("dqt_bridge_records_total", ["feed": file.feed, "outcome": "failed"], by: Double(counts.failed - total.failed))
        logger.info(
            "file published",
            metadata: [
                "published": "\(counts.published)", "failed": "\(counts.failed)", "pending": "\(counts.pending)",
                "batches": "\(outcome.batches)", "retries": "\(outcome.retries)", "replayed": "\(outcome.replayed)",
            ])
        if counts.pending == 0 {
            try await ledger.setState(id: file.id, runID: context.runID, state: .published)
            FailPoint.hit("published")
            file.state = .published
        }
        file.published = counts.published
        file.failed = counts.failed
        return file
    }
}
