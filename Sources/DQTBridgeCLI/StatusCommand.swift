import ArgumentParser
import BridgeReport
import BridgeRun
import FeedMapping
import Foundation
import Ledger

/// The ledger for commands that only read it: through the configuration when its file exists, else straight from
/// $DQT_BRIDGE_DATABASE_URL.
enum LedgerAccess {
    static func open(_ options: RunConfigOptions) throws -> PostgresLedger {
        let variable: String
        if FileManager.default.fileExists(atPath: options.config) {
            variable = try options.load().databaseURLEnvironment
        } else {
            variable = "DQT_BRIDGE_DATABASE_URL"
        }
        guard let url = ProcessInfo.processInfo.environment[variable], !url.isEmpty else {
            throw CommandFailure(message: "the environment variable \(variable) (the ledger's database URL) is not set", status: 2)
        }
        return PostgresLedger(conninfo: url, maximumConnections: 2, reconnectAttempts: 1)
    }

    static func catalog(_ options: RunConfigOptions) -> FeedCatalog? {
        let folder = (try? options.load().mappings) ?? "mappings"
        return try? FeedCatalog.load(directory: folder, isolatingBroken: true)
    }
}

/// `dqt-bridge status`: what the ledger says.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract:
            "Recent runs, files by state per feed, each feed's last file, the outbound feeds' exports, the last retention and the notices not sent, from the ledger."
    )

    @OptionGroup var options: RunConfigOptions

    @Option(help: "How many recent runs to show.")
    var runs = 10

    @Option(help: "Judge expected arrivals as of this time (ISO 8601, e.g. 2026-12-05T10:00:00Z; default: now).")
    var at: String?

    func run() async throws {
        try await runReportingFailures {
            let ledger = try LedgerAccess.open(options)
            defer { ledger.close() }
            do {
                try await ledger.migrate()
                let recent = try await ledger.recentRuns(limit: runs)
                let counts = try await ledger.fileCountsByState()
                let last = try await ledger.lastFilePerFeed()
                let catalog = LedgerAccess.catalog(options)
                var exports: [(ExportFeedSummary, ExportWatermark?)] = []
                for summary in try await ledger.exportSummaries() {
                    exports.append((summary, try await ledger.watermark(feed: summary.feed)))
                }
                print(Self.render(runs: recent, counts: counts, last: last, catalog: catalog))
                print(Self.render(exports: exports, catalog: catalog))
                var retention: (runID: Int64, counts: [RetentionCount])?
                for run in recent where retention == nil {
                    let counts = try await ledger.retentionCounts(runID: run.id)
                    if !counts.isEmpty { retention = (run.id, counts) }
                }
                print(Self.render(retention: retention))
                print(Self.render(notices: try await ledger.notices(states: NoticeState.allCases.filter { $0 != .sent })))
                let now = try JudgedTime.parse(at)
                var arrivals: [ArrivalCheck] = []
                if let catalog { arrivals = try await ExpectedArrivals.check(catalog: catalog, ledger: ledger, at: now) }
                print(Self.render(arrivals: arrivals))
            } catch let failure as CommandFailure {
                throw failure
            } catch {
                throw CommandFailure(message: "cannot read the ledger: \(error)", status: 2)
            }
        }
    }

    static func render(runs: [RunRow], counts: [(feed: String, state: FileState, count: Int)], last: [FileRow], catalog: FeedCatalog?) -> String {
        let formatter = ISO8601DateFormatter()
        var lines = ["Recent runs:"]
        if runs.isEmpty { lines.append("  none yet") }
        for run in runs {
            let duration = run.finishedAt.map { String(format: "%.1f s", $0.timeIntervalSince(run.startedAt)) } ?? "-"
            lines.append(
                "  \(pad("\(run.id)", 6))\(pad(run.command, 8))\(pad(run.status.rawValue, 12))exit \(pad(run.exitStatus.map(String.init) ?? "-", 3))\(formatter.string(from: run.startedAt))  \(pad(duration, 9))\(run.host) pid \(run.pid)"
            )
            if let error = run.error, run.status != .succeeded { lines.append("        \(error.prefix(160))") }
        }
        lines.append("")
        lines.append("Files by state:")
        var byFeed: [String: [(FileState, Int)]] = [:]
        for entry in counts { byFeed[entry.feed, default: []].append((entry.state, entry.count)) }
        if byFeed.isEmpty { lines.append("  none yet") }
        for feed in byFeed.keys.sorted() {
            let status = catalog?.feed(id: feed).map { " (\($0.status.rawValue))" } ?? ""
            lines.append("  \(pad(feed + status, 32))" + byFeed[feed]!.map { "\($0.0.rawValue) \($0.1)" }.joined(separator: ", "))
        }
        if let broken = catalog?.broken, !broken.isEmpty {
            lines.append("")
            lines.append("Feeds held back (their mapping does not load; fix it, `dqt-bridge mappings lint` names each mistake):")
            for mapping in broken { lines.append("  \(pad(mapping.feed, 22))held back: \(mapping.summary)") }
        }
        lines.append("")
        lines.append("Each feed's last file:")
        if last.isEmpty { lines.append("  none yet") }
        for file in last {
            lines.append(
                "  \(pad(file.feed, 22))file \(pad("\(file.id)", 6))\(pad(file.state.rawValue, 12))\(formatter.string(from: file.updatedAt))  \(file.name)"
            )
        }
        return lines.joined(separator: "\n")
    }

    /// Each outbound feed's exports: delivered and pending counts, the last delivered file and the watermark.
    static func render(exports: [(ExportFeedSummary, ExportWatermark?)], catalog: FeedCatalog?) -> String {
        let formatter = ISO8601DateFormatter()
        var lines = ["", "Exports:"]
        if exports.isEmpty { lines.append("  none yet") }
        for (summary, watermark) in exports {
            let status = catalog?.outboundFeed(id: summary.feed).map { " (\($0.status.rawValue))" } ?? ""
            let last =
                summary.lastDelivered.map { export in
                    "last export \(export.id) \(export.fileName) \(export.deliveredAt.map { formatter.string(from: $0) } ?? "")"
                } ?? "none delivered"
            lines.append(
                "  \(pad(summary.feed + status, 32))delivered \(pad("\(summary.delivered)", 5))pending \(pad("\(summary.pending)", 3))\(last); "
                    + "watermark \(watermark?.cursor ?? "start")")
        }
        return lines.joined(separator: "\n")
    }

    /// What the latest run that applied retention removed, per class.
    static func render(retention: (runID: Int64, counts: [RetentionCount])?) -> String {
        guard let retention else { return "\nRetention: not applied by the recent runs" }
        return (["", "Retention (run \(retention.runID)):"] + retention.counts.map { "  " + RunTally.retentionLine($0) }).joined(separator: "\n")
    }

    /// The notices not sent yet, by state; those an operator must settle (held, refused, given up) by name.
    static func render(notices: [NoticeRow]) -> String {
        guard !notices.isEmpty else { return "\nNotices: none waiting (all sent)" }
        let counts = Dictionary(grouping: notices, by: \.state).map { "\($0.value.count) \($0.key.rawValue)" }.sorted()
        var lines = ["", "Notices: \(counts.joined(separator: ", ")) (dqt-bridge notices)"]
        for notice in notices where [.held, .refused, .givenUp].contains(notice.state) {
            lines.append("  \(notice.entry): \(notice.state.rawValue), needs an operator (dqt-bridge notices resolve)")
        }
        return lines.joined(separator: "\n")
    }

    /// Each polled feed with a `due:`: on time, arrived late, or LATE (not arrived by its deadline).
    static func render(arrivals: [ArrivalCheck]) -> String {
        var lines = ["", "Expected arrivals (Europe/London time):"]
        if arrivals.isEmpty { lines.append("  no polled feed declares due:") }
        for check in arrivals { lines.append("  \(pad(check.feed, 22))\(check.summary)") }
        return lines.joined(separator: "\n")
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}

/// `dqt-bridge report RUN`: a run's report as HTML and JSON.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a run's report (files, counts, refused rows with reasons) as HTML and JSON.")

    @OptionGroup var options: RunConfigOptions

    @Argument(help: "The run's id (see dqt-bridge status); 'last' for the latest run.")
    var run: String

    @Option(help: "The folder to write run-<id>.html and run-<id>.json in (default: the configuration's reportsFolder, else out/reports).")
    var out: String?

    func run() async throws {
        try await runReportingFailures {
            let ledger = try LedgerAccess.open(options)
            defer { ledger.close() }
            let folder = out ?? (try? options.load().reportsFolder) ?? "out/reports"
            do {
                try await ledger.migrate()
                let id: Int64
                if run == "last" {
                    guard let latest = try await ledger.recentRuns(limit: 1).first else {
                        throw CommandFailure(message: "the ledger has no run yet", status: 2)
                    }
                    id = latest.id
                } else {
                    guard let parsed = Int64(run) else { throw CommandFailure(message: "RUN must be a run id or 'last'", status: 2) }
                    id = parsed
                }
                let report = try await RunReportBuilder(ledger: ledger, catalog: LedgerAccess.catalog(options)).build(runID: id)
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                let paths = try report.write(folder: folder)
                if let summary = report.summary { print(summary) }
                for path in paths { print("wrote \(path)") }
            } catch let failure as CommandFailure {
                throw failure
            } catch let error as RunReportBuilder.NoSuchRun {
                throw CommandFailure(message: error.description, status: 2)
            } catch {
                throw CommandFailure(message: "cannot write the report: \(error)", status: 2)
            }
        }
    }
}
