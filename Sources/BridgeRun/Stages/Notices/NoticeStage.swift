import CurlMail
import Delivery
import Foundation
import Ledger

/// Sends the mail outbox's notices when the configuration has an `smtp:` section (``NoticeSender``); runs after the
/// export stage, in `run` and `export`, and alone in `notices send`. Every notice that needs an operator (refused,
/// given up, held) or failed in this pass is a run failure; every notice the pass touched is in the run's report.
struct NoticeStage: RunStage {
    func run(in context: RunContext) async throws {
        let resolved: RunConfiguration.SMTPSettings.Resolved
        do {
            guard let settings = try context.configuration.smtpSettings() else { return }
            resolved = settings
        } catch {
            context.tally.failures.append("notices: \(error)")
            return
        }
        try await context.verifyLock()
        let outcomes: [NoticeOutcome]
        do {
            let sentCopy = try resolved.sentCopy.map { IMAPSentCopy(connection: try IMAPConnection(endpoint: $0.endpoint), folder: $0.folder) }
            let mailer = NoticeMailer(submitter: try SMTPSubmission(endpoint: resolved.endpoint), sentCopy: sentCopy)
            let sender = NoticeSender(
                ledger: context.ledger, outbox: MailOutbox(folder: context.configuration.mailOutbox), mailer: mailer, policy: resolved.policy,
                runID: context.runID, logger: context.logger, metrics: context.metrics, clock: context.environment.clock)
            outcomes = try await sender.pass { context.stop.isSet }
        } catch {
            context.tally.failures.append("notices: \(error)")
            return
        }
        for outcome in outcomes {
            context.tally.notices.append(outcome)
            if outcome.needsAttention { context.tally.failures.append("notice \(outcome.entry): \(outcome.detail)") }
        }
        if context.stop.isSet { context.tally.stoppedBySignal = true }
    }
}
