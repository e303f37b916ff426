import FeedMapping
import FileSources
import Foundation
import Ledger
import Logging

/// The inbound stage: resume what earlier runs left unfinished (a crash, the API down, a lost connection), then poll
/// every folder group and take its stable files. Each file goes through the ``FileStateMachine`` as soon as it is
/// taken, so a crash leaves at most one file in hand.
struct InboundStage: RunStage {
    func run(in context: RunContext) async throws {
        let machine = FileStateMachine(context: context)
        // 1. Resume.
        let polledIDs = Set(context.polledFeeds.map(\.id))
        let takesMail = !context.emailFeeds.isEmpty
        for file in try await context.ledger.unfinishedFiles(feeds: nil) {
            guard !context.stop.isSet else {
                context.tally.stoppedBySignal = true
                return
            }
            let isUnroutedMail = file.origin == .mail && MailDropRoute(ledgerFeedName: file.feed) != nil
            guard polledIDs.contains(file.feed) || (isUnroutedMail && takesMail) else { continue }
            guard file.origin != .replay else { continue }
            try await context.verifyLock()
            context.logger.info("resuming a file", metadata: ["file_id": "\(file.id)", "feed": "\(file.feed)", "state": "\(file.state.rawValue)"])
            try await machine.advance(file, rawPath: nil)
        }
        // 2. Download the HTTPS feeds' files into their pickup folders.
        await HTTPSIntake(context: context).run()
        // 3. Poll the pickup folders.
        let poller = Poller(context: context) { row, rawPath in try await machine.advance(row, rawPath: rawPath) }
        for group in FolderGroup.groups(feeds: context.polledFeeds, configuration: context.configuration, logger: context.logger) {
            guard !context.stop.isSet else {
                context.tally.stoppedBySignal = true
                return
            }
            try await context.verifyLock()
            do {
                try await poller.poll(group)
            } catch let error as FileSourceError where !error.isFatal {
                context.tally.failures.append("\(group.source.rawValue) \(group.folder): \(error)")
                context.logger.error(
                    "cannot poll a folder", metadata: ["source": "\(group.source.rawValue)", "folder": "\(group.folder)", "error": "\(error)"])
            } catch let error as FileSourceError {
                throw FatalRunError(description: "\(group.source.rawValue) source: \(error)")
            }
        }
        // 3. Shadow records' planned bodies (personal data) go once their feed's parity window has passed.
        try await forgetExpiredShadowBodies(context)
    }

    /// Every inbound feed, whatever its status now: a feed promoted to live still has its shadow files' records.
    func forgetExpiredShadowBodies(_ context: RunContext, now: Date = Date()) async throws {
        for feed in context.catalog.feeds {
            let cutoff = now.addingTimeInterval(-Double(feed.lifecycle.parityWindowDays) * 86_400)
            let wiped = try await context.ledger.wipeShadowBodies(feed: feed.id, before: cutoff)
            if wiped > 0 {
                context.logger.info("shadow bodies wiped after the parity window", metadata: ["feed": "\(feed.id)", "records": "\(wiped)"])
            }
        }
    }
}
