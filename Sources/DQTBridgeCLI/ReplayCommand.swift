import ArgumentParser
import BridgeRun
import DQTModel
import Foundation

/// `dqt-bridge replay`: for engineers, a file again through check and publish with the same keys as the first time.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a file (a local FILE, or --file-id N from the ledger) through check and publish, with the same keys.",
        discussion: """
            Every record's idempotency key depends only on the feed, the file's content and the line, so a replay sends
            the same keys as the first delivery and the API returns its stored result for records it already applied:
            nothing is applied twice. --file-id fetches the archived copy (processed/ or quarantine/) or the copy still in
            the pickup folder. --dry-run checks and says how many records the API has already acknowledged, sending and
            writing nothing. Exit status as for run; 3 when another run holds the lock.
            """)

    @OptionGroup var options: RunConfigOptions

    @Argument(help: "A local file to replay.")
    var file: String?

    @Option(name: .customLong("file-id"), help: "A file the ledger knows (see dqt-bridge status / report).")
    var fileID: Int64?

    @Option(help: "The feed (default: the ledger's, else found from the file name).")
    var feed: String?

    @Flag(help: "Check only: say what would be sent; send and write nothing.")
    var dryRun = false

    @Option(help: "Judge dates as of this day (yyyy-MM-dd).")
    var today: String?

    func validate() throws {
        if (file == nil) == (fileID == nil) { throw ValidationError("give either FILE or --file-id N") }
        if let today, LocalDate(iso: today) == nil { throw ValidationError("--today must be a date written yyyy-MM-dd") }
    }

    func run() async throws {
        try await runReportingFailures {
            let logger = BridgeLogging.logger()
            let stopper = SignalStopper(logger: logger)
            let outcome = try await withSession(options, needsAPI: !dryRun, stop: stopper.flag) { session in
                await BridgeRunner(environment: session.environment).replay(
                    ReplayRequest(
                        fileID: fileID, path: file, feed: feed, dryRun: dryRun, today: today.flatMap { LocalDate(iso: $0) }))
            }
            print(outcome.summary)
            if outcome.exitStatus != 0 { throw ExitCode(outcome.exitStatus) }
        }
    }
}
