import BridgeReport
public import DQTModel
import FeedMapping
import FileSources
import Foundation
import Ledger
import Logging
import Publisher

/// What to replay: a file the ledger knows (by id) or a local file.
public struct ReplayRequest: Sendable {
    public var fileID: Int64?
    public var path: String?
    public var feed: String?
    public var dryRun: Bool
    public var today: LocalDate?

    public init(fileID: Int64? = nil, path: String? = nil, feed: String? = nil, dryRun: Bool = false, today: LocalDate? = nil) {
        self.fileID = fileID
        self.path = path
        self.feed = feed
        self.dryRun = dryRun
        self.today = today
    }
}

/// Counts a dry run's records and collects their keys.
private struct KeyCollector: CheckSink {
    var keys: [String] = []
    var wantsCalls: Bool { true }
    var wantsRejectedValues: Bool { false }
    var unmasked: Bool { false }
    mutating func accepted(_ call: PlannedCall) throws { keys.append(call.key) }
    mutating func rejected(_ row: RejectedRow) throws {}
}

extension BridgeRunner {
    /// Replays a file through the same check and publisher as a run. Its records get the same idempotency keys as the
    /// first time (they depend on the feed, the file's content and the line only), so the API returns its stored
    /// results for everything already applied: a replay never applies a record twice. A dry run only checks and
    /// says what would be sent; it writes nothing.
    public func replay(_ request: ReplayRequest) async -> RunOutcome {
        let started = ContinuousClock.now
        let context = RunContext(environment: environment, today: request.today)
        let ledger = environment.ledger
        func failed(_ message: String, status: Int32 = 2) -> RunOutcome {
            RunOutcome(
                runID: context.runID > 0 ? context.runID : nil, exitStatus: status, summary: "dqt-bridge replay: \(message)",
                tally: context.tally, lockHeldElsewhere: false)
        }
        do {
            try await ledger.migrate()
        } catch {
            return failed("the ledger database cannot be used: \(error)")
        }
        // What to replay.
        var original: FileRow?
        if let id = request.fileID {
            do {
                original = try await ledger.file(id: id)
            } catch {
                return failed("cannot read the ledger: \(error)")
            }
            guard original != nil else { return failed("the ledger has no file \(id)") }
        }
        let feedID =
            request.feed ?? original.flatMap { MailDropRoute(ledgerFeedName: $0.feed) == nil ? $0.feed : nil }
            ?? request.path.flatMap { path in
                let matches = environment.catalog.feeds(matching: path)
                return matches.count == 1 ? matches[0].id : nil
            }
        guard let feedID, let feed = environment.catalog.feed(id: feedID) else {
            return failed("name the feed with --feed (it cannot be found from the file)")
        }
        context.polledFeeds = [feed]

        // The content, into a scratch file first.
        let scratch = joinPath(context.workFolder, "replay-\(UUID().uuidString.prefix(8)).dat")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let name: String
        let fetched: FetchedFile
        do {
            if let path = request.path {
                let absolute = path.hasPrefix("/") ? path : joinPath(FileManager.default.currentDirectoryPath, path)
                environment.progress.start("reading \((path as NSString).lastPathComponent)", total: nil)
                let progress = environment.progress
                fetched = try await FolderSource(root: "/").fetch(absolute, to: scratch) { done, total in
                    progress.update(done, total: total, unit: .bytes)
                }
                environment.progress.finish()
                name = (path as NSString).lastPathComponent
            } else {
                let row = original!
                fetched = try await fetchOriginal(row, to: scratch, context: context)
                name = row.name
            }
        } catch {
            environment.progress.finish()
            return failed("cannot read the file to replay: \(error)")
        }
        if let row = original, let sha = row.sha256, sha != fetched.sha256 {
            return failed("the content found for file \(row.id) has SHA-256 \(fetched.sha256), not \(sha) as recorded: not replayed")
        }

        if request.dryRun {
            return await dryRun(feed: feed, path: scratch, name: name, sha256: fetched.sha256, context: context)
        }

        // A real replay takes the lock like a run.
        do {
            guard let lock = try await ledger.acquireRunLock() else {
                return failed("another run holds the lock; try again when it has finished", status: 3)
            }
            context.lock = lock
        } catch {
            return failed("the ledger database cannot be used: \(error)")
        }
        do {
            context.runID = try await ledger.startRun(
                command: "replay", host: ProcessInfo.processInfo.hostName, pid: Int(getpid()), feeds: [feed.id])
            context.logger[metadataKey: "run"] = "\(context.runID)"
            let earlier = try await ledger.latestFile(feed: feed.id, sha256: fetched.sha256)
            let replayOf = original?.id ?? earlier?.id
            var row = try await ledger.discover(
                runID: context.runID, feed: feed.id, origin: .replay, transport: SourceKind.folder.rawValue,
                path: request.path ?? "ledger file \(original!.id)",
                name: name, size: fetched.bytes, mtime: nil,
                reason: replayOf.map { "replay of file \($0)" } ?? "replay of a file the ledger has not seen", replayOf: replayOf)
            let local = context.localPath(fileID: row.id)
            try FileManager.default.createDirectory(atPath: parentFolder(local), withIntermediateDirectories: true)
            try? FileManager.default.removeItem(atPath: local)
            try FileManager.default.moveItem(atPath: scratch, toPath: local)
            try await ledger.setDownloaded(id: row.id, runID: context.runID, sha256: fetched.sha256, size: fetched.bytes, localPath: local)
            row.state = .downloaded
            row.sha256 = fetched.sha256
            row.localPath = local
            context.logger.info(
                "replaying a file", metadata: ["file_id": "\(row.id)", "replay_of": "\(replayOf.map(String.init) ?? "none")", "feed": "\(feed.id)"])
            try await FileStateMachine(context: context).advance(row, rawPath: nil)
        } catch {
            context.tally.fatal = "\(error)"
        }
        let seconds = Self.seconds(since: started)
        let runID = context.runID
        let tally = context.tally
        let summary = tally.summary(runID: runID, seconds: seconds, command: "replay")
        try? await ledger.finishRun(
            id: runID, status: tally.status, exitStatus: tally.exitStatus, countsJSON: tally.json, summary: summary,
            error: tally.fatal ?? tally.failures.first)
        await context.lock?.release()
        await context.closeSources()
        return RunOutcome(runID: runID, exitStatus: tally.exitStatus, summary: summary, tally: tally, lockHeldElsewhere: false)
    }

    /// Fetches a ledger file's content: the work copy, else the archived copy, else the copy still in the pickup folder.
    func fetchOriginal(_ row: FileRow, to scratch: String, context: RunContext) async throws -> FetchedFile {
        if let local = row.localPath, FileManager.default.fileExists(atPath: local) {
            return try await FolderSource(root: "/").fetch(local, to: scratch, progress: nil)
        }
        let source = try context.source(row.sourceKind)
        let progress = environment.progress
        var candidates: [String] = []
        if let archive = row.archivePath, row.archivedAt != nil { candidates.append(archive) }
        candidates.append(row.sourcePath)
        for path in candidates where try await source.stat(path) != nil {
            progress.start("fetching \(row.name)", total: row.size)
            defer { progress.finish() }
            return try await source.fetch(path, to: scratch) { done, total in progress.update(done, total: total, unit: .bytes) }
        }
        throw FileSourceError.notFound(
            "file \(row.id)'s content is neither archived (\(row.archivePath ?? "no archive path")) nor at \(row.sourcePath); pass the file itself")
    }

    func dryRun(feed: FeedDefinition, path: String, name: String, sha256: String, context: RunContext) async -> RunOutcome {
        var sink = KeyCollector()
        let parts = path + ".parts"
        defer { try? FileManager.default.removeItem(atPath: parts) }
        let input: CheckInput =
            feed.email == nil
            ? .file(path: path) : .email(await MailIntake.readOffPool(emlPath: path, into: parts, pinned: feed.email?.trust.smimeCertificates ?? []))
        let result = FeedChecker(feed: feed, context: context.checkContext).check(input, name: name, sha256: sha256, sink: &sink)
        let known = (try? await context.ledger.outcomes(feed: feed.id, sha256: sha256)) ?? [:]
        let acknowledged = sink.keys.filter { key in known[key] == .published || known[key] == .failed }.count
        var lines = ["dqt-bridge replay (dry run) of \(name) as feed \(feed.id) (\(feed.status.rawValue)): sha256 \(sha256)"]
        lines.append("  rows \(result.rowsRead), accepted \(result.accepted), rejected \(result.rejected)")
        if let refusal = result.refusal {
            lines.append("  the whole file would be refused: \(refusal.code): \(refusal.message)")
        } else if !RunContext.publishes(feed) {
            lines.append("  shadow feed: nothing would be published")
        } else {
            lines.append(
                "  \(acknowledged) of \(sink.keys.count) records already acknowledged by the API (same keys: the API returns its stored results for them)"
            )
            lines.append("  \(sink.keys.count - acknowledged) records would be applied for the first time")
        }
        lines.append("  nothing was sent and nothing was written")
        return RunOutcome(
            runID: nil, exitStatus: result.refusal != nil ? 2 : (result.rejected > 0 ? 1 : 0), summary: lines.joined(separator: "\n"),
            tally: context.tally, lockHeldElsewhere: false)
    }
}
