/// Every failure of the SFTP module.
///
/// Descriptions are written for an operator reading a run's log: they name the host, port, path and operation,
/// include libssh2's own error text and the SFTP status code's protocol name (`NO_SUCH_FILE`, `PERMISSION_DENIED`,
/// `FAILURE`, ...), and never contain a passphrase or any file's contents.
public enum SFTPError: Error, Sendable, Equatable {
    /// The configuration cannot work (empty host, port out of range...).
    case invalidConfiguration(String)
    /// A passphrase file or variable could not be read. `source` names the file or variable, never the value.
    case secretUnavailable(source: String, reason: String)
    /// `libssh2_init` failed (out of memory or the crypto backend could not start).
    case libraryInitializationFailed(code: Int32)
    /// The host name did not resolve.
    case hostResolutionFailed(host: String, port: Int, reason: String)
    /// No address of the host accepted a TCP connection.
    case connectFailed(host: String, port: Int, reason: String)
    /// The TCP connection was not established within the connect timeout.
    case connectTimedOut(host: String, port: Int, after: Duration)
    /// The SSH handshake failed for a reason other than algorithm negotiation.
    case handshakeFailed(host: String, port: Int, libssh2: LibSSH2Error)
    /// Client and server share no algorithm in some category. `offered` lists, per category (kex, hostkey,
    /// cipher, mac), what this client offered; libssh2 does not expose the server's list, see the server's log.
    case negotiationFailed(host: String, port: Int, libssh2: LibSSH2Error, offered: [String: [String]])
    /// The known_hosts file is missing or unreadable.
    case knownHostsUnreadable(path: String, reason: String)
    /// The server's host key is not in the known_hosts file for this host and port. The key is refused; an operator
    /// who has confirmed the fingerprint out of band adds it (`[host]:port` form for ports other than 22).
    case hostKeyUnknown(host: String, port: Int, fingerprint: HostKeyFingerprint)
    /// The known_hosts file has entries for this host and port, but none holds the key the server presented:
    /// the key changed (rotation) or someone is in the middle. `line` is the first conflicting entry.
    case hostKeyMismatch(host: String, port: Int, fingerprint: HostKeyFingerprint, knownHostsPath: String, line: Int)
    /// The server presented a key marked `@revoked` in the known_hosts file.
    case hostKeyRevoked(host: String, port: Int, fingerprint: HostKeyFingerprint, knownHostsPath: String, line: Int)
    /// The private key could not be used: unreadable file, unsupported format, or wrong or missing passphrase.
    case privateKeyUnusable(path: String, libssh2: LibSSH2Error)
    /// The server did not accept the key for this user.
    case authenticationFailed(user: String, host: String, port: Int, libssh2: LibSSH2Error)
    /// The SFTP subsystem could not be started after login.
    case subsystemFailed(libssh2: LibSSH2Error)
    /// A blocking call exceeded the configured timeout. The connection is unusable afterwards.
    case timedOut(operation: String, after: Duration)
    /// The server answered an SFTP request with an error status.
    case operationFailed(operation: String, path: String, status: SFTPStatus)
    /// A libssh2 (transport) error during an SFTP operation. The connection is unusable afterwards.
    case sessionFailed(operation: String, path: String, libssh2: LibSSH2Error)
    /// `rename` refused because the destination exists. OpenSSH's server never overwrites on rename (and libssh2
    /// 1.10 has no posix-rename), so archive names must be unique.
    case destinationExists(from: String, to: String)
    /// A path that must be a regular file (a download's source) is something else.
    case notAFile(path: String)
    /// A path that must be a directory is something else.
    case notADirectory(path: String)
    /// The file ended before the size the server reported when it was opened: it was truncated or replaced during
    /// the download. Nothing is kept; try again once the file is stable.
    case fileShrank(path: String, expectedBytes: Int64, endedAt: Int64)
    /// A local file operation failed (download target, upload source).
    case localFileFailed(operation: String, path: String, reason: String)
    /// The connection was closed by ``SFTPConnection/close()`` or broken by an earlier transport error.
    case connectionClosed(reason: String)
}

extension SFTPError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .invalidConfiguration(let reason):
            return "invalid SFTP configuration: \(reason)"
        case .secretUnavailable(let source, let reason):
            return "SFTP key passphrase unavailable: \(source) \(reason)"
        case .libraryInitializationFailed(let code):
            return "libssh2_init failed (\(LibSSH2Error.name(of: code)))"
        case .hostResolutionFailed(let host, let port, let reason):
            return "cannot resolve SFTP host \(host) (port \(port)): \(reason)"
        case .connectFailed(let host, let port, let reason):
            return "cannot connect to SFTP server \(host):\(port): \(reason)"
        case .connectTimedOut(let host, let port, let after):
            return "connecting to SFTP server \(host):\(port) timed out after \(after)"
        case .handshakeFailed(let host, let port, let error):
            return "SSH handshake with \(host):\(port) failed: \(error)"
        case .negotiationFailed(let host, let port, let error, let offered):
            let list = offered.keys.sorted().map { "\($0): \(offered[$0]!.joined(separator: ","))" }
                .joined(separator: "; ")
            return "SSH algorithm negotiation with \(host):\(port) failed: \(error). This client offered \(list) "
                + "(libssh2 does not expose the server's list; see the server's log or `ssh -vv`)"
        case .knownHostsUnreadable(let path, let reason):
            return "known_hosts file \(path) cannot be used: \(reason); host keys are always verified"
        case .hostKeyUnknown(let host, let port, let fingerprint):
            return "SFTP server \(host):\(port) presented host key \(fingerprint), which is not in known_hosts "
                + "for \(KnownHosts.hostPattern(host: host, port: port)); refused. Confirm the fingerprint with the "
                + "server's owner, then add the key"
        case .hostKeyMismatch(let host, let port, let fingerprint, let path, let line):
            return "SFTP server \(host):\(port) presented host key \(fingerprint), which does not match "
                + "\(path):\(line) for \(KnownHosts.hostPattern(host: host, port: port)): the key changed or the "
                + "connection is intercepted; refused"
        case .hostKeyRevoked(let host, let port, let fingerprint, let path, let line):
            return "SFTP server \(host):\(port) presented host key \(fingerprint), which \(path):\(line) marks "
                + "@revoked; refused"
        case .privateKeyUnusable(let path, let error):
            return "private key \(path) cannot be used (wrong or missing passphrase, or unsupported format): \(error)"
        case .authenticationFailed(let user, let host, let port, let error):
            return "SFTP server \(host):\(port) refused public-key authentication for user \(user): \(error)"
        case .subsystemFailed(let error):
            return "cannot start the SFTP subsystem: \(error)"
        case .timedOut(let operation, let after):
            return "SFTP \(operation) timed out after \(after)"
        case .operationFailed(let operation, let path, let status):
            return "SFTP \(operation) of \(path) failed: \(status)"
        case .sessionFailed(let operation, let path, let error):
            return "SFTP \(operation) of \(path) failed: \(error)"
        case .destinationExists(let from, let to):
            return "SFTP rename of \(from) to \(to) refused: \(to) already exists (the server never overwrites on "
                + "rename; choose a unique name)"
        case .notAFile(let path):
            return "SFTP path \(path) is not a regular file"
        case .notADirectory(let path):
            return "SFTP path \(path) exists but is not a directory"
        case .fileShrank(let path, let expectedBytes, let endedAt):
            return "SFTP download of \(path) failed: the file ended at byte \(endedAt) but had \(expectedBytes) bytes "
                + "when it was opened (it changed during the download); nothing was kept"
        case .localFileFailed(let operation, let path, let reason):
            return "local \(operation) of \(path) failed: \(reason)"
        case .connectionClosed(let reason):
            return "SFTP connection is closed: \(reason)"
        }
    }
}

/// An error reported by libssh2: its numeric code, the code's symbolic name and libssh2's own message.
public struct LibSSH2Error: Sendable, Equatable, CustomStringConvertible {
    /// The `LIBSSH2_ERROR_*` code (negative).
    public let code: Int32
    /// libssh2's message for the last error of the session.
    public let message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    /// The code's name without the `LIBSSH2_ERROR_` prefix, e.g. `KEX_FAILURE`.
    public var name: String { Self.name(of: code) }

    public var description: String {
        message.isEmpty ? "\(name) (\(code))" : "\(message) [\(name) (\(code))]"
    }

    static func name(of code: Int32) -> String {
        switch code {
        case 0: return "NONE"
        case -1: return "SOCKET_NONE"
        case -2: return "BANNER_RECV"
        case -3: return "BANNER_SEND"
        case -4: return "INVALID_MAC"
        case -5: return "KEX_FAILURE"
        case -6: return "ALLOC"
        case -7: return "SOCKET_SEND"
        case -8: return "KEY_EXCHANGE_FAILURE"
        case -9: return "TIMEOUT"
        case -10: return "HOSTKEY_INIT"
        case -11: return "HOSTKEY_SIGN"
        case -12: return "DECRYPT"
        case -13: return "SOCKET_DISCONNECT"
        case -14: return "PROTO"
        case -15: return "PASSWORD_EXPIRED"
        case -16: return "FILE"
        case -17: return "METHOD_NONE"
        case -18: return "AUTHENTICATION_FAILED"
        case -19: return "PUBLICKEY_UNVERIFIED"
        case -20: return "CHANNEL_OUTOFORDER"
        case -21: return "CHANNEL_FAILURE"
        case -22: return "CHANNEL_REQUEST_DENIED"
        case -23: return "CHANNEL_UNKNOWN"
        case -24: return "CHANNEL_WINDOW_EXCEEDED"
        case -25: return "CHANNEL_PACKET_EXCEEDED"
        case -26: return "CHANNEL_CLOSED"
        case -27: return "CHANNEL_EOF_SENT"
        case -28: return "SCP_PROTOCOL"
        case -29: return "ZLIB"
        case -30: return "SOCKET_TIMEOUT"
        case -31: return "SFTP_PROTOCOL"
        case -32: return "REQUEST_DENIED"
        case -33: return "METHOD_NOT_SUPPORTED"
        case -34: return "INVAL"
        case -35: return "INVALID_POLL_TYPE"
        case -36: return "PUBLICKEY_PROTOCOL"
        case -37: return "EAGAIN"
        case -38: return "BUFFER_TOO_SMALL"
        case -39: return "BAD_USE"
        case -40: return "COMPRESS"
        case -41: return "OUT_OF_BOUNDARY"
        case -42: return "AGENT_PROTOCOL"
        case -43: return "SOCKET_RECV"
        case -44: return "ENCRYPT"
        case -45: return "BAD_SOCKET"
        case -46: return "KNOWN_HOSTS"
        case -47: return "CHANNEL_WINDOW_FULL"
        case -48: return "KEYFILE_AUTH_FAILED"
        case -49: return "RANDGEN"
        default: return "UNKNOWN_ERROR"
        }
    }
}

/// An SFTP status code (draft-ietf-secsh-filexfer-02 and later), named as in the protocol.
public struct SFTPStatus: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt

    public init(rawValue: UInt) {
        self.rawValue = rawValue
    }

    public static let ok = SFTPStatus(rawValue: 0)
    public static let eof = SFTPStatus(rawValue: 1)
    public static let noSuchFile = SFTPStatus(rawValue: 2)
    public static let permissionDenied = SFTPStatus(rawValue: 3)
    /// OpenSSH's catch-all; also what it answers for rename onto an existing name and mkdir of an existing folder.
    public static let failure = SFTPStatus(rawValue: 4)
    public static let badMessage = SFTPStatus(rawValue: 5)
    public static let noConnection = SFTPStatus(rawValue: 6)
    public static let connectionLost = SFTPStatus(rawValue: 7)
    public static let operationUnsupported = SFTPStatus(rawValue: 8)
    public static let invalidHandle = SFTPStatus(rawValue: 9)
    public static let noSuchPath = SFTPStatus(rawValue: 10)
    public static let fileAlreadyExists = SFTPStatus(rawValue: 11)
    public static let writeProtect = SFTPStatus(rawValue: 12)
    public static let noMedia = SFTPStatus(rawValue: 13)
    public static let noSpaceOnFilesystem = SFTPStatus(rawValue: 14)
    public static let quotaExceeded = SFTPStatus(rawValue: 15)
    public static let unknownPrincipal = SFTPStatus(rawValue: 16)
    public static let lockConflict = SFTPStatus(rawValue: 17)
    public static let directoryNotEmpty = SFTPStatus(rawValue: 18)
    public static let notADirectory = SFTPStatus(rawValue: 19)
    public static let invalidFilename = SFTPStatus(rawValue: 20)
    public static let linkLoop = SFTPStatus(rawValue: 21)

    /// The protocol's name for the code, e.g. `NO_SUCH_FILE`.
    public var name: String {
        let names = [
            "OK", "EOF", "NO_SUCH_FILE", "PERMISSION_DENIED", "FAILURE", "BAD_MESSAGE", "NO_CONNECTION",
            "CONNECTION_LOST", "OP_UNSUPPORTED", "INVALID_HANDLE", "NO_SUCH_PATH", "FILE_ALREADY_EXISTS",
            "WRITE_PROTECT", "NO_MEDIA", "NO_SPACE_ON_FILESYSTEM", "QUOTA_EXCEEDED", "UNKNOWN_PRINCIPAL",
            "LOCK_CONFLICT", "DIR_NOT_EMPTY", "NOT_A_DIRECTORY", "INVALID_FILENAME", "LINK_LOOP",
        ]
        return rawValue < names.count ? names[Int(rawValue)] : "UNKNOWN_STATUS"
    }

    /// True for the codes that mean the path does not exist.
    public var isNotFound: Bool { self == .noSuchFile || self == .noSuchPath }

    public var description: String { "\(name) (SFTP status \(rawValue))" }
}
