import CLibSSH2
import Crypto
import DQTModel
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The local side of a download: a temporary file next to the final path, renamed into place when complete.
final class LocalPartFile {
    let finalPath: String
    let temporaryPath: String
    private var fd: Int32

    init(finalPath: String) throws {
        self.finalPath = finalPath
        let url = URL(fileURLWithPath: finalPath)
        let directory = url.deletingLastPathComponent().path
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        self.temporaryPath = directory + "/." + url.lastPathComponent + ".part-" + suffix
        // Read-write: a parallel download hashes what its streams wrote by reading it back (from the page cache).
        fd = Glibc.open(temporaryPath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw SFTPError.localFileFailed(operation: "create", path: temporaryPath, reason: errnoDescription())
        }
    }

    deinit {
        if fd >= 0 { _ = Glibc.close(fd) }
    }

    /// Writes `bytes` at `offset` (the streams of a parallel download write their chunks in any order).
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        var done = 0
        while done < bytes.count {
            let written = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if written < 0 {
                if errno == EINTR { continue }
                throw SFTPError.localFileFailed(operation: "write", path: temporaryPath, reason: errnoDescription())
            }
            done += written
        }
    }

    /// Fills `buffer` with the bytes at `offset`, which must already have been written.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws {
        var done = 0
        while done < buffer.count {
            let count = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if count < 0 && errno == EINTR { continue }
            if count <= 0 {
                let reason = count == 0 ? "ended before what was written" : errnoDescription()
                throw SFTPError.localFileFailed(operation: "read back", path: temporaryPath, reason: reason)
            }
            done += count
        }
    }

    /// Flushes to disk, closes and renames onto the final path, then flushes the folder so the name survives a
    /// crash too.
    func commit() throws {
        if fsync(fd) != 0 {
            throw SFTPError.localFileFailed(operation: "fsync", path: temporaryPath, reason: errnoDescription())
        }
        let closed = Glibc.close(fd)
        fd = -1
        if closed != 0 {
            throw SFTPError.localFileFailed(operation: "close", path: temporaryPath, reason: errnoDescription())
        }
        if Glibc.rename(temporaryPath, finalPath) != 0 {
            throw SFTPError.localFileFailed(operation: "rename", path: finalPath, reason: errnoDescription())
        }
        let directory = Glibc.open(URL(fileURLWithPath: finalPath).deletingLastPathComponent().path, O_RDONLY | O_CLOEXEC)
        if directory >= 0 {
            _ = fsync(directory)
            _ = Glibc.close(directory)
        }
    }

    /// Removes the temporary file after a failure.
    func discard() {
        if fd >= 0 {
            _ = Glibc.close(fd)
            fd = -1
        }
        _ = unlink(temporaryPath)
    }
}
