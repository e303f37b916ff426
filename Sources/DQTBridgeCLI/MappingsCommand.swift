import ArgumentParser
import FeedMapping

/// `dqt-bridge mappings lint`: load and check every mapping and the estate inventory, reporting every mistake with
/// its file and line.
struct MappingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mappings", abstract: "Work with the feed mappings.", subcommands: [Lint.self, MappingsNewCommand.self]
    )

    struct Lint: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Check every mapping and the estate inventory (estate/inventory.yaml) against each other; exit 1 naming each mistake's file and line."
        )

        @OptionGroup var options: MappingOptions

        func run() throws {
            let catalog: FeedCatalog
            do {
                catalog = try FeedCatalog.load(directory: options.mappings, isolatingBroken: true)
            } catch {
                print(error)
                throw ExitCode(1)
            }
            var errors = catalog.broken.flatMap(\.errors)
            var inventory: EstateInventory?
            do {
                inventory = try EstateInventoryLoader.load(path: EstateInventory.path(inMappings: options.mappings))
                errors += EstateLint.check(inventory!, catalog: catalog, brokenFeeds: Set(catalog.broken.map(\.feed)))
            } catch {
                errors.append(error)
            }
            guard errors.isEmpty, let inventory else {
                for error in errors { print(error) }
                throw ExitCode(1)
            }
            let ids = catalog.feeds.map(\.id) + catalog.outboundFeeds.map(\.id)
            print(
                "\(ids.count) mappings OK (\(catalog.feeds.count) inbound, \(catalog.outboundFeeds.count) outbound): \(ids.joined(separator: ", "))"
            )
            var statuses: [String: FeedStatus] = [:]
            for feed in catalog.feeds { statuses[feed.id] = feed.status }
            for feed in catalog.outboundFeeds { statuses[feed.id] = feed.status }
            let progress = EstateProgress(inventory: inventory, statuses: statuses)
            print(
                "estate inventory OK: \(inventory.entries.count) entries on \(inventory.servers.count) servers, every legacy job and exchange covered; "
                    + "\(progress.entries.filter(\.done).count) done (dqt-bridge estate shows the rest)")
        }
    }
}
