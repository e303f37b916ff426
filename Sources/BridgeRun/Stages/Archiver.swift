import FeedMapping
import FileSources
import Foundation
import Ledger
import Logging

/// Moves a handled file out of its pickup folder, into `processed/` or `quarantine/` beside it, under a name that never
/// reuses an unsafe one (``ArchiveName``). Files of shadow feeds stay where they are (the legacy job owns them) unless
/// `shadowMovesFiles` says otherwise.
///
/// Invariant: the archive path is planned in the ledger before the move and the move is recorded after it, so a crash
/// in between is resumed by trying the same move again (and finding the file already at its target).
struct Archiver {
    let context: RunContext

    /// Whether this file's remote copy is moved to processed/ or quarantine/ once handled.
    func movesFile(_ file: FileRow) -> Bool {
        guard file.origin != .replay, file.state != .gone else { return false }
        if context.configuration.shadowMovesFiles { return true }
        if let feed = context.catalog.feed(id: file.feed) { return RunContext.publishes(feed) }
        // An email no feed took: moved when one of the mail drop's feeds is live.
        if MailDropRoute(ledgerFeedName: file.feed) != nil { return context.emailFeeds.contains { RunContext.publishes($0) } }
        return false
    }

    /// `processed` or `quarantine` beside the pickup folder (below it when the pickup folder is at the root).
    static func archiveFolder(forPickup folder: String, kind: String) -> String {
        let parent = parentFolder(folder)
        return parent.isEmpty ? joinPath(folder, kind) : joinPath(parent, kind)
    }

    func archive(_ file: FileRow, rawPath: String?, logger: Logger) async throws {
        let ledger = context.ledger
        guard file.archivedAt == nil else { return }
        guard movesFile(file) else {
            try await ledger.markArchiveSkipped(id: file.id)
            return
        }
        let source = try context.source(file.sourceKind)
        let path = rawPath ?? file.sourcePath
        let quarantined = file.state == .quarantined
        let pickup = parentFolder(file.sourcePath)
        let folder =
            source.archiveFolder(forPickup: pickup, quarantined: quarantined)
            ?? Self.archiveFolder(forPickup: pickup, kind: quarantined ? "quarantine" : "processed")
        var target = file.archivePath
        if target == nil {
            target = joinPath(folder, ArchiveName.make(at: Date(), sha256: file.sha256, name: file.name))
            try await ledger.planArchive(id: file.id, path: target!)
            FailPoint.hit("archive-planned")
        }
        let doneMarker = context.catalog.feed(id: file.feed).flatMap { context.configuration.stabilityRule(for: $0).doneMarkerSuffix }
        try await context.metrics.time("archive") {
            try await source.ensureFolder(parentFolder(target!))
            var attempt = 0
            while true {
                do {
                    try await source.move(path, to: target!)
                    break
                } catch FileSourceError.notFound {
                    // Moved before a crash (the target exists), or gone.
                    if try await source.stat(target!) != nil { break }
                    try await ledger.markArchived(
                        id: file.id, note: file.reason ?? "the file was no longer in the pickup folder when it was to be archived")
                    logger.warning("the file was no longer in the pickup folder when it was to be archived")
                    return
                } catch FileSourceError.destinationExists where attempt < 3 {
                    attempt += 1
                    target = joinPath(folder, ArchiveName.make(at: Date(), sha256: file.sha256, name: file.name, suffix: "\(file.id)-\(attempt)"))
                    try await ledger.planArchive(id: file.id, path: target!)
                }
            }
            // The done-marker goes with its file.
            if let suffix = doneMarker, try await source.stat(path + suffix) != nil {
                try? await source.move(path + suffix, to: target! + suffix)
            }
            FailPoint.hit("archived")
            try await ledger.markArchived(id: file.id)
        }
        logger.info("file archived", metadata: ["to": "\(target!)"])
    }
}
