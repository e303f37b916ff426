import BridgeReport
import DQTModel
import FeedMapping
import FileSources
import Foundation
import Ledger
import Logging
import Publisher

/// Options of one pass.
public struct RunOptions: Sendable {
    /// Only these feeds (nil: every polled feed).
    public var feeds: [String]?
    /// Judge dates as of this day (default: today).
    public var today: LocalDate?
    public init(feeds: [String]? = nil, today: LocalDate? = nil) {
        self.feeds = feeds
        self.today = today
    }
}

/// The result of one pass.
public struct RunOutcome: Sendable {
    public let runID: Int64?
    public let exitStatus: Int32
    public let summary: String
    public let tally: RunTally
    /// True when another run held the lock and this one did nothing.
    public let lockHeldElsewhere: Bool
}

/// What the runner needs from outside: configuration, catalog, ledger, how to reach the API and the sources.
public struct RunEnvironment: Sendable {
    public let configuration: RunConfiguration
    public let catalog: FeedCatalog
    public let ledger: any LedgerStore
    public let transport: any BatchTransport
    public let logger: Logger
    public let metrics: RunMetrics
    public let progress: ProgressDisplay
    public let stop: StopFlag
    /// Makes the source named `sftp` or `folder`.
    public let makeSource: @Sendable (String) throws -> any FileSource

    public init(
        configuration: RunConfiguration, catalog: FeedCatalog, ledger: any LedgerStore, transport: any BatchTransport, logger: Logger,
        metrics: RunMetrics = RunMetrics(), progress: ProgressDisplay = ProgressDisplay(mode: .silent), stop: StopFlag = StopFlag(),
        makeSource: @escaping @Sendable (String) throws -> any FileSource
    ) {
        self.configuration = configuration
        self.catalog = catalog
        self.ledger = ledger
        self.transport = transport
        self.logger = logger
        self.metrics = metrics
        self.progress = progress
        self.stop = stop
        self.makeSource = makeSource
    }
}

/// An error that stops the whole run (a refused host key, the lock lost, the ledger gone).
struct FatalRunError: Error, CustomStringConvertible {
    let description: String
}

/// One pass of the unattended run: take the lock, resume what an earlier run left unfinished, poll every polled
/// feed's pickup folder, take stable files, fetch, deduplicate, check into the ledger, publish (live feeds), archive,
/// and report. Every state is written to the ledger before the step that leaves it, so a crash anywhere leaves a
/// state the next pass resumes from without anyone's help.
public final class BridgeRunner {
    let environment: RunEnvironment
    var configuration: RunConfiguration { environment.configuration }
    var ledger: any LedgerStore { environment.ledger }
    var logger: Logger
    var metrics: RunMetrics { environment.metrics }

    var runID: Int64 = 0
    var tally = RunTally()
    var sources: [String: any FileSource] = [:]
    var polledFeeds: [FeedDefinition] = []
    var apiAvailable = true
    var context: CheckContext
    var lock: (any RunLock)?

    public init(environment: RunEnvironment) {
        self.environment = environment
        self.logger = environment.logger
        self.context = CheckContext(today: LocalDate.today())
    }

    // MARK: The pass

    public func run(options: RunOptions = RunOptions(), command: String = "run") async -> RunOutcome {
        let started = ContinuousClock.now
        if let today = options.today { context = CheckContext(today: today) }
        // Which feeds.
        var feeds = environment.catalog.feeds.filter { $0.status.isPolled }
        if let wanted = options.feeds, !wanted.isEmpty {
            let unknown = wanted.filter { environment.catalog.feed(id: $0) == nil }
            if !unknown.isEmpty {
                let message = "no feed \(unknown.joined(separator: ", ")); feeds: \(environment.catalog.feeds.map(\.id).joined(separator: ", "))"
                return RunOutcome(runID: nil, exitStatus: 2, summary: "dqt-bridge \(command): \(message)", tally: tally, lockHeldElsewhere: false)
            }
            for id in wanted {
                if let feed = environment.catalog.feed(id: id), !feed.status.isPolled {
                    logger.warning("feed is not polled in its lifecycle status", metadata: ["feed": "\(id)", "status": "\(feed.status.rawValue)"])
                }
            }
            feeds = feeds.filter { wanted.contains($0.id) }
        }
        polledFeeds = feeds

        do {
            try await ledger.migrate()
            guard let lock = try await ledger.acquireRunLock() else {
                let holder = try? await ledger.runningRun()
                let who = holder.map { "run \($0.id) (\($0.command) on \($0.host), pid \($0.pid), started \($0.startedAt))" } ?? "another run"
                let message = "dqt-bridge \(command): \(who) holds the lock; nothing to do"
                logger.info("another run holds the lock", metadata: ["holder": "\(holder.map { String($0.id) } ?? "unknown")"])
                return RunOutcome(runID: nil, exitStatus: 0, summary: message, tally: tally, lockHeldElsewhere: true)
            }
            self.lock = lock
        } catch {
            let message = "dqt-bridge \(command): the ledger database cannot be used: \(error)"
            logger.error("ledger unavailable", metadata: ["error": "\(error)"])
            return RunOutcome(runID: nil, exitStatus: 2, summary: message, tally: tally, lockHeldElsewhere: false)
        }

        do {
            runID = try await ledger.startRun(
                command: command, host: ProcessInfo.processInfo.hostName, pid: Int(getpid()), feeds: polledFeeds.map(\.id))
            logger[metadataKey: "run"] = "\(runID)"
            tally.interruptedRuns = try await ledger.markInterruptedRuns(exceptRun: runID)
            logger.info("run started", metadata: [
                "feeds": .array(polledFeeds.map { .string($0.id) }),
                "resuming_after": .array(tally.interruptedRuns.map { .string(String($0)) }),
            ])
            try await pass()
        } catch let error as FatalRunError {
            tally.fatal = error.description
            logger.error("run stopped", metadata: ["error": "\(error.description)"])
        } catch {
            tally.fatal = "\(error)"
            logger.error("run stopped", metadata: ["error": "\(error)"])
        }

        for source in sources.values { await source.close() }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let summary = runID > 0 ? tally.summary(runID: runID, seconds: seconds, command: command) : "dqt-bridge \(command): \(tally.fatal ?? "failed")"
        if runID > 0 {
            FailPoint.hit("run-finishing")
            do {
                try await ledger.finishRun(
                    id: runID, status: tally.status, exitStatus: tally.exitStatus, countsJSON: tally.json, summary: summary,
                    error: tally.fatal ?? tally.failures.first)
            } catch {
                logger.error("cannot record the run's end in the ledger", metadata: ["error": "\(error)"])
            }
        }
        await writeMetrics(seconds: seconds)
        await writeReports()
        await lock?.release()
        logger.info("run finished", metadata: ["exit_status": "\(tally.exitStatus)", "seconds": "\(String(format: "%.2f", seconds))"])
        return RunOutcome(runID: runID > 0 ? runID : nil, exitStatus: tally.exitStatus, summary: summary, tally: tally, lockHeldElsewhere: false)
    }

    func pass() async throws {
        removeLeftovers()
        // 1. Resume what earlier runs left unfinished (crash, API down, lost connection).
        let polledIDs = Set(polledFeeds.map(\.id))
        for file in try await ledger.unfinishedFiles(feeds: nil) {
            guard !environment.stop.isSet else { tally.stoppedBySignal = true; return }
            guard polledIDs.contains(file.feed) || (file.origin == .mail && file.feed.hasPrefix("mail:") && !emailFeeds.isEmpty) else { continue }
            guard file.origin != .replay else { continue }
            try await lock?.verify()
            logger.info("resuming a file", metadata: ["file_id": "\(file.id)", "feed": "\(file.feed)", "state": "\(file.state.rawValue)"])
            try await advance(file, rawPath: nil)
        }
        // 2. Poll the pickup folders.
        for group in folderGroups() {
            guard !environment.stop.isSet else { tally.stoppedBySignal = true; return }
            try await lock?.verify()
            do {
                try await poll(group, secondListing: false)
            } catch let error as FileSourceError where !error.isFatal {
                tally.failures.append("\(group.sourceName) \(group.folder): \(error)")
                logger.error("cannot poll a folder", metadata: ["source": "\(group.sourceName)", "folder": "\(group.folder)", "error": "\(error)"])
            } catch let error as FileSourceError {
                throw FatalRunError(description: "\(group.sourceName) source: \(error)")
            }
        }
    }

    var emailFeeds: [FeedDefinition] { polledFeeds.filter { $0.email != nil } }

    // MARK: Folders

    struct FolderGroup {
        let sourceName: String
        let folder: String
        /// Feeds whose files are picked up here (flat-file feeds), or the email feeds a mail drop routes to.
        let feeds: [FeedDefinition]
        let isMailDrop: Bool
        /// The ledger's feed name for files here before they are routed (mail drops only).
        var pseudoFeed: String { "mail:\(sourceName):\(folder)" }
    }

    func folderGroups() -> [FolderGroup] {
        var groups: [FolderGroup] = []
        var index: [String: Int] = [:]
        for feed in polledFeeds where feed.email == nil {
            guard let folder = configuration.folder(for: feed) else {
                logger.warning("feed has no pickup folder; not polled", metadata: ["feed": "\(feed.id)"])
                continue
            }
            let source = configuration.sourceName(for: feed.id)
            let key = "\(source)|\(folder)"
            if let at = index[key] {
                groups[at] = FolderGroup(sourceName: source, folder: folder, feeds: groups[at].feeds + [feed], isMailDrop: false)
            } else {
                index[key] = groups.count
                groups.append(FolderGroup(sourceName: source, folder: folder, feeds: [feed], isMailDrop: false))
            }
        }
        let mail = emailFeeds
        guard !mail.isEmpty else { return groups }
        var drops: [(String, String)] = []
        for feed in mail {
            if let folder = configuration.folder(for: feed) { drops.append((configuration.sourceName(for: feed.id), folder)) }
        }
        for drop in configuration.mailDrops {
            drops.append((drop.source ?? configuration.defaultSource ?? (configuration.sftp != nil ? "sftp" : "folder"), drop.folder))
        }
        var seen = Set<String>()
        for (source, folder) in drops where seen.insert("\(source)|\(folder)").inserted {
            groups.append(FolderGroup(sourceName: source, folder: folder, feeds: mail, isMailDrop: true))
        }
        return groups
    }

    func source(_ name: String) throws -> any FileSource {
        if let existing = sources[name] { return existing }
        do {
            let made = try environment.makeSource(name)
            sources[name] = made
            return made
        } catch {
            throw FatalRunError(description: "the \(name) source cannot be set up: \(error)")
        }
    }

    func poll(_ group: FolderGroup, secondListing: Bool) async throws {
        let source = try source(group.sourceName)
        let listing = try await metrics.time("list") { try await source.list(folder: group.folder) }
        FailPoint.hit("listed")
        let names = Set(listing.map(\.name))
        let markerSuffixes = Set(group.feeds.compactMap { configuration.stabilityRule(for: $0).doneMarkerSuffix })
        var waitFor: Double = 0
        logger.debug("listed a folder", metadata: ["folder": "\(group.folder)", "files": "\(listing.count)"])

        for file in listing {
            guard !environment.stop.isSet else { tally.stoppedBySignal = true; return }
            if file.name.hasPrefix(".") { continue }  // temporary uploads and our own scratch names
            if markerSuffixes.contains(where: { file.name.hasSuffix($0) && names.contains(String(file.name.dropLast($0.count))) }) { continue }
            let unsafe = FileNameSafety.problem(file.name)
            let matching: [FeedDefinition]
            if group.isMailDrop {
                matching = file.name.lowercased().hasSuffix(".eml") ? group.feeds : []
            } else {
                matching = group.feeds.filter { feed in feed.filePatterns.contains { FileNamePattern.matches($0, name: file.name) } }
            }
            if unsafe == nil && matching.isEmpty { continue }  // not a file of these feeds
            let ledgerFeed = group.isMailDrop ? group.pseudoFeed : (matching.first ?? group.feeds[0]).id
            let printablePath = FileNameSafety.printable(file.path)
            let origin: FileOrigin = group.isMailDrop ? .mail : (group.sourceName == "sftp" ? .sftp : .folder)

            // A file the ledger already took (left in place by a shadow feed, or being resumed) is not taken again.
            let knownFeeds = group.isMailDrop ? [group.pseudoFeed] + group.feeds.map(\.id) : [ledgerFeed]
            if try await ledger.takenFile(feeds: knownFeeds, path: printablePath, size: file.size, mtime: file.mtime) != nil {
                continue
            }
            if !group.isMailDrop, matching.count > 1, unsafe == nil {
                let reason = "the name matches several feeds (\(matching.map(\.id).joined(separator: ", "))): narrow their file patterns"
                try await leave(file, feed: ledgerFeed, origin: origin, transport: source.transport, reason: reason)
                continue
            }
            let rule = group.isMailDrop
                ? StabilityRule(
                    stableSeconds: group.feeds.map { configuration.stabilityRule(for: $0).stableSeconds }.max() ?? 30,
                    minimumAgeSeconds: group.feeds.map { configuration.stabilityRule(for: $0).minimumAgeSeconds }.max() ?? 60,
                    doneMarkerSuffix: nil)
                : configuration.stabilityRule(for: matching.first ?? group.feeds[0])
            let now = Date()
            let observation = try await ledger.observe(feed: ledgerFeed, path: printablePath, size: file.size, mtime: file.mtime, now: now)
            let marker = rule.doneMarkerSuffix.map { names.contains(file.name + $0) } ?? false
            switch Stability.judge(file, unchangedSince: observation.firstSeen, now: now, markerPresent: marker, rule: rule) {
            case .leave(let reason, let readyIn):
                try await ledger.noteDecision(feed: ledgerFeed, path: printablePath, decision: "left: \(reason)")
                try await leave(file, feed: ledgerFeed, origin: origin, transport: source.transport, reason: reason)
                if let readyIn, readyIn <= configuration.stabilityWaitSeconds { waitFor = max(waitFor, readyIn) }
            case .take(let reason):
                try await ledger.noteDecision(feed: ledgerFeed, path: printablePath, decision: "taken: \(reason)")
                tally.left[printablePath] = nil
                try await lock?.verify()
                if let unsafe {
                    try await quarantineUnsafe(file, feed: ledgerFeed, origin: origin, source: source, problem: unsafe)
                    continue
                }
                let row = try await ledger.discover(
                    runID: runID, feed: ledgerFeed, origin: origin, transport: source.transport, path: file.path, name: file.name,
                    size: file.size, mtime: file.mtime, reason: reason)
                FailPoint.hit("discovered")
                logger.info("taking a file", metadata: [
                    "file_id": "\(row.id)", "feed": "\(ledgerFeed)", "file": "\(file.name)", "bytes": "\(file.size)", "why": "\(reason)",
                ])
                try await advance(row, rawPath: file.path)
            }
        }
        if !secondListing, waitFor > 0, !environment.stop.isSet {
            logger.info("waiting for a second listing of files not yet stable", metadata: ["folder": "\(group.folder)", "seconds": "\(Int(waitFor.rounded(.up)))"])
            try await Task.sleep(nanoseconds: UInt64((waitFor + 0.2) * 1e9))
            try await poll(group, secondListing: true)
        }
    }

    func leave(_ file: RemoteFile, feed: String, origin: FileOrigin, transport: String, reason: String) async throws {
        let path = FileNameSafety.printable(file.path)
        try await ledger.recordLeft(
            runID: runID, feed: feed, origin: origin, transport: transport, path: path, name: FileNameSafety.printable(file.name),
            size: file.size, mtime: file.mtime, reason: reason)
        if tally.left[path] == nil { metrics.increment("dqt_bridge_files_total", ["feed": feed, "state": "left"]) }
        tally.left[path] = (feed, reason)
        logger.info("leaving a file for a later run", metadata: ["feed": "\(feed)", "file": "\(FileNameSafety.printable(file.name))", "why": "\(reason)"])
    }

    /// A file whose name is unsafe: never fetched; moved to quarantine under a name that does not reuse it.
    func quarantineUnsafe(_ file: RemoteFile, feed: String, origin: FileOrigin, source: any FileSource, problem: String) async throws {
        var row = try await ledger.discover(
            runID: runID, feed: feed, origin: origin, transport: source.transport, path: FileNameSafety.printable(file.path),
            name: FileNameSafety.printable(file.name), size: file.size, mtime: file.mtime, reason: "unsafe name")
        try await ledger.markQuarantined(id: row.id, runID: runID, code: "unsafe-name", message: "the file name is refused: \(problem)")
        row.state = .quarantined
        row.reason = "the file name is refused: \(problem)"
        logger.warning("refusing a file name", metadata: ["file_id": "\(row.id)", "feed": "\(feed)", "why": "\(problem)"])
        try await advance(row, rawPath: file.path)
    }

    // MARK: One file's state machine

    /// Moves a file through its states until it is done (terminal and archived) or must wait for a later run.
    /// Only fatal errors are thrown; anything else is recorded on the file and the run goes on.
    func advance(_ initial: FileRow, rawPath: String?) async throws {
        var file = initial
        var fileLogger = logger
        fileLogger[metadataKey: "file_id"] = "\(file.id)"
        fileLogger[metadataKey: "feed"] = "\(file.feed)"
        let counted = file.state
        do {
            steps: while true {
                switch file.state {
                case .left:
                    return
                case .discovered:
                    file = try await fetch(file, rawPath: rawPath, logger: fileLogger)
                case .downloaded:
                    file = try await check(file, logger: fileLogger)
                    fileLogger[metadataKey: "feed"] = "\(file.feed)"
                case .parsed:
                    let feed = environment.catalog.feed(id: file.feed)
                    if let feed, publishes(feed) {
                        try await ledger.setState(id: file.id, runID: runID, state: .publishing)
                        file.state = .publishing
                    } else {
                        try await ledger.setState(id: file.id, runID: runID, state: .shadowed, reason: "shadow feed: validated and reported, not published")
                        file.state = .shadowed
                    }
                case .publishing:
                    file = try await publish(file, logger: fileLogger)
                    if file.state == .publishing { break steps }
                case .published, .shadowed, .quarantined, .duplicate, .gone:
                    try await archive(file, rawPath: rawPath, logger: fileLogger)
                    removeWorkCopy(file)
                    break steps
                }
            }
        } catch let error as FatalRunError {
            throw error
        } catch let error as FileSourceError where error.isFatal {
            throw FatalRunError(description: error.description)
        } catch let error as RunLockLost {
            throw FatalRunError(description: error.description)
        } catch is CancellationError {
            throw FatalRunError(description: "cancelled")
        } catch {
            let code: String
            switch error {
            case is FileSourceError: code = "source-error"
            case is PublishError: code = "publish-error"
            default: code = "error"
            }
            tally.failures.append("file \(file.id) (\(file.feed) \(file.name)): \(error)")
            fileLogger.error("the file could not be finished in this run; the next run resumes it", metadata: [
                "state": "\(file.state.rawValue)", "error": "\(error)",
            ])
            try? await ledger.recordError(id: file.id, runID: runID, code: code, message: "\(error)")
        }
        note(file, initialState: counted)
    }

    func publishes(_ feed: FeedDefinition) -> Bool {
        feed.status.publishes && feed.operation.method != "GET"
    }

    /// Counts a file's end state in the tally and the metrics.
    func note(_ file: FileRow, initialState: FileState) {
        metrics.increment("dqt_bridge_files_total", ["feed": file.feed, "state": file.state.rawValue])
        tally.update(file.feed) { counts in
            counts.filesTaken += 1
            switch file.state {
            case .duplicate: counts.duplicates += 1
            case .quarantined: counts.quarantined += 1
            case .published: counts.published += 1
            case .shadowed: counts.shadowed += 1
            case .gone: counts.gone += 1
            case .discovered, .downloaded, .parsed, .publishing: counts.unfinished += 1
            case .left: break
            }
        }
        let note: String = switch file.state {
        case .duplicate: "same content as file \(file.duplicateOf.map(String.init) ?? "?"); not published again"
        case .quarantined: file.reason ?? "refused"
        case .gone: file.reason ?? "gone"
        case .published: "published"
        case .shadowed: "shadow feed: validated, not published"
        default: "unfinished (\(file.state.rawValue)): the next run resumes it"
        }
        tally.files.append(RunTally.FileNote(id: file.id, feed: file.feed, name: file.name, state: file.state, note: note))
    }

    var workFolder: String { configuration.workFolder }

    /// Partial downloads and scratch files of a run that was killed: never used (a download is renamed into place
    /// only when complete), removed at the start of the next run, which holds the lock.
    func removeLeftovers() {
        let folder = joinPath(workFolder, "files")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name.hasPrefix(".") {
            try? FileManager.default.removeItem(atPath: joinPath(folder, name))
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: workFolder)) ?? [] where name.hasPrefix("replay-") {
            try? FileManager.default.removeItem(atPath: joinPath(workFolder, name))
        }
    }

    func localPath(_ file: FileRow) -> String { joinPath(workFolder, "files", "\(file.id).dat") }

    func removeWorkCopy(_ file: FileRow) {
        try? FileManager.default.removeItem(atPath: localPath(file))
        try? FileManager.default.removeItem(atPath: joinPath(workFolder, "files", "\(file.id).parts"))
    }

    // MARK: Steps

    func fetch(_ file: FileRow, rawPath: String?, logger: Logger) async throws -> FileRow {
        var file = file
        let source = try source(file.transport)
        let path = rawPath ?? file.sourcePath
        guard let before = try await source.stat(path) else {
            try await ledger.setState(id: file.id, runID: runID, state: .gone, reason: "the file was no longer in the pickup folder when it was to be fetched")
            file.state = .gone
            file.reason = "the file was no longer in the pickup folder when it was to be fetched"
            logger.warning("file vanished before it was fetched")
            return file
        }
        if let size = file.size, let mtime = file.mtime, before.size != size || before.mtime != mtime {
            let reason = "the file changed since it was judged stable (size \(size) -> \(before.size)); left for a later listing"
            try await ledger.setState(id: file.id, runID: runID, state: .left, reason: reason)
            tally.left[file.sourcePath] = (file.feed, reason)
            file.state = .left
            return file
        }
        let local = localPath(file)
        environment.progress.start("fetching \(file.name)", total: before.size)
        let progress = environment.progress
        let fetched: FetchedFile
        do {
            fetched = try await metrics.time("fetch") {
                try await source.fetch(path, to: local, progress: { done, total in
                    progress.update(done, total: total, unit: .bytes)
                    if FailPoint.isArmed { FailPoint.hit("fetching") }
                })
            }
            progress.finish()
        } catch {
            progress.finish()
            throw error
        }
        metrics.increment("dqt_bridge_bytes_fetched_total", ["feed": file.feed], by: Double(fetched.bytes))
        tally.update(file.feed) { $0.bytes += fetched.bytes }
        // A file that grew or changed while it was read is not used: the next listing judges it again.
        let after = try await source.stat(path)
        if after?.size != fetched.bytes || after?.mtime != before.mtime {
            try? FileManager.default.removeItem(atPath: local)
            let reason = "the file changed while it was being fetched; left for a later listing"
            try await ledger.setState(id: file.id, runID: runID, state: .left, reason: reason)
            tally.left[file.sourcePath] = (file.feed, reason)
            file.state = .left
            logger.warning("file changed while it was fetched")
            return file
        }
        FailPoint.hit("fetched")
        try await ledger.setDownloaded(id: file.id, runID: runID, sha256: fetched.sha256, size: fetched.bytes, localPath: local)
        logger.info("file fetched", metadata: ["bytes": "\(fetched.bytes)", "sha256": "\(fetched.sha256)"])
        file.state = .downloaded
        file.sha256 = fetched.sha256
        file.localPath = local
        if file.size == nil { file.size = fetched.bytes }
        return file
    }

    /// Makes sure the work copy exists; when it is gone (another machine, a cleaned work folder) the file goes back
    /// to `discovered` to be fetched again.
    func ensureWorkCopy(_ file: FileRow) async throws -> Bool {
        if let local = file.localPath, FileManager.default.fileExists(atPath: local) { return true }
        try await ledger.setState(id: file.id, runID: runID, state: .discovered, reason: "the work copy was missing; fetched again")
        return false
    }

    func check(_ file: FileRow, logger: Logger) async throws -> FileRow {
        var file = file
        guard try await ensureWorkCopy(file) else {
            file.state = .discovered
            return file
        }
        let local = file.localPath!
        guard let sha256 = file.sha256 else { throw FatalRunError(description: "file \(file.id) is downloaded but has no SHA-256") }

        // A mail drop's email: read once, and routed to its feed first.
        let parts = joinPath(workFolder, "files", "\(file.id).parts")
        var email: Result<ReceivedEmail, any Error>?
        if file.feed.hasPrefix("mail:") {
            let read = await MailIntake.readOffPool(emlPath: local, into: parts)
            email = read
            let routes = emailFeeds.compactMap { feed in feed.email.map { MailRoute(feed: feed.id, rules: $0) } }
            let routed = MailRouting.route(read, routes: routes)
            switch routed.decision {
            case .feed(let feed):
                try await ledger.setRouted(id: file.id, feed: feed, sender: routed.sender, attachments: routed.attachments)
                file.feed = feed
                logger.info("email routed", metadata: ["to_feed": "\(feed)", "attachments": "\(routed.attachments.count)"])
            case .refused(let code, let message):
                try await ledger.setRouted(id: file.id, feed: file.feed, sender: routed.sender, attachments: routed.attachments)
                try await ledger.markQuarantined(id: file.id, runID: runID, code: code, message: message)
                file.state = .quarantined
                file.reason = message
                logger.warning("email refused", metadata: ["code": "\(code)"])
                return file
            }
        }
        guard let feed = environment.catalog.feed(id: file.feed) else {
            throw FatalRunError(description: "file \(file.id) belongs to feed \(file.feed), which has no mapping any more")
        }
        if file.replayOf == nil, let original = try await ledger.original(feed: feed.id, sha256: sha256, excluding: file.id) {
            let reason = "the same content as file \(original.id) (\(original.name), \(original.state.rawValue))"
            try await ledger.markDuplicate(id: file.id, runID: runID, of: original.id, reason: reason)
            file.state = .duplicate
            file.duplicateOf = original.id
            file.reason = reason
            logger.info("duplicate content; not published again", metadata: ["original_file_id": "\(original.id)"])
            return file
        }

        let checker = FeedChecker(feed: feed, context: context)
        let shadow = !publishes(feed)
        let input: CheckInput
        if feed.email == nil {
            input = .file(path: local)
        } else if let email {
            input = .email(email)
        } else {
            input = .email(await MailIntake.readOffPool(emlPath: local, into: parts))
        }
        let name = file.name
        let decision = try await metrics.time("check") {
            try await ledger.stage(fileID: file.id, runID: runID) { writer in
                // Made afresh on every attempt: the ledger retries the whole staging after a lost connection.
                let errors = SinkErrorBox()
                var sink = LedgerSink(writer: writer, shadow: shadow, errors: errors)
                let result = checker.check(input, name: name, sha256: sha256, sink: &sink)
                if let error = errors.error { throw error }
                let summary = MappingReport(result: result, feed: feed).json.serialized
                return StageDecision(
                    state: result.refusal == nil ? .parsed : .quarantined, rowsRead: result.rowsRead, accepted: result.accepted,
                    rejected: result.rejected, warnings: result.rowsWithWarnings, summaryJSON: summary,
                    refusalCode: result.refusal?.code,
                    refusalMessage: result.refusal.map { refusal in
                        "\(refusal.code)\(refusal.line.map { " at line \($0)" } ?? ""): \(refusal.message)"
                    })
            }
        }
        FailPoint.hit("staged")
        file.state = decision.state
        file.rowsRead = decision.rowsRead
        file.accepted = decision.accepted
        file.rejected = decision.rejected
        if decision.state == .quarantined { file.reason = decision.refusalMessage }
        tally.update(feed.id) { counts in
            counts.rowsRead += decision.rowsRead
            if decision.state != .quarantined {
                counts.recordsAccepted += decision.accepted
                counts.recordsRejected += decision.rejected
            }
        }
        if decision.state != .quarantined {
            metrics.increment("dqt_bridge_records_total", ["feed": feed.id, "outcome": shadow ? "shadow" : "accepted"], by: Double(decision.accepted))
            metrics.increment("dqt_bridge_records_total", ["feed": feed.id, "outcome": "rejected"], by: Double(decision.rejected))
        }
        logger.info("file checked", metadata: [
            "rows": "\(decision.rowsRead)", "accepted": "\(decision.accepted)", "rejected": "\(decision.rejected)",
            "state": "\(decision.state.rawValue)", "refusal": "\(decision.refusalCode ?? "none")",
        ])
        return file
    }

    func publish(_ file: FileRow, logger: Logger) async throws -> FileRow {
        var file = file
        guard apiAvailable else {
            logger.warning("the API failed earlier in this run; publishing this file is left for the next run")
            tally.failures.append("file \(file.id) (\(file.feed) \(file.name)): not published, the API failed earlier in this run")
            return file
        }
        guard let sha256 = file.sha256 else { throw FatalRunError(description: "file \(file.id) has no SHA-256") }
        let publisher = Publisher(
            ledger: ledger, transport: environment.transport, settings: configuration.publisherSettings, logger: logger,
            observer: metrics)
        let total = try await ledger.refreshPublishCounts(fileID: file.id)
        let progress = environment.progress
        progress.start("publishing \(file.name)", total: Int64(total.pending))
        let outcome: PublishSummary
        do {
            outcome = try await metrics.time("publish") {
                try await publisher.publish(fileID: file.id, feed: file.feed, fileSHA256: sha256) { done in
                    progress.update(Int64(done), unit: .records)
                }
            }
            progress.finish()
        } catch {
            progress.finish()
            apiAvailable = false
            let counts = try? await ledger.refreshPublishCounts(fileID: file.id)
            tally.update(file.feed) { c in
                c.recordsPublished += max(0, (counts?.published ?? total.published) - total.published)
                c.recordsFailed += max(0, (counts?.failed ?? total.failed) - total.failed)
            }
            throw error
        }
        let counts = try await ledger.refreshPublishCounts(fileID: file.id)
        tally.update(file.feed) { c in
            c.recordsPublished += counts.published - total.published
            c.recordsFailed += counts.failed - total.failed
            c.recordsReplayed += outcome.replayed
        }
        metrics.increment("dqt_bridge_records_total", ["feed": file.feed, "outcome": "published"], by: Double(counts.published - total.published))
        metrics.increment("dqt_bridge_records_total", ["feed": file.feed, "outcome": "failed"], by: Double(counts.failed - total.failed))
        logger.info("file published", metadata: [
            "published": "\(counts.published)", "failed": "\(counts.failed)", "pending": "\(counts.pending)",
            "batches": "\(outcome.batches)", "retries": "\(outcome.retries)", "replayed": "\(outcome.replayed)",
        ])
        if counts.pending == 0 {
            try await ledger.setState(id: file.id, runID: runID, state: .published)
            FailPoint.hit("published")
            file.state = .published
        }
        file.published = counts.published
        file.failed = counts.failed
        return file
    }

    // MARK: Archive

    /// Whether this file's remote copy is moved to processed/ or quarantine/ once handled.
    func movesFile(_ file: FileRow) -> Bool {
        guard file.origin != .replay, file.state != .gone else { return false }
        if configuration.shadowMovesFiles { return true }
        if let feed = environment.catalog.feed(id: file.feed) { return publishes(feed) }
        // An email no feed took: moved when one of the mail drop's feeds is live.
        if file.feed.hasPrefix("mail:") { return emailFeeds.contains { publishes($0) } }
        return false
    }

    static func archiveFolder(forPickup folder: String, kind: String) -> String {
        let parent = parentFolder(folder)
        return parent.isEmpty ? joinPath(folder, kind) : joinPath(parent, kind)
    }

    func archive(_ file: FileRow, rawPath: String?, logger: Logger) async throws {
        guard file.archivedAt == nil else { return }
        guard movesFile(file) else {
            try await ledger.markArchiveSkipped(id: file.id)
            return
        }
        let source = try source(file.transport)
        let path = rawPath ?? file.sourcePath
        let kind = file.state == .quarantined ? "quarantine" : "processed"
        let folder = Self.archiveFolder(forPickup: parentFolder(file.sourcePath), kind: kind)
        var target = file.archivePath
        if target == nil {
            target = joinPath(folder, ArchiveName.make(at: Date(), sha256: file.sha256, name: file.name))
            try await ledger.planArchive(id: file.id, path: target!)
            FailPoint.hit("archive-planned")
        }
        try await metrics.time("archive") {
            try await source.ensureFolder(parentFolder(target!))
            var attempt = 0
            while true {
                do {
                    try await source.move(path, to: target!)
                    break
                } catch FileSourceError.notFound {
                    // Moved before a crash (the target exists), or gone.
                    if try await source.stat(target!) != nil { break }
                    try await ledger.markArchived(id: file.id, note: file.reason ?? "the file was no longer in the pickup folder when it was to be archived")
                    logger.warning("the file was no longer in the pickup folder when it was to be archived")
                    return
                } catch FileSourceError.destinationExists where attempt < 3 {
                    attempt += 1
                    target = joinPath(folder, ArchiveName.make(at: Date(), sha256: file.sha256, name: file.name, suffix: "\(file.id)-\(attempt)"))
                    try await ledger.planArchive(id: file.id, path: target!)
                }
            }
            // The done-marker goes with its file.
            if let feed = environment.catalog.feed(id: file.feed), let suffix = configuration.stabilityRule(for: feed).doneMarkerSuffix {
                if try await source.stat(path + suffix) != nil {
                    try? await source.move(path + suffix, to: target! + suffix)
                }
            }
            FailPoint.hit("archived")
            try await ledger.markArchived(id: file.id)
        }
        logger.info("file archived", metadata: ["to": "\(target!)"])
    }

    // MARK: End of run

    func writeMetrics(seconds: Double) async {
        metrics.set("dqt_bridge_run_duration_seconds", [:], seconds)
        metrics.set("dqt_bridge_run_exit_status", [:], Double(tally.exitStatus))
        metrics.set("dqt_bridge_run_finished_timestamp_seconds", [:], Date().timeIntervalSince1970.rounded())
        metrics.set("dqt_bridge_files_unfinished", [:], Double(tally.feeds.values.map(\.unfinished).reduce(0, +)))
        if let last = try? await ledger.recentRuns(limit: 50).first(where: { ($0.exitStatus ?? 2) <= 1 && $0.finishedAt != nil }) {
            metrics.set("dqt_bridge_last_success_timestamp_seconds", [:], last.finishedAt!.timeIntervalSince1970.rounded())
        }
        guard let path = configuration.metricsFile else { return }
        do {
            try metrics.write(to: path)
        } catch {
            logger.error("cannot write the metrics file", metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }

    func writeReports() async {
        guard let folder = configuration.reportsFolder, runID > 0 else { return }
        do {
            let report = try await RunReportBuilder(ledger: ledger, catalog: environment.catalog).build(runID: runID)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try report.write(folder: folder)
        } catch {
            logger.error("cannot write the run report", metadata: ["folder": "\(folder)", "error": "\(error)"])
        }
    }
}
