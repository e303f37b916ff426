import CurlMail
import Delivery
import Foundation
public import Ledger
import Logging

/// What became of one notice in a pass, for the run's summary and report.
public struct NoticeOutcome: Sendable, Equatable {
    public let entry: String
    public let state: NoticeState
    public let detail: String
    /// The notice needs an operator (refused, given up, held) or failed in this pass: a run failure.
    public let needsAttention: Bool
}

/// Sends the mail outbox's entries, each exactly once (see ``NoticeState``): registers new entries, then takes every
/// open notice one step at a time, writing each state before the step that leaves it.
///
/// Exactly once rests on two facts: a notice's Message-ID never changes, and one SMTP transaction queues the message
/// for every envelope recipient or for none, the sent copy's address among them. So a notice left `submitting` by a
/// crash (or a connection lost after the message went) was queued exactly when its copy reaches the sent copy; once
/// the grace period has passed without one, sending it again cannot make a second email.
final class NoticeSender {
    let ledger: any NoticeLedger
    let outbox: MailOutbox
    let mailer: NoticeMailer
    let policy: NoticePolicy
    let runID: Int64
    let logger: Logger
    let metrics: RunMetrics
    let clock: @Sendable () -> Date
    let sleep: @Sendable (Double) async throws -> Void
    /// Set when the server could not be reached within a notice's attempts: the other notices wait for the next run.
    private var serverDown: String?

    init(
        ledger: any NoticeLedger, outbox: MailOutbox, mailer: NoticeMailer, policy: NoticePolicy, runID: Int64, logger: Logger,
        metrics: RunMetrics, clock: @escaping @Sendable () -> Date = { Date() },
        sleep: @escaping @Sendable (Double) async throws -> Void = { try await Task.sleep(nanoseconds: UInt64($0 * 1e9)) }
    ) {
        self.ledger = ledger
        self.outbox = outbox
        self.mailer = mailer
        self.policy = policy
        self.runID = runID
        self.logger = logger
        self.metrics = metrics
        self.clock = clock
        self.sleep = sleep
    }

    /// One pass over the outbox and the open notices, oldest first; `shouldStop` is asked between notices.
    func pass(shouldStop: () -> Bool) async throws -> [NoticeOutcome] {
        var outcomes: [NoticeOutcome] = []
        for entry in try outbox.waitingEntries() where try await ledger.notice(entry: entry) == nil {
            do {
                let manifest = try outbox.manifest(of: entry)
                try outbox.verify(entry: entry, manifest)
                let row = try await ledger.registerNotice(
                    entry: entry, messageID: policy.messageID(entry: entry, sha256: manifest.sha256), sha256: manifest.sha256, size: manifest.size,
                    recipients: manifest.to, subject: manifest.subject, runID: runID, at: clock())
                logger.info("notice registered", metadata: ["entry": "\(entry)", "messageID": "\(row.messageID)", "bytes": "\(row.size)"])
            } catch {
                outcomes.append(attention(entry, .pending, "not registered: \(error)"))
            }
        }
        for row in try await ledger.notices(states: [.pending, .submitting, .submitted]) {
            if shouldStop() { break }
            do {
                if let outcome = try await work(row) { outcomes.append(outcome) }
            } catch {
                let now = (try? await ledger.notice(id: row.id))?.state ?? row.state
                outcomes.append(attention(row.entry, now, "\(error)"))
            }
        }
        for state in NoticeState.allCases where state != .sent {
            metrics.set("dqt_bridge_notices_waiting", ["state": state.rawValue], Double(try await ledger.notices(states: [state]).count))
        }
        return outcomes
    }

    private func work(_ row: NoticeRow) async throws -> NoticeOutcome? {
        switch row.state {
        case .pending: try await send(row)
        case .submitting: try await prove(row)
        case .submitted: try await finish(row)
        case .sent, .refused, .givenUp, .held: nil
        }
    }

    /// A notice left `submitting`: its copy in the sent copy proves it was queued; its absence past the grace period
    /// proves it was not. Without a sent copy nothing can prove either, and an operator decides.
    private func prove(_ row: NoticeRow) async throws -> NoticeOutcome {
        guard let found = try await mailer.sentCopyHolds(messageID: row.messageID) else {
            try await move(row, [.submitting], .held, "the last attempt's outcome is unknown and there is no sent copy to prove it")
            metrics.increment("dqt_bridge_notices_total", ["outcome": "held"])
            return attention(row.entry, .held, "held: the last attempt's outcome is unknown; resolve it (dqt-bridge notices resolve)")
        }
        if found {
            let submitted = try await move(row, [.submitting], .submitted, "its copy is in the sent copy: the attempt was queued")
            return try await finish(submitted)
        }
        let age = clock().timeIntervalSince(row.lastAttemptAt ?? row.updatedAt)
        guard age >= policy.graceSeconds else {
            return NoticeOutcome(
                entry: row.entry, state: .submitting,
                detail: "waiting for proof: no sent copy yet \(Int(age)) s after the attempt (grace \(Int(policy.graceSeconds)) s)",
                needsAttention: false)
        }
        let pending = try await move(row, [.submitting], .pending, "no sent copy \(Int(age)) s after the attempt: it was not queued")
        return try await send(pending)
    }

    /// Attempts the notice until it is queued, refused, out of this run's attempts or out of its budget.
    private func send(_ row: NoticeRow) async throws -> NoticeOutcome {
        switch outbox.location(of: row.entry) {
        case .outbox: break
        case .sent: return attention(row.entry, row.state, "pending, but its entry is in sent/ (moved by hand?): resolve it")
        case .missing: return attention(row.entry, row.state, "pending, but its entry is in neither the outbox nor sent/")
        }
        let manifest = try outbox.manifest(of: row.entry)
        try outbox.verify(entry: row.entry, manifest)
        guard manifest.sha256 == row.sha256 else {
            throw NoticeLedgerError.contentChanged(entry: row.entry, recorded: row.sha256, now: manifest.sha256)
        }
        if let serverDown { return attention(row.entry, .pending, "not tried: \(serverDown)") }
        var current = row
        var triesThisRun = 0
        while true {
            if current.attempts >= policy.attempts {
                try await move(current, [.pending], .givenUp, "the retry budget (\(policy.attempts) attempts) is spent")
                metrics.increment("dqt_bridge_notices_total", ["outcome": "given-up"])
                return attention(current.entry, .givenUp, "given up after \(current.attempts) attempts: \(current.reply ?? "no reply")")
            }
            current = try await ledger.transitionNotice(
                id: current.id, from: [.pending],
                NoticeChange(to: .submitting, detail: "attempt \(current.attempts + 1) of \(policy.attempts)", startsAttempt: true), runID: runID,
                at: clock())
            triesThisRun += 1
            NoticeFailPoint.beforeSubmit.hit()
            let result = await mailer.submit(
                from: policy.from, to: current.recipients + [policy.sentCopyAddress].compactMap { $0 }, build: message(current, manifest))
            if let receipt = result.receipt {
                NoticeFailPoint.submitted.hit()
                let submitted = try await ledger.transitionNotice(
                    id: current.id, from: [.submitting],
                    NoticeChange(to: .submitted, detail: "queued: \(receipt.reply)", reply: receipt.reply, queueID: receipt.queueID), runID: runID,
                    at: clock())
                logger.info(
                    "notice queued",
                    metadata: ["entry": "\(current.entry)", "messageID": "\(current.messageID)", "queueID": "\(receipt.queueID ?? "-")"])
                NoticeFailPoint.recorded.hit()
                return try await finish(submitted)
            }
            let error = result.error.map { "\($0)" } ?? "no reply"
            let mailError = result.error as? MailTransportError
            if mailError?.kind == .refused {
                try await move(current, [.submitting], .refused, "refused by the server: \(error)", reply: error)
                metrics.increment("dqt_bridge_notices_total", ["outcome": "refused"])
                logger.error("notice refused", metadata: ["entry": "\(current.entry)", "reply": "\(mailError?.message.prefix(200) ?? "")"])
                return attention(current.entry, .refused, "refused: \(error)")
            }
            let answered4xx = mailError?.replyCode.map { (400..<500).contains($0) } ?? false
            guard answered4xx || !result.messageStarted else {
                // The message went, or part of it, and no reply came: only the sent copy can tell.
                metrics.increment("dqt_bridge_notices_total", ["outcome": "unknown"])
                if mailer.hasSentCopy {
                    try await move(current, [.submitting], .submitting, "outcome unknown (\(error)): the next pass looks for its sent copy")
                    return attention(current.entry, .submitting, "outcome unknown: \(error); the next pass looks for its sent copy")
                }
                try await move(current, [.submitting], .held, "outcome unknown (\(error)) and there is no sent copy to prove it")
                return attention(current.entry, .held, "held: outcome unknown: \(error); resolve it (dqt-bridge notices resolve)")
            }
            current = try await move(current, [.submitting], .pending, "not queued: \(error)", reply: error)
            metrics.increment("dqt_bridge_notices_total", ["outcome": "retried"])
            logger.warning("notice not queued", metadata: ["entry": "\(current.entry)", "attempt": "\(current.attempts)", "error": "\(error)"])
            if current.attempts >= policy.attempts { continue }
            if triesThisRun >= policy.attemptsPerRun {
                if !answered4xx { serverDown = "the mail server could not be reached: \(error)" }
                return attention(
                    current.entry, .pending, "not queued after \(current.attempts) of \(policy.attempts) attempts, retried next run: \(error)")
            }
            try await sleep(policy.backoff(afterRetry: triesThisRun))
        }
    }

    /// A queued notice: its entry moved to `sent/`, then `sent`.
    private func finish(_ row: NoticeRow) async throws -> NoticeOutcome {
        switch outbox.location(of: row.entry) {
        case .outbox:
            try outbox.moveToSent(row.entry)
            NoticeFailPoint.moved.hit()
        case .sent: break
        case .missing: return attention(row.entry, .submitted, "queued, but its entry is in neither the outbox nor sent/")
        }
        try await move(row, [.submitted], .sent, "moved to sent/")
        metrics.increment("dqt_bridge_notices_total", ["outcome": "sent"])
        return NoticeOutcome(entry: row.entry, state: .sent, detail: "sent: \(row.reply ?? "queued")", needsAttention: false)
    }

    /// Builds the notice's message on the mail queue: the same bytes for every attempt (Message-ID, Date from the ledger).
    private func message(_ row: NoticeRow, _ manifest: MailOutbox.Manifest) -> @Sendable () throws -> any SMTPMessageSource {
        let from = policy.from
        let path = outbox.attachmentPath(of: row.entry, manifest)
        let text = """
            The attached file \(manifest.attachment) (\(manifest.size) bytes, SHA-256 \(manifest.sha256)) is sent by the DQT Exchange \
            Bridge. This message was sent automatically; please reply to \(from) with any question.
            """
        return {
            try AttachmentMessage(
                from: from, to: row.recipients, subject: row.subject, messageID: row.messageID, date: row.createdAt, text: text, attachment: path,
                attachmentName: manifest.attachment)
        }
    }

    @discardableResult
    private func move(_ row: NoticeRow, _ from: [NoticeState], _ to: NoticeState, _ detail: String, reply: String? = nil) async throws -> NoticeRow {
        try await ledger.transitionNotice(id: row.id, from: from, NoticeChange(to: to, detail: detail, reply: reply), runID: runID, at: clock())
    }

    private func attention(_ entry: String, _ state: NoticeState, _ detail: String) -> NoticeOutcome {
        NoticeOutcome(entry: entry, state: state, detail: detail, needsAttention: true)
    }
}
