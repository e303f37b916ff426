public import Foundation
import Synchronization

extension MemoryLedger: FileLedger {
    /// States in which a file's content counts as handled: a later file with the same content is a duplicate.
    private static let handledStates: Set<FileState> = [.parsed, .publishing, .published, .shadowed]

    public func file(id: Int64) async throws -> FileRow? {
        state.withLock { state in state.fileIndex(id).map { state.files[$0] } }
    }

    public func takenFile(feeds: [String], path: String, size: Int64, mtime: Date) async throws -> FileRow? {
        state.withLock { state in
            state.files.last { file in
                feeds.contains(file.feed) && file.sourcePath == path && file.size == size && file.mtime == mtime
                    && file.state != .left && file.state != .gone && file.origin != .replay
            }
        }
    }

    public func recordLeft(
        runID: Int64, feed: String, origin: FileOrigin, transport: String, path: String, name: String, size: Int64,
        mtime: Date, reason: String
    ) async throws {
        state.withLock { state in
            if let index = state.files.firstIndex(where: { $0.feed == feed && $0.sourcePath == path && $0.state == .left }) {
                state.files[index].lastRunID = runID
                state.files[index].size = size
                state.files[index].mtime = mtime
                state.files[index].reason = reason
                state.files[index].updatedAt = Date()
                return
            }
            state.files.append(
                FileRow(
                    id: Int64(state.files.count + 1), runID: runID, feed: feed, origin: origin, transport: transport, sourcePath: path,
                    name: name, size: size, mtime: mtime, state: .left, reason: reason, replayOf: nil, createdAt: Date()))
        }
    }

    public func discover(
        runID: Int64, feed: String, origin: FileOrigin, transport: String, path: String, name: String, size: Int64?,
        mtime: Date?, reason: String, replayOf: Int64?
    ) async throws -> FileRow {
        state.withLock { state in
            let left =
                origin == .replay || replayOf != nil
                ? nil
                : state.files.firstIndex { file in
                    file.feed == feed && file.sourcePath == path && file.state == .left && file.transport == transport && file.name == name
                }
            if let index = left {
                state.files[index].state = .discovered
                state.files[index].runID = runID
                state.files[index].lastRunID = runID
                state.files[index].size = size
                state.files[index].mtime = mtime
                state.files[index].reason = reason
                state.files[index].updatedAt = Date()
                return state.files[index]
            }
            let row = FileRow(
                id: Int64(state.files.count + 1), runID: runID, feed: feed, origin: origin, transport: transport, sourcePath: path,
                name: name, size: size, mtime: mtime, state: .discovered, reason: reason, replayOf: replayOf, createdAt: Date())
            state.files.append(row)
            return row
        }
    }

    public func unfinishedFiles(feeds: [String]?) async throws -> [FileRow] {
        state.withLock { state in
            state.files.filter { file in
                file.state != .left && (!file.state.isTerminal || file.archivedAt == nil)
                    && ((feeds.map { $0.contains(file.feed) } ?? true) || file.origin == .mail)
            }
        }
    }

    public func original(feed: String, sha256: String, excluding id: Int64) async throws -> FileRow? {
        state.withLock { state in
            state.files.first { file in
                file.feed == feed && file.sha256 == sha256 && file.id != id && file.replayOf == nil
                    && Self.handledStates.contains(file.state)
            }
        }
    }

    public func latestFile(feed: String, sha256: String) async throws -> FileRow? {
        state.withLock { state in state.files.last { $0.feed == feed && $0.sha256 == sha256 } }
    }

    public func setDownloaded(id: Int64, runID: Int64, sha256: String, size: Int64, localPath: String) async throws {
        change(id, runID: runID, state: .downloaded) { file in
            file.sha256 = sha256
            file.size = file.size ?? size
            file.localPath = localPath
            file.errorCode = nil
            file.errorMessage = nil
        }
    }

    public func setRouted(id: Int64, feed: String, sender: String?, attachments: [String]) async throws {
        change(id) { file in
            file.feed = feed
            file.sender = sender
            file.attachments = attachments
        }
    }

    public func setState(id: Int64, runID: Int64, state: FileState, reason: String?) async throws {
        change(id, runID: runID, state: state) { file in
            if let reason { file.reason = reason }
        }
    }

    public func markDuplicate(id: Int64, runID: Int64, of original: Int64, reason: String) async throws {
        change(id, runID: runID, state: .duplicate) { file in
            file.duplicateOf = original
            file.reason = reason
        }
    }

    public func markQuarantined(id: Int64, runID: Int64, code: String, message: String) async throws {
        change(id, runID: runID, state: .quarantined) { file in
            file.reason = message
            file.errorCode = code
            file.errorMessage = message
        }
    }

    public func recordError(id: Int64, runID: Int64, code: String, message: String) async throws {
        change(id) { file in
            file.errorCode = code
            file.errorMessage = message
            file.lastRunID = runID
        }
    }

    public func planArchive(id: Int64, path: String) async throws {
        change(id) { $0.archivePath = path }
    }

    public func markArchived(id: Int64, note: String?) async throws {
        change(id) { file in
            file.archivedAt = Date()
            file.localPath = nil
            if let note { file.reason = note }
        }
    }

    public func markArchiveSkipped(id: Int64) async throws {
        state.withLock { state in
            guard let index = state.fileIndex(id), state.files[index].archivedAt == nil else { return }
            let now = Date()
            state.files[index].archivedAt = now
            state.files[index].localPath = nil
            state.files[index].updatedAt = now
        }
    }

    public func files(runID: Int64) async throws -> [FileRow] {
        state.withLock { state in state.files.filter { $0.lastRunID == runID || $0.runID == runID } }
    }

    public func fileCountsByState() async throws -> [(feed: String, state: FileState, count: Int)] {
        let counts = state.withLock { state in
            state.files.reduce(into: [String: [FileState: Int]]()) { counts, file in counts[file.feed, default: [:]][file.state, default: 0] += 1 }
        }
        return counts.keys.sorted().flatMap { feed in
            counts[feed, default: [:]].sorted { $0.key.rawValue < $1.key.rawValue }.map { (feed: feed, state: $0.key, count: $0.value) }
        }
    }

    public func lastFilePerFeed() async throws -> [FileRow] {
        let newest = state.withLock { state in
            state.files.reduce(into: [String: FileRow]()) { newest, file in
                if file.state != .left { newest[file.feed] = file }
            }
        }
        return newest.keys.sorted().compactMap { newest[$0] }
    }

    public func files(feed: String, afterID: Int64?, limit: Int) async throws -> [FileRow] {
        state.withLock { state in
            Array(
                state.files.filter { $0.feed == feed && $0.id > (afterID ?? 0) && $0.state != .left && $0.replayOf == nil }.prefix(limit))
        }
    }

    /// Applies `body` to file `id` (if there is one), moving it to `state` in run `runID` when given, and stamps it.
    private func change(_ id: Int64, runID: Int64? = nil, state newState: FileState? = nil, _ body: (inout FileRow) -> Void) {
        state.withLock { state in
            guard let index = state.fileIndex(id) else { return }
            if let newState { state.files[index].state = newState }
            if let runID { state.files[index].lastRunID = runID }
            body(&state.files[index])
            state.files[index].updatedAt = Date()
        }
    }
}
