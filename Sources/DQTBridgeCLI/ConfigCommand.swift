import ArgumentParser
import BridgeRun

/// `dqt-bridge config check`: validates a configuration and what it names, touching neither the ledger nor the
/// network.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Check the run's configuration.", subcommands: [ConfigCheckCommand.self])
}

struct ConfigCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract:
            "Validate the configuration (unknown keys, values), its mappings, folders and key files; exit 0 when all is well, 2 naming each problem.")

    @OptionGroup var options: RunConfigOptions

    func run() throws {
        let configuration: RunConfiguration
        do {
            configuration = try options.load()
        } catch {
            Self.fail(CommandFailure(message: "\(error)", status: 2))
        }
        let problems = configuration.localProblems()
        guard problems.isEmpty else {
            Self.fail(CommandFailure(message: "\(options.config):\n" + problems.map { "  \($0)" }.joined(separator: "\n"), status: 2))
        }
        print("dqt-bridge config check: \(options.config) is valid")
    }
}
