import ArgumentParser
import BridgeRun

/// `dqt-bridge export`: the outbound feeds' files, delivered exactly once.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write and deliver the outbound feeds' files (each change range once); FEED: that feed now, whatever its schedule.",
        discussion: """
            Without FEED: every live or shadow outbound feed whose schedule is due (as `run` does after its inbound work).
            An export left undelivered by an earlier run (a crash, a destination down) is finished first, with the same
            range, file name and bytes. Live feeds go to their destination, shadow feeds into the report folder.
            --dry-run writes what the next export would hold into --out (default: the work folder's dry-run/) and records
            and delivers nothing. --resend ID delivers a delivered export's exact bytes again under its original name, to
            the feed's destination or to --out. Exit status: 0 all good, 2 an export failed (the next run retries it).
            """)

    @OptionGroup var options: RunConfigOptions

    @Argument(help: "An outbound feed (see dqt-bridge feeds).")
    var feed: String?

    @Flag(help: "Write the next export's file into --out; plan, record and deliver nothing.")
    var dryRun = false

    @Option(help: "A folder: where --dry-run writes, or where --resend delivers instead of the feed's destination.")
    var out: String?

    @Option(name: .customLong("resend"), help: "Deliver this delivered export again (its id from dqt-bridge status).")
    var resend: Int64?

    func validate() throws {
        if resend != nil && (feed != nil || dryRun) { throw ValidationError("--resend takes no FEED and no --dry-run") }
    }

    func run() async throws {
        try await runReportingFailures {
            let stopper = SignalStopper(logger: BridgeLogging.logger())
            let outcome = try await withSession(options, needsAPI: true, stop: stopper.flag) { session in
                await BridgeRunner(environment: session.environment).export(
                    ExportRequest(feeds: feed.map { [$0] } ?? [], dryRun: dryRun, outFolder: out, resend: resend))
            }
            print(outcome.summary)
            if outcome.exitStatus != 0 { throw ExitCode(outcome.exitStatus) }
        }
    }
}
