import Crypto
import DQTModel
import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs blocking work on a dispatch queue instead of Swift's cooperative threads.
struct BlockingQueue: Sendable {
    let queue: DispatchQueue

    init(label: String) { queue = DispatchQueue(label: label) }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}

/// A local folder with the SFTP source's semantics: pickup folders below `root`, streaming fetch with SHA-256 via a
/// temporary name, never-overwriting renames. For engineers and tests.
public final class FolderSource: FileSource {
    public let root: String
    public var kind: SourceKind { .folder }
    public var location: String { "folder \(root)" }
    private let blocking = BlockingQueue(label: "dqt.bridge.folder-source")

    public init(root: String) {
        self.root = root
    }

    private func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : joinPath(root, path)
    }

    public func list(folder: String) async throws -> [RemoteFile] {
        let directory = absolute(folder)
        return try await blocking.run {
            guard let handle = opendir(directory) else {
                let code = errno
                // A missing root or pickup folder is a mistake in the configuration (or a partner's folder removed),
                // never "nothing new": the feed's group fails, named, and the other groups go on.
                if code == ENOENT, let problem = FileProblem.listing(folder: self.root) {
                    throw FileSourceError.failed("the folder source's root \(self.root) cannot be listed: \(problem)")
                }
                throw FileSourceError.failed("cannot list the pickup folder \(directory): \(FileProblem.reason(code))")
            }
            defer { closedir(handle) }
            var files: [RemoteFile] = []
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if name == "." || name == ".." { continue }
                var info = Glibc.stat()
                // lstat: links are not followed, so a link cannot make the bridge read outside the pickup folder.
                guard lstat(joinPath(directory, name), &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
                files.append(
                    RemoteFile(
                        path: joinPath(folder, name), name: name, size: Int64(info.st_size),
                        mtime: Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec))))
            }
            return files.sorted { $0.name < $1.name }
        }
    }

    public func stat(_ path: String) async throws -> RemoteFile? {
        let full = absolute(path)
        return try await blocking.run {
            var info = Glibc.stat()
            guard lstat(full, &info) == 0 else { return nil }
            guard (info.st_mode & S_IFMT) == S_IFREG else { return nil }
            return RemoteFile(
                path: path, name: (path as NSString).lastPathComponent, size: Int64(info.st_size),
                mtime: Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec)))
        }
    }

    public func fetch(_ path: String, to localPath: String, progress: TransferProgress?) async throws -> FetchedFile {
        let source = absolute(path)
        return try await blocking.run {
            try Self.copyHashing(from: source, to: localPath, progress: progress)
        }
    }

    /// Streams `source` to `localPath` via a temporary file beside it, hashing as it goes, then renames.
    static func copyHashing(from source: String, to localPath: String, progress: TransferProgress?) throws -> FetchedFile {
        let input = open(source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard input >= 0 else {
            if errno == ENOENT { throw FileSourceError.notFound(source) }
            throw FileSourceError.failed("cannot open \(source): \(String(cString: strerror(errno)))")
        }
        defer { Glibc.close(input) }
        var info = Glibc.stat()
        let total: Int64? = fstat(input, &info) == 0 ? Int64(info.st_size) : nil
        let directory = (localPath as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temporary = joinPath(directory, ".\((localPath as NSString).lastPathComponent).part-\(UUID().uuidString.prefix(8))")
        let output = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw FileSourceError.failed("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var completed = false
        defer {
            if !completed {
                Glibc.close(output)
                unlink(temporary)
            }
        }
        let size = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        var hasher = SHA256()
        var bytes: Int64 = 0
        while true {
            let count = read(input, buffer.baseAddress, size)
            if count < 0 {
                if errno == EINTR { continue }
                throw FileSourceError.failed("cannot read \(source): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            hasher.update(bufferPointer: chunk)
            var offset = 0
            while offset < count {
                let written = write(output, chunk.baseAddress! + offset, count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw FileSourceError.failed("cannot write \(temporary): \(String(cString: strerror(errno)))")
                }
                offset += written
            }
            bytes += Int64(count)
            progress?(bytes, total)
        }
        guard fsync(output) == 0 else { throw FileSourceError.failed("cannot flush \(temporary): \(String(cString: strerror(errno)))") }
        Glibc.close(output)
        guard rename(temporary, localPath) == 0 else {
            unlink(temporary)
            completed = true
            throw FileSourceError.failed("cannot rename \(temporary): \(String(cString: strerror(errno)))")
        }
        completed = true
        return FetchedFile(localPath: localPath, bytes: bytes, sha256: Hex.lowercase(hasher.finalize()))
    }

    public func ensureFolder(_ folder: String) async throws {
        let full = absolute(folder)
        try await blocking.run {
            do {
                try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
            } catch {
                throw FileSourceError.failed("cannot create \(full): \(error.localizedDescription)")
            }
        }
    }

    public func move(_ from: String, to: String) async throws {
        let source = absolute(from)
        let destination = absolute(to)
        try await blocking.run {
            // link + unlink never replaces an existing destination (rename would).
            if link(source, destination) != 0 {
                let code = errno
                if code == EEXIST { throw FileSourceError.destinationExists(to) }
                if code == ENOENT { throw FileSourceError.notFound(from) }
                throw FileSourceError.failed("cannot move \(from) to \(to): \(String(cString: strerror(code)))")
            }
            if unlink(source) != 0 && errno != ENOENT {
                throw FileSourceError.failed("cannot remove \(from) after linking it to \(to): \(String(cString: strerror(errno)))")
            }
        }
    }

    public func remove(_ path: String) async throws {
        let full = absolute(path)
        try await blocking.run {
            if unlink(full) != 0 {
                let code = errno
                if code == ENOENT { throw FileSourceError.notFound(path) }
                throw FileSourceError.failed("cannot remove \(full): \(FileProblem.reason(code))")
            }
        }
    }

    public func close() async {}
}
