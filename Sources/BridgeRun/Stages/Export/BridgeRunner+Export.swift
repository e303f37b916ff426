import FeedMapping
import FileSources
import Foundation
import Ledger

/// What `dqt-bridge export` is asked to do.
public struct ExportRequest: Sendable {
    /// Only these outbound feeds, now (empty: every live or shadow feed whose schedule is due).
    public var feeds: [String]
    /// Write what the next export of each feed would hold into `outFolder`; plan, record and deliver nothing.
    public var dryRun: Bool
    /// For a dry run: where the files go; for a resend: deliver into this folder instead of the feed's destination.
    public var outFolder: String?
    /// Deliver this delivered export's bytes again, under its name.
    public var resend: Int64?

    public init(feeds: [String] = [], dryRun: Bool = false, outFolder: String? = nil, resend: Int64? = nil) {
        self.feeds = feeds
        self.dryRun = dryRun
        self.outFolder = outFolder
        self.resend = resend
    }
}

extension BridgeRunner {
    /// One export pass under the run lock, as its own run row (`command` "export"): the ``ExportStage`` alone.
    public func export(_ request: ExportRequest) async -> RunOutcome {
        let started = ContinuousClock.now
        let context = RunContext(environment: environment)
        let catalog = environment.catalog
        let unknown = request.feeds.filter { catalog.outboundFeed(id: $0) == nil }
        if !unknown.isEmpty {
            let known = catalog.outboundFeeds.map(\.id).joined(separator: ", ")
            return RunOutcome(
                runID: nil, exitStatus: 2,
                summary: "dqt-bridge export: no outbound feed \(unknown.joined(separator: ", ")); outbound feeds: \(known)",
                tally: context.tally, lockHeldElsewhere: false)
        }
        let notRun = request.feeds.compactMap { catalog.outboundFeed(id: $0) }.filter { $0.status != .live && $0.status != .shadow }
        if !request.dryRun, let feed = notRun.first {
            return RunOutcome(
                runID: nil, exitStatus: 2,
                summary: "dqt-bridge export: feed \(feed.id) is \(feed.status.rawValue): only live and shadow feeds are exported",
                tally: context.tally, lockHeldElsewhere: false)
        }
        if request.dryRun { return await dryRun(request, context: context) }
        let selection: ExportStage.Selection
        if let id = request.resend {
            selection = .resend(exportID: id, folder: request.outFolder)
        } else {
            selection = request.feeds.isEmpty ? .due : .feeds(request.feeds)
        }
        return await pass(
            context, command: "export", feedNames: request.feeds, stages: [ExportStage(selection: selection), NoticeStage()], started: started)
    }

    /// Writes what each feed's next export would hold (from its watermark to what is there now) into the out folder,
    /// under the name it would get; records nothing and delivers nothing.
    private func dryRun(_ request: ExportRequest, context: RunContext) async -> RunOutcome {
        let ledger = environment.ledger
        let folder = request.outFolder ?? joinPath(context.workFolder, "dry-run")
        let feeds =
            request.feeds.isEmpty
            ? environment.catalog.outboundFeeds.filter { $0.status == .live || $0.status == .shadow }
            : request.feeds.compactMap { environment.catalog.outboundFeed(id: $0) }
        var lines: [String] = []
        var status: Int32 = 0
        do {
            try await ledger.migrate()
        } catch {
            return RunOutcome(
                runID: nil, exitStatus: 2, summary: "dqt-bridge export: the ledger database cannot be used: \(error)", tally: context.tally,
                lockHeldElsewhere: false)
        }
        for feed in feeds {
            do {
                let input = ExportInput(feed: feed, ledger: ledger, changeFeed: environment.changeFeed)
                let range = try await input.nextRange(after: try await ledger.watermark(feed: feed.id)?.cursor)
                if range.isEmpty && feed.emptyFile == .skip {
                    lines.append("  \(feed.id): nothing new after \(range.after ?? "the start")")
                    continue
                }
                let name = feed.fileName(at: Date())
                let path = joinPath(folder, name)
                let written = try await ExportFile.write(input, range: range, to: path)
                lines.append("  \(feed.id): \(path) \(range), \(written.records) records, \(written.size) bytes, SHA-256 \(written.sha256)")
            } catch {
                status = 2
                lines.append("  \(feed.id): FAILED: \(error)")
            }
        }
        let summary = (["dqt-bridge export --dry-run: nothing planned, recorded or delivered"] + (lines.isEmpty ? ["  no feed"] : lines))
            .joined(separator: "\n")
        return RunOutcome(runID: nil, exitStatus: status, summary: summary, tally: context.tally, lockHeldElsewhere: false)
    }
}
