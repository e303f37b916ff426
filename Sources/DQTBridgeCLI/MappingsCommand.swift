import ArgumentParser
import FeedMapping

/// `dqt-bridge mappings lint`: load and check every mapping, reporting every mistake with its file and line.
struct MappingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mappings", abstract: "Work with the feed mappings.", subcommands: [Lint.self]
    )

    struct Lint: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check every mapping; exit 1 naming each mistake's file and line.")

        @OptionGroup var options: MappingOptions

        func run() throws {
            do {
                let catalog = try FeedCatalog.load(directory: options.mappings)
                print("\(catalog.feeds.count) mappings OK: \(catalog.feeds.map(\.id).joined(separator: ", "))")
            } catch {
                print(error)
                throw ExitCode(1)
            }
        }
    }
}
