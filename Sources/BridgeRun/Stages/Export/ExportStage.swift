import FeedMapping
import Foundation
import Ledger

/// The outbound stage: for each outbound feed that is due (its schedule says so, or it has an undelivered export),
/// the ``Exporter`` finishes the feed's undelivered export first, then plans and delivers the next one. `live` feeds
/// deliver to their destination; `shadow` feeds write the same file, with the same ledger rows, into the report folder
/// (`<reports>/exports/<feed>/`) for comparison with the legacy job; `legacy` and `retired` feeds are not run.
///
/// A failure of one feed (the change feed or the destination unreachable, a disk full) is recorded on its export and in
/// the run's failures, and the other feeds go on; the next run finishes the export with the same range and bytes.
struct ExportStage: RunStage {
    /// What this pass exports.
    enum Selection {
        /// Every live or shadow feed whose schedule is due (the unattended run), among those the run was limited to (a
        /// problems feed goes with the inbound feed it follows).
        case due
        /// These feeds now, whatever their schedule (`dqt-bridge export FEED`).
        case feeds([String])
        /// A delivered export's bytes again, under its name (`dqt-bridge export --resend ID`), to `folder` when given.
        case resend(exportID: Int64, folder: String?)
    }

    let selection: Selection
    let now: @Sendable () -> Date

    init(selection: Selection = .due, now: @escaping @Sendable () -> Date = { Date() }) {
        self.selection = selection
        self.now = now
    }

    func run(in context: RunContext) async throws {
        let exporter = Exporter(context: context, now: now)
        if case .resend(let id, let folder) = selection {
            try await exporter.resend(exportID: id, toFolder: folder)
            return
        }
        let catalog = context.catalog
        let feeds: [OutboundFeedDefinition]
        switch selection {
        case .feeds(let ids): feeds = ids.compactMap { catalog.outboundFeed(id: $0) }
        case .due, .resend:
            feeds = catalog.outboundFeeds.filter { feed in
                (feed.status == .live || feed.status == .shadow) && Self.isRequested(feed, in: context.requestedFeeds)
            }
        }
        for feed in feeds {
            guard !context.stop.isSet else {
                context.tally.stoppedBySignal = true
                return
            }
            try await context.verifyLock()
            let forced: Bool
            if case .feeds = selection { forced = true } else { forced = false }
            try await exporter.export(feed, forced: forced)
        }
    }

    /// Whether a run limited to `requested` (nil: not limited) takes `feed`: named itself, or following the problems of
    /// an inbound feed named.
    static func isRequested(_ feed: OutboundFeedDefinition, in requested: Set<String>?) -> Bool {
        guard let requested else { return true }
        if requested.contains(feed.id) { return true }
        if case .problems(let inbound) = feed.input { return requested.contains(inbound) }
        return false
    }
}
