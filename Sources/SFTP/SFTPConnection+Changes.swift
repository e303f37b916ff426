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

extension SFTPConnection {
    /// Copies the local file at `localPath` to `remotePath`, creating or truncating it, in chunks of
    /// ``SFTPConfiguration/readBufferSize``. Written in place (not atomically): for tests, demos and tools.
    ///
    /// - Returns: the number of bytes sent.
    @discardableResult
    public func upload(localPath: String, to remotePath: String, permissions: UInt32 = 0o644) throws -> Int64 {
        let bufferSize = min(max(configuration.readBufferSize, 32 * 1024), 4 * 1024 * 1024)
        return try withSession("upload", path: remotePath) { session, timeout in
            let fd = Glibc.open(localPath, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw SFTPError.localFileFailed(operation: "open", path: localPath, reason: errnoDescription())
            }
            defer { _ = Glibc.close(fd) }
            let handle = try session.open(
                remotePath, flags: UInt(LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC),
                mode: Int(permissions), type: Int32(LIBSSH2_SFTP_OPENFILE), timeout: timeout)
            defer { session.closeHandle(handle) }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 16)
            defer { buffer.deallocate() }
            var total: Int64 = 0
            while true {
                let count = Glibc.read(fd, buffer.baseAddress, bufferSize)
                if count < 0 {
                    if errno == EINTR { continue }
                    throw SFTPError.localFileFailed(operation: "read", path: localPath, reason: errnoDescription())
                }
                if count == 0 { break }
                var offset = 0
                while offset < count {
                    let written = libssh2_sftp_write(
                        handle, buffer.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self),
                        count - offset)
                    if written < 0 {
                        throw session.failure("upload", path: remotePath, code: written, timeout: timeout)
                    }
                    offset += written
                }
                total += Int64(count)
            }
            return total
        }
    }

    /// Renames `source` to `destination` (for moving a handled file into `processed/` or `quarantine/`).
    ///
    /// OpenSSH's server never replaces an existing destination and libssh2 1.10 has no posix-rename, so a taken
    /// name fails with ``SFTPError/destinationExists(from:to:)``: give archived files unique names.
    public func rename(from source: String, to destination: String) throws {
        try withSession("rename", path: source) { session, timeout in
            let flags = Int(LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE)
            let rc = source.withCString { src in
                destination.withCString { dst in
                    libssh2_sftp_rename_ex(
                        session.sftp, src, UInt32(strlen(src)), dst, UInt32(strlen(dst)), flags)
                }
            }
            guard rc < 0 else { return }
            let error = session.failure("rename", path: "\(source) -> \(destination)", code: Int(rc), timeout: timeout)
            if case .operationFailed(_, _, let status) = error,
                status == .failure || status == .fileAlreadyExists,
                (try? session.attributes(of: destination, followLinks: false, timeout: timeout)) != nil
            {
                throw SFTPError.destinationExists(from: source, to: destination)
            }
            throw error
        }
    }

    /// Creates the folder `path`. An existing folder is fine (OpenSSH answers FAILURE for it; this checks and
    /// returns); an existing non-folder throws ``SFTPError/notADirectory(path:)``. Not recursive.
    public func makeDirectory(_ path: String, permissions: UInt32 = 0o755) throws {
        try withSession("mkdir", path: path) { session, timeout in
            let rc = path.withCString { p in
                libssh2_sftp_mkdir_ex(session.sftp, p, UInt32(strlen(p)), Int(permissions))
            }
            guard rc < 0 else { return }
            let error = session.failure("mkdir", path: path, code: Int(rc), timeout: timeout)
            guard case .operationFailed = error else { throw error }
            guard let existing = try? session.attributes(of: path, followLinks: true, timeout: timeout) else {
                throw error
            }
            guard existing.kind == .directory else { throw SFTPError.notADirectory(path: path) }
        }
    }

    /// Deletes the file (or link) `path`.
    public func remove(_ path: String) throws {
        try withSession("remove", path: path) { session, timeout in
            let rc = path.withCString { p in libssh2_sftp_unlink_ex(session.sftp, p, UInt32(strlen(p))) }
            if rc < 0 { throw session.failure("remove", path: path, code: Int(rc), timeout: timeout) }
        }
    }

    /// Deletes the empty folder `path`.
    public func removeDirectory(_ path: String) throws {
        try withSession("rmdir", path: path) { session, timeout in
            let rc = path.withCString { p in libssh2_sftp_rmdir_ex(session.sftp, p, UInt32(strlen(p))) }
            if rc < 0 { throw session.failure("rmdir", path: path, code: Int(rc), timeout: timeout) }
        }
    }
}
