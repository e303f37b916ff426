import Crypto
import DQTModel
import Foundation
import Ledger

#if canImport(Glibc)
    import Glibc
#endif

/// Streaming file work on this machine for the deliveries: fixed-size buffers, so memory stays flat whatever the file.
enum LocalFiles {
    static let chunkSize = 1 << 20

    /// The size and lowercase hex SHA-256 of the file at `path`, or nil when there is none.
    static func digest(_ path: String) throws -> (size: Int64, sha256: String)? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 && errno == ENOENT { return nil }
        guard fd >= 0 else { throw failure("open", path) }
        defer { _ = Glibc.close(fd) }
        var hasher = SHA256()
        var size: Int64 = 0
        try readChunks(fd, path) { chunk in
            hasher.update(bufferPointer: chunk)
            size += Int64(chunk.count)
        }
        return (size, Hex.lowercase(hasher.finalize()))
    }

    /// Copies `source` to `target` (created, or truncated when there), hitting ``ExportFailPoint/uploadChunk`` after each
    /// chunk, then flushes `target` to disk. Returns the size and SHA-256 of what was written.
    static func copy(_ source: String, to target: String, permissions: mode_t = 0o644) throws -> (size: Int64, sha256: String) {
        let input = Glibc.open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw failure("open", source) }
        defer { _ = Glibc.close(input) }
        let output = Glibc.open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, permissions)
        guard output >= 0 else { throw failure("create", target) }
        var closed = false
        defer { if !closed { _ = Glibc.close(output) } }
        var hasher = SHA256()
        var size: Int64 = 0
        try readChunks(input, source) { chunk in
            var done = 0
            while done < chunk.count {
                let written = Glibc.write(output, chunk.baseAddress! + done, chunk.count - done)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw failure("write", target)
                }
                done += written
            }
            hasher.update(bufferPointer: chunk)
            size += Int64(chunk.count)
            ExportFailPoint.uploadChunk.hit()
        }
        guard fsync(output) == 0 else { throw failure("fsync", target) }
        closed = true
        guard Glibc.close(output) == 0 else { throw failure("close", target) }
        return (size, Hex.lowercase(hasher.finalize()))
    }

    /// Flushes a folder's entries (a rename or a new link inside it) to disk.
    static func syncFolder(_ path: String) throws {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open", path) }
        defer { _ = Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw failure("fsync", path) }
    }

    /// Removes `path` if it is there.
    static func removeIfPresent(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT { throw failure("remove", path) }
    }

    private static func readChunks(_ fd: Int32, _ path: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = Glibc.read(fd, buffer.baseAddress, chunkSize)
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("read", path)
            }
            if count == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    static func failure(_ operation: String, _ path: String) -> DeliveryError {
        .localFileFailed(operation: operation, path: path, reason: String(cString: strerror(errno)))
    }
}
