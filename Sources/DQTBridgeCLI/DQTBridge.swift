import ArgumentParser
import Foundation

/// `dqt-bridge`: moves the legacy DQT file and email exchanges onto the DQT API.
@main
struct DQTBridge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dqt-bridge",
        abstract: "Moves the legacy DQT file and email exchanges onto the DQT API.",
        subcommands: [
            CheckCommand.self, FeedsCommand.self, MappingsCommand.self, RunCommand.self, WatchCommand.self, ReplayCommand.self, StatusCommand.self,
            ReportCommand.self, MigrateCommand.self, ExportCommand.self, ConfigCommand.self, RetentionCommand.self, EstateCommand.self,
            ParityCommand.self, NoticesCommand.self, ReconcileCommand.self,
        ]
    )

    /// A wrong call exits 2, as a refused file does (ArgumentParser's default would be 64).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// Where the feed mappings live.
struct MappingOptions: ParsableArguments {
    @Option(name: .long, help: "The folder of feed mappings (default: $DQT_BRIDGE_MAPPINGS, else ./mappings).")
    var mappings: String = ProcessInfo.processInfo.environment["DQT_BRIDGE_MAPPINGS"] ?? "mappings"
}

/// An error that ends the command with a message on standard error and a chosen exit status.
struct CommandFailure: Error, CustomStringConvertible {
    let message: String
    let status: Int32
    var description: String { message }
}

extension ParsableCommand {
    /// Prints `failure` to standard error and exits with its status.
    static func fail(_ failure: CommandFailure) -> Never {
        FileHandle.standardError.write(Data("dqt-bridge: \(failure.message)\n".utf8))
        Foundation.exit(failure.status)
    }
}
