import ArgumentParser
import BridgeRun

/// `dqt-bridge retention`: removes what the bridge finished with longer ago than the configured periods.
struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Remove archived files, record bodies, records and reports older than their retention periods (run does this too).",
        discussion: """
            Periods come from the configuration's retention section (days; defaults archivedFilesDays 90, recordBodiesDays
            30, recordsDays 365, reportsDays 90). Nothing younger than its period is touched, nor anything of a file the
            ledger has not finished with. Each removal is counted in the ledger under the run (class, how many, bytes,
            oldest removed, oldest kept). --dry-run says what would go and changes nothing. Exit status: 0 all good, 2 something
            due could not be removed (the next run tries again) or the run failed.
            """)

    @OptionGroup var options: RunConfigOptions

    @Flag(help: "Say what would be removed; remove and record nothing.")
    var dryRun = false

    func run() async throws {
        try await runReportingFailures {
            let stopper = SignalStopper(logger: BridgeLogging.logger())
            let outcome = try await withSession(options, needsAPI: false, stop: stopper.flag) { session in
                await BridgeRunner(environment: session.environment).retention(dryRun: dryRun)
            }
            print(outcome.summary)
            if outcome.exitStatus != 0 { throw ExitCode(outcome.exitStatus) }
        }
    }
}
