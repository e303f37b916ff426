import FileSources
import Foundation
import Ledger
import Logging

extension FileStateMachine {
    /// `discovered` -> `downloaded`: copies the file into the work folder. A file that vanished is `gone`; one that
    /// changed since it was judged stable, or while it was read, is `left` for a later listing and its copy dropped.
    func fetch(_ file: FileRow, rawPath: String?, logger: Logger) async throws -> FileRow {
        var file = file
        let ledger = context.ledger
        let runID = context.runID
        let source = try context.source(file.sourceKind)
        let path = rawPath ?? file.sourcePath
        guard let before = try await source.stat(path) else {
            try await ledger.setState(
                id: file.id, runID: runID, state: .gone, reason: "the file was no longer in the pickup folder when it was to be fetched")
            file.state = .gone
            file.reason = "the file was no longer in the pickup folder when it was to be fetched"
            logger.warning("file vanished before it was fetched")
            return file
        }
        if let size = file.size, let mtime = file.mtime, before.size != size || before.mtime != mtime {
            let reason = "the file changed since it was judged stable (size \(size) -> \(before.size)); left for a later listing"
            try await ledger.setState(id: file.id, runID: runID, state: .left, reason: reason)
            context.tally.left[file.sourcePath] = (file.feed, reason)
            file.state = .left
            return file
        }
        let local = context.localPath(fileID: file.id)
        let progress = context.progress
        progress.start("fetching \(file.name)", total: before.size)
        let fetched: FetchedFile
        do {
            fetched = try await context.metrics.time("fetch") {
                try await source.fetch(
                    path, to: local,
                    progress: { done, total in
                        progress.update(done, total: total, unit: .bytes)
                        if FailPoint.isArmed { FailPoint.hit("fetching") }
                    })
            }
            progress.finish()
        } catch {
            progress.finish()
            throw error
        }
        context.metrics.increment("dqt_bridge_bytes_fetched_total", ["feed": file.feed], by: Double(fetched.bytes))
        context.tally.update(file.feed) { $0.bytes += fetched.bytes }
        // A file that grew or changed while it was read is not used: the next listing judges it again.
        let after = try await source.stat(path)
        if after?.size != fetched.bytes || after?.mtime != before.mtime {
            try? FileManager.default.removeItem(atPath: local)
            let reason = "the file changed while it was being fetched; left for a later listing"
            try await ledger.setState(id: file.id, runID: runID, state: .left, reason: reason)
            context.tally.left[file.sourcePath] = (file.feed, reason)
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
        try await context.ledger.setState(id: file.id, runID: context.runID, state: .discovered, reason: "the work copy was missing; fetched again")
        return false
    }
}
