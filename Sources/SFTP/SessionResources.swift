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

/// The socket, libssh2 session and SFTP channel of one connection, freed together exactly once.
/// Only ever used under ``SFTPConnection``'s lock (or before the connection exists).
final class SessionResources {
    let socket: Int32
    let session: OpaquePointer
    var sftp: OpaquePointer!
    /// Set when a transport error or timeout left libssh2's state undefined.
    private(set) var isBroken = false
    private var released = false

    init(socket: Int32, session: OpaquePointer) {
        self.socket = socket
        self.session = session
    }

    deinit {
        release(graceful: !isBroken)
    }

    /// Frees everything. `graceful` says goodbye to the server first (bounded by a short timeout); otherwise the
    /// socket is shut down first so that libssh2's own cleanup cannot block.
    func release(graceful: Bool) {
        guard !released else { return }
        released = true
        if !graceful || isBroken {
            _ = Glibc.shutdown(socket, Int32(SHUT_RDWR))
        } else {
            libssh2_session_set_timeout(session, 2000)
        }
        if let sftp {
            _ = libssh2_sftp_shutdown(sftp)
        }
        _ = libssh2_session_disconnect_ex(session, SSH_DISCONNECT_BY_APPLICATION, "closing", "")
        _ = libssh2_session_free(session)
        _ = Glibc.close(socket)
    }

    func lastError() -> LibSSH2Error {
        var message: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        let code = libssh2_session_last_error(session, &message, &length, 0)
        return LibSSH2Error(code: code, message: message.map { String(cString: $0) } ?? "")
    }

    func supportedAlgorithms(_ method: Int32) -> [String] {
        var list: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        let count = libssh2_session_supported_algs(session, method, &list)
        guard count > 0, let list else { return [] }
        defer { libssh2_free(session, list) }
        return (0..<Int(count)).compactMap { list[$0].map { String(cString: $0) } }
    }

    /// Turns a negative libssh2 return code into an ``SFTPError``; transport failures mark the session broken and
    /// shut the socket down so that cleanup cannot block.
    func failure(_ operation: String, path: String, code: Int, timeout: Duration) -> SFTPError {
        if code == Int(LIBSSH2_ERROR_SFTP_PROTOCOL) {
            return .operationFailed(operation: operation, path: path, status: SFTPStatus(rawValue: libssh2_sftp_last_error(sftp)))
        }
        let error = lastError()
        isBroken = true
        _ = Glibc.shutdown(socket, Int32(SHUT_RDWR))
        if code == Int(LIBSSH2_ERROR_TIMEOUT) {
            return .timedOut(operation: "\(operation) of \(path)", after: timeout)
        }
        return .sessionFailed(operation: operation, path: path, libssh2: error)
    }

    func open(_ path: String, flags: UInt, mode: Int, type: Int32, timeout: Duration) throws -> OpaquePointer {
        let handle = path.withCString { p in
            libssh2_sftp_open_ex(sftp, p, UInt32(strlen(p)), flags, mode, type)
        }
        if let handle { return handle }
        let operation = type == LIBSSH2_SFTP_OPENDIR ? "opendir" : "open"
        throw failure(operation, path: path, code: Int(libssh2_session_last_errno(session)), timeout: timeout)
    }

    func closeHandle(_ handle: OpaquePointer) {
        _ = libssh2_sftp_close_handle(handle)
    }

    func attributes(of path: String, followLinks: Bool, timeout: Duration) throws -> SFTPFileInfo {
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        let rc = path.withCString { p in
            libssh2_sftp_stat_ex(
                sftp, p, UInt32(strlen(p)), followLinks ? LIBSSH2_SFTP_STAT : LIBSSH2_SFTP_LSTAT, &attributes)
        }
        if rc < 0 { throw failure(followLinks ? "stat" : "lstat", path: path, code: Int(rc), timeout: timeout) }
        return Self.fileInfo(path: path, attributes: attributes)
    }

    static func fileInfo(path: String, attributes: LIBSSH2_SFTP_ATTRIBUTES) -> SFTPFileInfo {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let mode = attributes.flags & UInt(LIBSSH2_SFTP_ATTR_PERMISSIONS) != 0 ? UInt32(attributes.permissions) : 0
        let kind: SFTPFileInfo.Kind
        switch mode & UInt32(LIBSSH2_SFTP_S_IFMT) {
        case UInt32(LIBSSH2_SFTP_S_IFREG): kind = .file
        case UInt32(LIBSSH2_SFTP_S_IFDIR): kind = .directory
        case UInt32(LIBSSH2_SFTP_S_IFLNK): kind = .symbolicLink
        default: kind = .other
        }
        let size = attributes.flags & UInt(LIBSSH2_SFTP_ATTR_SIZE) != 0 ? Int64(attributes.filesize) : 0
        let mtime = attributes.flags & UInt(LIBSSH2_SFTP_ATTR_ACMODTIME) != 0 ? Double(attributes.mtime) : 0
        return SFTPFileInfo(
            path: path, name: name, kind: kind, size: size,
            modificationTime: Date(timeIntervalSince1970: mtime), permissions: mode & 0o7777)
    }
}
