import ArgumentParser
import BridgeRun
import Foundation

/// `dqt-bridge parity FEED`: a shadow file against its legacy job's outcome and the API's state.
struct ParityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parity",
        abstract: "Compare a shadow file with what its legacy job did: per-row agreement and the planned writes read back from the API.",
        discussion: """
            The legacy job's outcome file is CSV with a header naming Line, Status (Success, Failure or Warning) and
            Message, one row per input line in ascending order; by default it is the file beside the input on its source,
            named <input name>.outcome.csv. Writes <feed>-file-<id>-parity.json and .html (legacy messages masked unless
            --unmask), records the file's agreement in the ledger for `feeds promote`, and writes the run report again
            with a link. Exit status: 0 full agreement, 1 disagreements, 2 nothing compared.
            """)

    @OptionGroup var options: RunConfigOptions

    @Argument(help: "The shadow feed.")
    var feed: String

    @Option(name: .customLong("file-id"), help: "The shadow file (default: the feed's newest).")
    var fileID: Int64?

    @Option(help: "A local copy of the legacy outcome file (default: the one beside the input).")
    var legacy: String?

    @Option(help: "Where the reports go (default: <reportsFolder>/parity).")
    var out: String?

    @Flag(help: "Show the legacy job's messages (free text that may name a person).")
    var unmask = false

    @Flag(name: .customLong("no-read-back"), help: "Compare with the legacy outcome only; do not read the API.")
    var noReadBack = false

    func run() async throws {
        try await runReportingFailures {
            let outcome = try await withSession(options, needsAPI: !noReadBack) { session in
                await ParityRunner(environment: session.environment, stateReader: session.stateReader).run(
                    ParityRequest(feed: feed, fileID: fileID, legacyPath: legacy, outputFolder: out, unmask: unmask, readBack: !noReadBack))
            }
            print(outcome.summary)
            if outcome.exitStatus != 0 { throw ExitCode(outcome.exitStatus) }
        }
    }
}
