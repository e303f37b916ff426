import CLibSSH2
import Crypto
import DQTModel
import Foundation
public import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One authenticated SFTP session over libssh2: it owns the TCP socket, the libssh2 session and its SFTP channel,
/// and frees all three in ``close()`` or, at the latest, in `deinit`.
///
/// ```swift
/// let configuration = SFTPConfiguration(
///     host: "sftp.partner.example", port: 2222, user: "dqt",
///     privateKeyPath: "/etc/dqt/id_ed25519", passphrase: try SFTPSecret(environmentVariable: "DQT_SFTP_PASSPHRASE"),
///     knownHostsPath: "/etc/dqt/known_hosts")
/// let connection = try SFTPConnection(configuration: configuration)   // blocks
/// defer { connection.close() }
/// for file in try connection.list(directory: "outbound") {
///     let download = try connection.download(remotePath: file.path, to: "/var/lib/dqt/work/\(file.name)")
///     try connection.rename(from: file.path, to: "outbound/processed/\(download.sha256.prefix(12))-\(file.name)")
/// }
/// ```
///
/// ## Blocking
/// Every method **blocks the calling thread** on network I/O (libssh2 runs in blocking mode) for up to
/// ``SFTPConfiguration/operationTimeout`` per libssh2 call. Never call it on Swift concurrency's cooperative pool
/// or an event loop: run it on a dedicated thread (for example `NIOThreadPool.runIfActive`, or a `Thread`).
///
/// ## Thread safety
/// A libssh2 session is not thread-safe; an internal lock serialises the methods, so a connection may be shared
/// between threads, but its operations run one at a time. Open several connections for parallel transfers.
///
/// ## Trust
/// ``init(configuration:logger:)`` always verifies the server's host key against
/// ``SFTPConfiguration/knownHostsPath`` for exactly the configured host and port, before authenticating. There is
/// no way to skip this.
///
/// ## Failure
/// A timeout or transport error leaves libssh2's state undefined: the connection then closes itself and every later
/// call throws ``SFTPError/connectionClosed(reason:)``. Server-side refusals (``SFTPError/operationFailed(operation:path:status:)``,
/// ``SFTPError/destinationExists(from:to:)``) leave it usable.
public final class SFTPConnection: @unchecked Sendable {
    // @unchecked: all mutable state (`resources`, `closedReason`) is guarded by `lock`.

    /// The configuration this connection was opened with.
    public let configuration: SFTPConfiguration
    /// The fingerprint of the host key the server presented and the known_hosts file vouched for.
    public let hostKeyFingerprint: HostKeyFingerprint
    /// The algorithms the handshake settled on.
    public let negotiatedAlgorithms: SFTPNegotiatedAlgorithms

    let logger: Logger
    private let lock = NSLock()
    private var resources: SessionResources?
    private var closedReason = "closed by the caller"

    /// Connects, verifies the host key, authenticates with the configured key and opens the SFTP subsystem.
    /// Blocks for up to twice ``SFTPConfiguration/connectTimeout`` (TCP connect, then handshake and login).
    ///
    /// - Throws: ``SFTPError``: among others `.knownHostsUnreadable`, `.hostKeyUnknown`, `.hostKeyMismatch`,
    ///   `.hostKeyRevoked`, `.negotiationFailed`, `.privateKeyUnusable`, `.authenticationFailed`.
    public init(configuration: SFTPConfiguration, logger: Logger = Logger(label: "dqt.sftp")) throws {
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "sftp.host"] = "\(configuration.host):\(configuration.port)"
        self.logger = logger
        let started = ContinuousClock.now
        let established = try Self.establish(configuration)
        self.resources = established.resources
        self.hostKeyFingerprint = established.fingerprint
        self.negotiatedAlgorithms = established.algorithms
        logger.debug(
            "SFTP session open",
            metadata: [
                "sftp.user": "\(configuration.user)",
                "sftp.hostkey": "\(established.fingerprint)",
                "sftp.algorithms": "\(established.algorithms)",
                "sftp.connect_ms": "\((ContinuousClock.now - started).milliseconds)",
            ]
        )
    }

    deinit {
        resources?.release(graceful: true)
    }

    /// Ends the SFTP subsystem and the SSH session politely and closes the socket. Idempotent; later calls on this
    /// connection throw ``SFTPError/connectionClosed(reason:)``.
    public func close() {
        lock.withLock {
            resources?.release(graceful: true)
            resources = nil
        }
    }

    /// Whether the connection can still be used (not closed and not broken by a transport error).
    public var isOpen: Bool {
        lock.withLock { resources != nil }
    }

    /// Sends an SSH keepalive if ``SFTPConfiguration/keepaliveInterval`` has passed since the last traffic.
    /// Call it now and then while holding an idle connection; every operation calls it first anyway.
    ///
    /// - Returns: the seconds until the next keepalive is due.
    @discardableResult
    public func sendKeepalive() throws -> Int {
        try withSession("keepalive", path: "-") { session, _ in
            var next: Int32 = 0
            let rc = libssh2_keepalive_send(session.session, &next)
            if rc < 0 { throw session.failure("keepalive", path: "-", code: Int(rc), timeout: configuration.operationTimeout) }
            return Int(next)
        }
    }

    /// Runs `body` with the session under the lock, after a keepalive check. A transport failure inside releases
    /// the session, so later calls fail fast with `.connectionClosed`.
    func withSession<T>(
        _ operation: String, path: String, _ body: (SessionResources, Duration) throws -> T
    ) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        guard let session = resources else { throw SFTPError.connectionClosed(reason: closedReason) }
        if configuration.keepaliveInterval != nil {
            var next: Int32 = 0
            _ = libssh2_keepalive_send(session.session, &next)
        }
        do {
            return try body(session, configuration.operationTimeout)
        } catch {
            if session.isBroken {
                closedReason = "broken by an earlier error (\(error))"
                logger.warning("SFTP connection broken", metadata: ["sftp.error": "\(error)"])
                session.release(graceful: false)
                resources = nil
            }
            throw error
        }
    }
}
