import ArgumentParser
import FeedMapping

/// `dqt-bridge mappings lint`: load and check every mapping, reporting every mistake with its file and line.
struct MappingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mappings", abstract: "Work with the feed mappings.", subcommands: [Lint.self, MappingsNewCommand.self]
    )

    struct Lint: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check every mapping; exit 1 naming each mistake's file and line.")

        @OptionGroup var options: MappingOptions

        func run() throws {
            do {
                let catalog = try FeedCatalog.load(directory: options.mappings)
                let ids = catalog.feeds.map(\.id) + catalog.outboundFeeds.map(\.id)
                print(
                    "\(ids.count) mappings OK (\(catalog.feeds.count) inbound, \(catalog.outboundFeeds.count) outbound): \(ids.joined(separator: ", "))"
                )
            } catch {
                print(error)
                throw ExitCode(1)
            }
        }
    }
}
