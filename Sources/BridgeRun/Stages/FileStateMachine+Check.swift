import BridgeReport
import DQTModel
import FeedMapping
import FileSources
import Foundation
import Ledger
import Logging

extension FileStateMachine {
    /// `downloaded` -> `parsed`, `quarantined` or `duplicate`: routes a mail drop's email to its feed, refuses content
    /// the feed already had, then checks the file and stages every record in the ledger in one transaction.
    func check(_ file: FileRow, logger: Logger) async throws -> FileRow {
        var file = file
        let ledger = context.ledger
        let runID = context.runID
        guard try await ensureWorkCopy(file) else {
            file.state = .discovered
            return file
        }
        let local = file.localPath!
        guard let sha256 = file.sha256 else { throw FatalRunError(description: "file \(file.id) is downloaded but has no SHA-256") }

        // A mail drop's email: read once, and routed to its feed first.
        let parts = context.partsFolder(fileID: file.id)
        var email: Result<ReceivedEmail, any Error>?
        if MailDropRoute(ledgerFeedName: file.feed) != nil {
            let read = await MailIntake.readOffPool(emlPath: local, into: parts, pinned: context.emailFeeds.compactMap(\.email).pinnedCertificates)
            email = read
            guard try await route(&file, email: read, logger: logger) else { return file }
        }
        guard let feed = context.catalog.feed(id: file.feed) else {
            throw FatalRunError(description: "file \(file.id) belongs to feed \(file.feed), which has no mapping any more")
        }
        if file.replayOf == nil, let original = try await ledger.original(feed: feed.id, sha256: sha256, excluding: file.id) {
            let reason = "the same content as file \(original.id) (\(original.name), \(original.state.rawValue))"
            try await ledger.markDuplicate(id: file.id, runID: runID, of: original.id, reason: reason)
            file.state = .duplicate
            file.duplicateOf = original.id
            file.reason = reason
            logger.info("duplicate content; not published again", metadata: ["original_file_id": "\(original.id)"])
            return file
        }

        let checker = FeedChecker(feed: feed, context: context.checkContext)
        let shadow = !RunContext.publishes(feed)
        let input: CheckInput
        if feed.email == nil {
            input = .file(path: local)
        } else if let email {
            input = .email(email)
        } else {
            // Routed by an earlier run that stopped before staging.
            input = .email(await MailIntake.readOffPool(emlPath: local, into: parts, pinned: feed.email?.trust.smimeCertificates ?? []))
        }
        let name = file.name
        let decision = try await context.metrics.time("check") {
            try await ledger.stage(fileID: file.id, runID: runID) { writer in
                // Made afresh on every attempt: the ledger retries the whole staging after a lost connection.
                let errors = SinkErrorBox()
                var sink = LedgerSink(writer: writer, shadow: shadow, errors: errors)
                let result = checker.check(input, name: name, sha256: sha256, sink: &sink)
                if let error = errors.error { throw error }
                let summary = MappingReport(result: result, feed: feed).json.serialized
                let refusal = result.refusal ?? Self.wholeFileRefusal(feed, result)
                return StageDecision(
                    state: refusal == nil ? .parsed : .quarantined, rowsRead: result.rowsRead, accepted: result.accepted,
                    rejected: result.rejected, warnings: result.rowsWithWarnings, summaryJSON: summary,
                    refusalCode: refusal?.code,
                    refusalMessage: refusal.map { refusal in
                        "\(refusal.code)\(refusal.line.map { " at line \($0)" } ?? ""): \(refusal.message)"
                    })
            }
        }
        FailPoint.hit("staged")
        file.state = decision.state
        file.rowsRead = decision.rowsRead
        file.accepted = decision.accepted
        file.rejected = decision.rejected
        if decision.state == .quarantined { file.reason = decision.refusalMessage }
        context.tally.update(feed.id) { counts in
            counts.rowsRead += decision.rowsRead
            if decision.state != .quarantined {
                counts.recordsAccepted += decision.accepted
                counts.recordsRejected += decision.rejected
            }
        }
        if decision.state != .quarantined {
            context.metrics.increment(
                "dqt_bridge_records_total", ["feed": feed.id, "outcome": shadow ? "shadow" : "accepted"], by: Double(decision.accepted))
            context.metrics.increment("dqt_bridge_records_total", ["feed": feed.id, "outcome": "rejected"], by: Double(decision.rejected))
        }
        if feed.reconcile != nil, decision.state != .quarantined {
            await reconcile(file, feed: feed, input: input, sha256: sha256, rejected: decision.rejected, logger: logger)
        }
        logger.info(
            "file checked",
            metadata: [
                "rows": "\(decision.rowsRead)", "accepted": "\(decision.accepted)", "rejected": "\(decision.rejected)",
                "state": "\(decision.state.rawValue)", "refusal": "\(decision.refusalCode ?? "none")",
            ])
        return file
    }

    /// Routes a mail drop's email, read once by the intake, to the feed that takes it, or quarantines it. Returns
    /// false when it was quarantined.
    func route(_ file: inout FileRow, email: Result<ReceivedEmail, any Error>, logger: Logger) async throws -> Bool {
        let routes = context.emailFeeds.compactMap { feed in feed.email.map { MailRoute(feed: feed.id, rules: $0) } }
        let routed = MailRouting.route(email, routes: routes)
        switch routed.decision {
        case .feed(let feed):
            try await context.ledger.setRouted(id: file.id, feed: feed, sender: routed.sender, attachments: routed.attachments)
            file.feed = feed
            logger.info("email routed", metadata: ["to_feed": "\(feed)", "attachments": "\(routed.attachments.count)"])
            return true
        case .refused(let code, let message):
            try await context.ledger.setRouted(id: file.id, feed: file.feed, sender: routed.sender, attachments: routed.attachments)
            try await context.ledger.markQuarantined(id: file.id, runID: context.runID, code: code, message: message)
            file.state = .quarantined
            file.reason = message
            logger.warning("email refused", metadata: ["code": "\(code)"])
            return false
        }
    }
}
