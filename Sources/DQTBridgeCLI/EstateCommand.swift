import ArgumentParser
import BridgeReport
import BridgeRun
import DQTModel
import FeedMapping
import Foundation
import Ledger

/// `dqt-bridge estate`: what is left of the legacy estate, per server and per job or exchange.
struct EstateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "estate",
        abstract:
            "Per legacy server, the jobs and exchanges still on it and whether it can be switched off today; per job, its replacement and what is missing.",
        discussion: """
            Reads the estate inventory (<mappings>/estate/inventory.yaml), the mappings and the ledger. Prints a summary; \
            --html writes a self-contained page for the service owner, --json the same facts for tools. Exit 2 when the \
            inventory does not load or the ledger cannot be read.
            """)

    @OptionGroup var options: RunConfigOptions

    @Option(help: "Write the page for the service owner here (self-contained HTML).")
    var html: String?

    @Option(help: "Write the report as JSON here.")
    var json: String?

    @Option(help: "How many of each feed's last files its parity is shown over.")
    var parityFiles = 5

    @Option(help: "Judge expected arrivals as of this time (ISO 8601, e.g. 2026-12-05T10:00:00Z; default: now).")
    var at: String?

    func run() async throws {
        try await runReportingFailures {
            let now = try JudgedTime.parse(at)
            let mappings = (try? options.load().mappings) ?? "mappings"
            let catalog: FeedCatalog
            let inventory: EstateInventory
            do {
                catalog = try FeedCatalog.load(directory: mappings, isolatingBroken: true)
                inventory = try EstateInventoryLoader.load(path: EstateInventory.path(inMappings: mappings))
            } catch {
                throw CommandFailure(message: "\(error) (dqt-bridge mappings lint checks the inventory)", status: 2)
            }
            let ledger = try LedgerAccess.open(options)
            defer { ledger.close() }
            let report: EstateReport
            do {
                try await ledger.migrate()
                report = try await EstateReportBuilder(
                    inventory: inventory, catalog: catalog, ledger: ledger, parityFiles: parityFiles
                ).build(at: now)
            } catch {
                throw CommandFailure(message: "cannot read the ledger: \(error)", status: 2)
            }
            print(Self.summary(report))
            for (path, text) in [(html, report.html), (json, report.json.serialized + "\n")] {
                guard let path else { continue }
                do {
                    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
                } catch {
                    throw CommandFailure(message: "cannot write \(path): \(error.localizedDescription)", status: 2)
                }
                print("wrote \(path)")
            }
        }
    }

    static func summary(_ report: EstateReport) -> String {
        let progress = report.progress
        var lines = ["Servers:"]
        for server in progress.servers {
            let verdict =
                server.canSwitchOff
                ? "can be switched off today"
                : "not yet: \(server.blocking.count) of \(server.entries.count) jobs and exchanges on it not done"
            lines.append("  \(StatusCommand.pad(server.server.id, 9))\(verdict) (\(server.server.title))")
        }
        lines.append("Jobs and exchanges: \(progress.entries.filter(\.done).count) of \(progress.entries.count) done.")
        for entry in progress.entries where !entry.done {
            lines.append("  \(StatusCommand.pad(entry.entry.id, 44))\(entry.missing.joined(separator: "; "))")
        }
        lines.append("Files late: \(report.lateFeeds.isEmpty ? "none" : "")")
        for feed in report.lateFeeds { lines.append("  \(StatusCommand.pad(feed.id, 22))\(feed.arrival!.summary)") }
        return lines.joined(separator: "\n")
    }
}
