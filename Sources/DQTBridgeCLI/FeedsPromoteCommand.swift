import ArgumentParser
import BridgeRun
import FeedMapping
import Foundation

/// `dqt-bridge feeds promote FEED`: moves an inbound feed on when its evidence meets the mapping's bar.
struct FeedsPromoteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promote",
        abstract: "Move a feed to its next status (legacy, shadow, live, retired) when the evidence meets its bar.",
        discussion: """
            shadow -> live needs the feed's last `promotion.files` compared shadow files (dqt-bridge parity) each at
            `promotion.agreement` percent or more (default 3 files at 99.9). live -> retired needs the feed live for
            `retirement.quietPeriodDays` (default 30) with no file arriving in `retirement.legacyFolder` meanwhile.
            legacy -> shadow and live -> shadow (a rollback) need nothing. --override --reason TEXT moves on anyway; the
            ledger records the reason with what the bar saw. Only the mapping's `status:` line changes.
            Exit status: 0 moved, 1 refused by the bar (nothing changed), 2 the request cannot be done.
            """)

    @OptionGroup var options: RunConfigOptions

    @Argument(help: "The feed.")
    var feed: String

    @Option(help: "The status to move to: shadow, live or retired (default: the next one).")
    var to: String?

    @Flag(name: .customLong("override"), help: "Move on although the bar is not met (needs --reason).")
    var overrideBar = false

    @Option(help: "Why the bar is overridden (recorded in the ledger).")
    var reason: String?

    @Option(help: "Who moves the feed (default: $USER).")
    var by: String = ProcessInfo.processInfo.environment["USER"] ?? "unknown"

    func validate() throws {
        if let to, FeedStatus(rawValue: to) == nil { throw ValidationError("--to must be shadow, live or retired") }
        if overrideBar, (reason ?? "").trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--override needs --reason TEXT") }
        if !overrideBar, reason != nil { throw ValidationError("--reason goes with --override") }
    }

    func run() async throws {
        try await runReportingFailures {
            let outcome = try await withSession(options, needsAPI: false) { session in
                await FeedPromoter(environment: session.environment).promote(
                    PromotionRequest(feed: feed, to: to.flatMap(FeedStatus.init(rawValue:)), overrideReason: overrideBar ? reason : nil, by: by))
            }
            print(outcome.summary)
            if outcome.exitStatus != 0 { throw ExitCode(outcome.exitStatus) }
        }
    }
}
