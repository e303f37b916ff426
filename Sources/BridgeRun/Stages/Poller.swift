import DQTModel
import FeedMapping
import FileSources
import Foundation
import Ledger
import Logging

/// Lists a folder group and decides, file by file, what the pass does with each: skip it (not a file of these feeds,
/// a done-marker, a scratch name, a legacy job's outcome file, already in the ledger), leave it for a later run (not
/// yet stable, or its name matches several feeds), quarantine it unfetched (an unsafe name), or take it: record it as
/// `discovered` and hand it to `take` at once.
///
/// Invariant: a file is recorded in the ledger (left, discovered or quarantined) before anything else happens to it,
/// and the ledger's own stability observations, not memory, say how long it has been unchanged, so a crash between
/// two listings loses nothing.
struct Poller {
    let context: RunContext
    /// Moves a taken file on (the file state machine): its ledger row and its path exactly as the server names it.
    let take: (FileRow, String) async throws -> Void

    /// Polls one group; when some file will be stable within `stabilityWaitSeconds`, waits and lists once more.
    func poll(_ group: FolderGroup, secondListing: Bool = false) async throws {
        let configuration = context.configuration
        let ledger = context.ledger
        let source = try context.source(group.source)
        let listing = try await context.metrics.time("list") { try await source.list(folder: group.folder) }
        FailPoint.hit("listed")
        let names = Set(listing.map(\.name))
        let markerSuffixes = Set(group.feeds.compactMap { configuration.stabilityRule(for: $0).doneMarkerSuffix })
        var waitFor: Double = 0
        context.logger.debug("listed a folder", metadata: ["folder": "\(group.folder)", "files": "\(listing.count)"])

        for file in listing {
            guard !context.stop.isSet else {
                context.tally.stoppedBySignal = true
                return
            }
            if file.name.hasPrefix(".") { continue }  // temporary uploads and our own scratch names
            if file.name.hasSuffix(LegacyOutcomeReader.suffix) { continue }  // a legacy job's outcome, read by parity
            if markerSuffixes.contains(where: { file.name.hasSuffix($0) && names.contains(String(file.name.dropLast($0.count))) }) { continue }
            let unsafe = FileNameSafety.problem(file.name)
            let matching: [FeedDefinition]
            if group.mailDrop != nil {
                matching = file.name.lowercased().hasSuffix(".eml") ? group.feeds : []
            } else {
                matching = group.feeds.filter { feed in feed.filePatterns.contains { FileNamePattern.matches($0, name: file.name) } }
            }
            if unsafe == nil && matching.isEmpty { continue }  // not a file of these feeds
            let ledgerFeed = group.mailDrop?.ledgerFeedName ?? (matching.first ?? group.feeds[0]).id
            let printablePath = FileNameSafety.printable(file.path)
            let origin: FileOrigin = group.mailDrop != nil ? .mail : FileOrigin(pickedUpFrom: group.source)

            // A file the ledger already took (left in place by a shadow feed, or being resumed) is not taken again.
            let knownFeeds = group.mailDrop != nil ? [ledgerFeed] + group.feeds.map(\.id) : [ledgerFeed]
            if try await ledger.takenFile(feeds: knownFeeds, path: printablePath, size: file.size, mtime: file.mtime) != nil {
                continue
            }
            if group.mailDrop == nil, matching.count > 1, unsafe == nil {
                let reason = "the name matches several feeds (\(matching.map(\.id).joined(separator: ", "))): narrow their file patterns"
                try await leave(file, feed: ledgerFeed, origin: origin, source: source.kind, reason: reason)
                continue
            }
            // A message on an IMAP server is whole once the server lists it: nothing to wait for.
            let rule =
                group.source == .imap
                ? StabilityRule(stableSeconds: 0, minimumAgeSeconds: 0, doneMarkerSuffix: nil)
                : group.mailDrop != nil
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
                try await leave(file, feed: ledgerFeed, origin: origin, source: source.kind, reason: reason)
                if let readyIn, readyIn <= configuration.stabilityWaitSeconds { waitFor = max(waitFor, readyIn) }
            case .take(let reason):
                try await ledger.noteDecision(feed: ledgerFeed, path: printablePath, decision: "taken: \(reason)")
                context.tally.left[printablePath] = nil
                try await context.verifyLock()
                if let unsafe {
                    try await quarantineUnsafe(file, feed: ledgerFeed, origin: origin, source: source.kind, problem: unsafe)
                    continue
                }
                let row = try await ledger.discover(
                    runID: context.runID, feed: ledgerFeed, origin: origin, transport: source.kind.rawValue, path: file.path,
                    name: file.name, size: file.size, mtime: file.mtime, reason: reason)
                FailPoint.hit("discovered")
                context.logger.info(
                    "taking a file",
                    metadata: [
                        "file_id": "\(row.id)", "feed": "\(ledgerFeed)", "file": "\(file.name)", "bytes": "\(file.size)", "why": "\(reason)",
                    ])
                try await take(row, file.path)
            }
        }
        if !secondListing, waitFor > 0, !context.stop.isSet {
            context.logger.info(
                "waiting for a second listing of files not yet stable",
                metadata: ["folder": "\(group.folder)", "seconds": "\(Int(waitFor.rounded(.up)))"])
            try await Task.sleep(nanoseconds: UInt64((waitFor + 0.2) * 1e9))
            try await poll(group, secondListing: true)
        }
    }

    /// Records a file left for a later run; the tally keeps the latest reason per path.
    func leave(_ file: RemoteFile, feed: String, origin: FileOrigin, source: SourceKind, reason: String) async throws {
        let path = FileNameSafety.printable(file.path)
        try await context.ledger.recordLeft(
            runID: context.runID, feed: feed, origin: origin, transport: source.rawValue, path: path,
            name: FileNameSafety.printable(file.name), size: file.size, mtime: file.mtime, reason: reason)
        if context.tally.left[path] == nil { context.metrics.increment("dqt_bridge_files_total", ["feed": feed, "state": "left"]) }
        context.tally.left[path] = (feed, reason)
        context.logger.info(
            "leaving a file for a later run", metadata: ["feed": "\(feed)", "file": "\(FileNameSafety.printable(file.name))", "why": "\(reason)"])
    }

    /// A file whose name is unsafe: never fetched; moved to quarantine under a name that does not reuse it.
    func quarantineUnsafe(_ file: RemoteFile, feed: String, origin: FileOrigin, source: SourceKind, problem: String) async throws {
        let ledger = context.ledger
        var row = try await ledger.discover(
            runID: context.runID, feed: feed, origin: origin, transport: source.rawValue, path: FileNameSafety.printable(file.path),
            name: FileNameSafety.printable(file.name), size: file.size, mtime: file.mtime, reason: "unsafe name")
        try await ledger.markQuarantined(id: row.id, runID: context.runID, code: "unsafe-name", message: "the file name is refused: \(problem)")
        row.state = .quarantined
        row.reason = "the file name is refused: \(problem)"
        context.logger.warning("refusing a file name", metadata: ["file_id": "\(row.id)", "feed": "\(feed)", "why": "\(problem)"])
        try await take(row, file.path)
    }
}
