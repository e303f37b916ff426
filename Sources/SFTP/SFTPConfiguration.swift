public import Foundation

/// Everything an ``SFTPConnection`` needs to reach one SFTP server and prove who it is.
///
/// There is deliberately no option to skip host-key verification: ``knownHostsPath`` is required, and a server
/// whose key is not in that file (for exactly this host and port) is refused.
///
/// The passphrase is held as an ``SFTPSecret``, whose descriptions are redacted, so printing or logging a
/// configuration never reveals it.
public struct SFTPConfiguration: Sendable {
    /// The server's host name or IP address, exactly as it is written in the known_hosts file.
    public var host: String
    /// The server's TCP port (22 unless the partner says otherwise). For any port other than 22 the known_hosts
    /// entry must be written `[host]:port`.
    public var port: Int
    /// The account to log in as.
    public var user: String
    /// The private key file (OpenSSH or PEM format; ed25519 or RSA).
    public var privateKeyPath: String
    /// The public key file. `nil` (the default) lets libssh2 derive the public key from the private key.
    public var publicKeyPath: String?
    /// The private key's passphrase, or `nil` for an unencrypted key. Read it from a file or the environment with
    /// ``SFTPSecret/init(contentsOfFile:)`` or ``SFTPSecret/init(environmentVariable:)``; never put it in a config
    /// file.
    public var passphrase: SFTPSecret?
    /// The OpenSSH known_hosts file holding the server's host key. Plain and hashed (`|1|salt|hash`) host entries
    /// are understood, as are comma-separated patterns, `*`/`?` wildcards, `!` negations and `@revoked` markers.
    public var knownHostsPath: String
    /// Bound on the TCP connect and, separately, on the SSH handshake plus authentication.
    public var connectTimeout: Duration
    /// Bound on any single blocking libssh2 call after login (one read, one stat, one rename...). A call that
    /// exceeds it fails with ``SFTPError/timedOut(operation:after:)`` and the connection is then unusable.
    public var operationTimeout: Duration
    /// How often an SSH keepalive is sent when the connection is otherwise idle, or `nil` for none. libssh2 sends
    /// them only when asked: ``SFTPConnection`` asks before every operation, and callers that hold an idle
    /// connection open should call ``SFTPConnection/sendKeepalive()``.
    public var keepaliveInterval: Duration?
    /// Size of each read during ``SFTPConnection/download(remotePath:to:progress:)`` (libssh2 keeps up to four
    /// times this in flight). 256 KiB to 1 MiB is fastest on loopback; values are clamped to 32 KiB...4 MiB.
    public var readBufferSize: Int
    /// How many SFTP sessions download one large file together (see ``parallelDownloadThreshold``); 1 downloads every
    /// file over this connection alone. The extra sessions are opened with this same configuration (same host-key
    /// check, same key) once the download has started, and closed after the file. One libssh2 session is bound by
    /// its own pipeline at about three quarters of OpenSSH's speed; two use the idle CPU and match it. Set 1 for a
    /// server that limits sessions per user: when an extra session is refused the download goes on with fewer.
    public var downloadStreams: Int
    /// Files at least this large (by the size the server reports when the file is opened) are downloaded over
    /// ``downloadStreams`` sessions; smaller ones over one, since opening a session costs a handshake and a login.
    public var parallelDownloadThreshold: Int64
    /// The ranges of a parallel download that the streams claim one at a time, so that a late or slow stream never
    /// leaves a long tail to the others. Clamped to at least ``readBufferSize``.
    public var downloadChunkSize: Int

    /// Creates a configuration. Only the connection's identity and trust anchors are required; the timeouts default
    /// to values suited to a batch job.
    public init(
        host: String,
        port: Int = 22,
        user: String,
        privateKeyPath: String,
        publicKeyPath: String? = nil,
        passphrase: SFTPSecret? = nil,
        knownHostsPath: String,
        connectTimeout: Duration = .seconds(10),
        operationTimeout: Duration = .seconds(60),
        keepaliveInterval: Duration? = .seconds(30),
        readBufferSize: Int = 256 * 1024,
        downloadStreams: Int = 2,
        parallelDownloadThreshold: Int64 = 32 * 1024 * 1024,
        downloadChunkSize: Int = 8 * 1024 * 1024
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.privateKeyPath = privateKeyPath
        self.publicKeyPath = publicKeyPath
        self.passphrase = passphrase
        self.knownHostsPath = knownHostsPath
        self.connectTimeout = connectTimeout
        self.operationTimeout = operationTimeout
        self.keepaliveInterval = keepaliveInterval
        self.readBufferSize = readBufferSize
        self.downloadStreams = downloadStreams
        self.parallelDownloadThreshold = parallelDownloadThreshold
        self.downloadChunkSize = downloadChunkSize
    }
}

extension SFTPConfiguration: CustomStringConvertible {
    /// A one-line summary without the passphrase (it only says whether one is set).
    public var description: String {
        "sftp://\(user)@\(host):\(port) key=\(privateKeyPath) passphrase=\(passphrase == nil ? "none" : "set") "
            + "known_hosts=\(knownHostsPath)"
    }
}

/// A secret string (a key passphrase) that never appears in descriptions, debug output, mirrors or logs.
public struct SFTPSecret: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The secret itself; only the connection reads it, to hand it to libssh2.
    let value: String

    /// Wraps a secret the caller already holds.
    public init(_ value: String) {
        self.value = value
    }

    /// Reads a secret from a file, dropping one trailing line end (`\n` or `\r\n`) as written by `echo`.
    ///
    /// - Throws: ``SFTPError/secretUnavailable(source:reason:)`` naming the file, never its contents.
    public init(contentsOfFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SFTPError.secretUnavailable(source: "file \(path)", reason: "cannot be read")
        }
        guard var text = String(data: data, encoding: .utf8) else {
            throw SFTPError.secretUnavailable(source: "file \(path)", reason: "is not UTF-8")
        }
        if text.hasSuffix("\r\n") {
            text.removeLast(2)
        } else if text.hasSuffix("\n") {
            text.removeLast()
        }
        guard !text.isEmpty else {
            throw SFTPError.secretUnavailable(source: "file \(path)", reason: "is empty")
        }
        self.value = text
    }

    /// Reads a secret from an environment variable.
    ///
    /// - Throws: ``SFTPError/secretUnavailable(source:reason:)`` naming the variable when it is unset or empty.
    public init(environmentVariable name: String, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws
    {
        guard let value = environment[name], !value.isEmpty else {
            throw SFTPError.secretUnavailable(source: "environment variable \(name)", reason: "is not set")
        }
        self.value = value
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "SFTPSecret(<redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

extension Duration {
    /// Whole milliseconds, at least 1, for libssh2's and poll(2)'s millisecond timeouts.
    var milliseconds: Int {
        let (seconds, attoseconds) = components
        let ms = seconds.multipliedReportingOverflow(by: 1000)
        if ms.overflow { return Int(Int32.max) }
        return max(1, min(Int(Int32.max), Int(ms.partialValue + attoseconds / 1_000_000_000_000_000)))
    }
}
