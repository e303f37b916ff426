import ArgumentParser
import FeedMapping
import Foundation

/// `dqt-bridge feeds`: the feeds (`list`, the default) and their lifecycle moves (`promote`).
struct FeedsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feeds", abstract: "List the feeds; move one along its lifecycle.",
        subcommands: [FeedsListCommand.self, FeedsPromoteCommand.self], defaultSubcommand: FeedsListCommand.self)
}

/// `dqt-bridge feeds list`: every feed with its status and partner; an outbound feed's FILES is the name it writes,
/// after `out:`.
struct FeedsListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the feeds with their status and partner.")

    @OptionGroup var options: MappingOptions

    func run() throws {
        let catalog: FeedCatalog
        do {
            catalog = try FeedCatalog.load(directory: options.mappings)
        } catch {
            Self.fail(CommandFailure(message: "the mappings do not load:\n\(error)", status: 2))
        }
        let rows =
            [["FEED", "STATUS", "PARTNER", "FILES", "REPLACES"]]
            + catalog.feeds.map { feed in
                [feed.id, feed.status.rawValue, feed.partner, feed.filePatterns.joined(separator: " "), feed.replaces.joined(separator: " ")]
            }
            + catalog.outboundFeeds.map { feed in
                [feed.id, feed.status.rawValue, feed.partner, "out:" + feed.fileNamePattern, feed.replaces.joined(separator: " ")]
            }
        let widths = (0..<4).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            print((0..<4).map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ") + "  " + row[4])
        }
    }
}
