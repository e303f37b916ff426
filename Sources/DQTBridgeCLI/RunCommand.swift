import ArgumentParser
import BridgeRun
import DQTModel
import Dispatch
import Foundation
import JSONLogging
import Ledger
import Logging

/// The options every unattended-run command shares.
struct RunConfigOptions: ParsableArguments {
    @Option(name: .long, help: "The run's configuration file (default: $DQT_BRIDGE_CONFIG, else bridge.yaml).")
    var config: String = ProcessInfo.processInfo.environment["DQT_BRIDGE_CONFIG"] ?? "bridge.yaml"

    func load() throws -> RunConfiguration {
        do {
            return try RunConfiguration.load(path: config)
        } catch {
            throw CommandFailure(message: "\(error)", status: 2)
        }
    }
}

/// JSON logs on standard error, once per process. Level from $DQT_BRIDGE_LOG_LEVEL (default info).
enum BridgeLogging {
    static let bootstrapped: Void = {
        let level = ProcessInfo.processInfo.environment["DQT_BRIDGE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
    }()

    static func logger(_ label: String = "dqt-bridge") -> Logger {
        _ = bootstrapped
        return Logger(label: label)
    }
}

/// SIGTERM and SIGINT set the stop flag: the command finishes the file in hand, then stops.
final class SignalStopper: @unchecked Sendable {
    // @unchecked: the sources are only touched at setup.
    private var sources: [any DispatchSourceSignal] = []
    let flag = StopFlag()

    init(logger: Logger) {
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            let flag = flag
            source.setEventHandler {
                if flag.isSet {
                    // A second signal: stop now.
                    Foundation.exit(130)
                }
                logger.warning("stop requested: finishing the file in hand, then stopping", metadata: ["signal": "\(number)"])
                flag.set()
            }
            source.resume()
            sources.append(source)
        }
    }
}

/// Runs `body` with a session, printing setup failures and shutting the session down afterwards.
func withSession<T>(
    _ options: RunConfigOptions, needsAPI: Bool, stop: StopFlag = StopFlag(), progress: ProgressDisplay = .automatic(),
    _ body: (BridgeSession) async throws -> T
) async throws -> T {
    let configuration = try options.load()
    let session: BridgeSession
    do {
        session = try BridgeSession(
            configuration: configuration, logger: BridgeLogging.logger(), progress: progress, stop: stop, needsAPI: needsAPI)
    } catch {
        throw CommandFailure(message: "\(error)", status: 2)
    }
    do {
        let value = try await body(session)
        await session.shutdown()
        return value
    } catch {
        await session.shutdown()
        throw error
    }
}

/// Turns a `CommandFailure` into its message and exit status.
func runReportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let failure as CommandFailure {
        FileHandle.standardError.write(Data("dqt-bridge: \(failure.message)\n".utf8))
        throw ExitCode(failure.status)
    }
}

/// `dqt-bridge run`: one unattended pass.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "One pass: take each polled feed's new stable files, check them into the ledger, publish (live feeds), archive.",
        discussion: """
            Exit status: 0 all good; 1 some records or files refused (rejected rows, records the API refused, quarantined
            files); 2 or more the run failed (a source or the API unreachable, a refused host key, the ledger unavailable).
            A second run started while one holds the lock exits 0 saying so. The summary goes to standard output, JSON logs
            to standard error. SIGTERM finishes the file in hand, then stops.
            """)

    @OptionGroup var options: RunConfigOptions

    @Option(name: .customLong("feed"), help: "Only this feed (repeatable).")
    var feeds: [String] = []

    @Option(help: "Judge dates as of this day (yyyy-MM-dd), for reproducible runs (default: today).")
    var today: String?

    func validate() throws {
        if let today, LocalDate(iso: today) == nil { throw ValidationError("--today must be a date written yyyy-MM-dd") }
    }

    func run() async throws {
        try await runReportingFailures {
            let logger = BridgeLogging.logger()
            let stopper = SignalStopper(logger: logger)
            let outcome = try await withSession(options, needsAPI: true, stop: stopper.flag) { session in
                await BridgeRunner(environment: session.environment).run(
                    options: RunOptions(feeds: feeds.isEmpty ? nil : feeds, today: today.flatMap { LocalDate(iso: $0) }))
            }
            print(outcome.summary)
            if outcome.exitStatus != 0 { throw ExitCode(outcome.exitStatus) }
        }
    }
}

/// `dqt-bridge watch`: passes one after another.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Run passes in a loop, pausing between them; SIGTERM finishes the file in hand, then stops.",
        discussion: "Exit status: 0 after a requested stop; 2 when the configuration or the ledger cannot be used.")

    @OptionGroup var options: RunConfigOptions

    @Option(help: "Pause between passes: 90, 90s, 5m, 1h.")
    var interval: String = "5m"

    @Option(name: .customLong("feed"), help: "Only this feed (repeatable).")
    var feeds: [String] = []

    func validate() throws {
        guard Self.seconds(interval) != nil else { throw ValidationError("--interval must be a duration such as 90s, 5m or 1h") }
    }

    static func seconds(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)), value >= 0 { return value * factor }
        }
        return Double(text).flatMap { $0 >= 0 ? $0 : nil }
    }

    func run() async throws {
        try await runReportingFailures {
            let logger = BridgeLogging.logger()
            let stopper = SignalStopper(logger: logger)
            let pause = Self.seconds(interval) ?? 300
            try await withSession(options, needsAPI: true, stop: stopper.flag, progress: ProgressDisplay(mode: .silent)) { session in
                var passes = 0
                while !stopper.flag.isSet {
                    passes += 1
                    // A fresh runner per pass: fresh tally, fresh connections.
                    let outcome = await BridgeRunner(environment: session.environment).run(
                        options: RunOptions(feeds: feeds.isEmpty ? nil : feeds), command: "watch")
                    print(outcome.summary)
                    fflush(nil)
                    var waited = 0.0
                    while waited < pause, !stopper.flag.isSet {
                        try await Task.sleep(nanoseconds: 250_000_000)
                        waited += 0.25
                    }
                }
                logger.info("watch stopped", metadata: ["passes": "\(passes)"])
            }
        }
    }
}

/// `dqt-bridge migrate`: the ledger's schema.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply the ledger's pending schema migrations (every run also does this first).")

    @OptionGroup var options: RunConfigOptions

    func run() async throws {
        try await runReportingFailures {
            let ledger = try LedgerAccess.open(options)
            defer { ledger.close() }
            do {
                let applied = try await ledger.migrate()
                print(applied.isEmpty ? "ledger schema up to date" : "applied ledger migrations \(applied.map(String.init).joined(separator: ", "))")
            } catch {
                throw CommandFailure(message: "cannot migrate the ledger: \(error)", status: 2)
            }
        }
    }
}
