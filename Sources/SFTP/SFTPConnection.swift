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

    private let logger: Logger
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

    // MARK: - Metadata

    /// The attributes of `path`, following symbolic links.
    ///
    /// - Throws: ``SFTPError/operationFailed(operation:path:status:)`` with `NO_SUCH_FILE` when it does not exist.
    public func stat(_ path: String) throws -> SFTPFileInfo {
        try withSession("stat", path: path) { session, _ in
            try session.attributes(of: path, followLinks: true, timeout: configuration.operationTimeout)
        }
    }

    /// Whether anything (file, folder or link, even a dangling one) exists at `path`.
    public func exists(_ path: String) throws -> Bool {
        try withSession("stat", path: path) { session, _ in
            do {
                _ = try session.attributes(of: path, followLinks: false, timeout: configuration.operationTimeout)
                return true
            } catch SFTPError.operationFailed(_, _, let status) where status.isNotFound {
                return false
            }
        }
    }

    /// The regular files in `directory`, sorted by name: not folders, not special files, and symbolic links only
    /// when they point at a regular file (then with the target's size and time). Not recursive.
    ///
    /// Names are decoded as UTF-8 (invalid bytes become U+FFFD).
    public func list(directory: String) throws -> [SFTPFileInfo] {
        try withSession("list", path: directory) { session, timeout in
            let handle = try session.open(directory, flags: 0, mode: 0, type: Int32(LIBSSH2_SFTP_OPENDIR), timeout: timeout)
            defer { session.closeHandle(handle) }
            let base = directory.hasSuffix("/") ? directory : directory + "/"
            var files: [SFTPFileInfo] = []
            var nameBuffer = [CChar](repeating: 0, count: 4096)
            while true {
                var attributes = LIBSSH2_SFTP_ATTRIBUTES()
                let length = nameBuffer.withUnsafeMutableBufferPointer { buffer in
                    libssh2_sftp_readdir_ex(handle, buffer.baseAddress, buffer.count, nil, 0, &attributes)
                }
                if length == 0 { break }
                if length < 0 {
                    throw session.failure("list", path: directory, code: Int(length), timeout: timeout)
                }
                let name = nameBuffer.withUnsafeBufferPointer { buffer in
                    String(decoding: UnsafeRawBufferPointer(buffer).prefix(Int(length)), as: UTF8.self)
                }
                if name == "." || name == ".." { continue }
                let path = base + name
                var info = SessionResources.fileInfo(path: path, attributes: attributes)
                let hasType = attributes.flags & UInt(LIBSSH2_SFTP_ATTR_PERMISSIONS) != 0
                if info.kind == .symbolicLink || !hasType {
                    // Follow the link (or ask again when the listing carried no type); skip dangling links.
                    do {
                        let target = try session.attributes(of: path, followLinks: true, timeout: timeout)
                        info = SFTPFileInfo(
                            path: path, name: name, kind: target.kind, size: target.size,
                            modificationTime: target.modificationTime, permissions: target.permissions)
                    } catch SFTPError.operationFailed(_, _, let status) where status.isNotFound {
                        continue
                    }
                }
                if info.kind == .file { files.append(info) }
            }
            return files.sorted { $0.name < $1.name }
        }
    }

    // MARK: - Transfers

    /// Streams `remotePath` into `localPath`, hashing with SHA-256 as the bytes arrive; never holds the file in
    /// memory (a few buffers of ``SFTPConfiguration/readBufferSize``).
    ///
    /// A file of at least ``SFTPConfiguration/parallelDownloadThreshold`` bytes is downloaded by up to
    /// ``SFTPConfiguration/downloadStreams`` sessions at once: this connection starts at once, and the extra sessions,
    /// opened with the same configuration on their own threads meanwhile, join in (see `ParallelDownload`). An extra
    /// session that cannot be opened is logged and the download goes on with fewer; a failure of any stream fails
    /// the download. Extra sessions are closed before this returns; a transport failure on one of them leaves this
    /// connection open.
    ///
    /// The bytes go to a temporary file beside `localPath` (`.<name>.part-<random>`), which is flushed to disk and
    /// renamed onto `localPath` only once the whole file has arrived, so a partial download is never visible under
    /// the final name; on any failure the temporary file is removed. An existing `localPath` is replaced.
    ///
    /// - Parameter progress: called on the calling thread after every read of this connection, with the bytes
    ///   written by all streams, and once more at the end with the total.
    /// - Returns: the byte count and the lowercase hex SHA-256 of what was written, and how many sessions read it.
    /// - Throws: ``SFTPError``, ``SFTPError/fileShrank(path:expectedBytes:endedAt:)`` when the file ends before the
    ///   size the server reported when it was opened.
    public func download(
        remotePath: String,
        to localPath: String,
        progress: ((SFTPTransferProgress) -> Void)? = nil
    ) throws -> SFTPDownload {
        let bufferSize = min(max(configuration.readBufferSize, 32 * 1024), 4 * 1024 * 1024)
        return try withSession("download", path: remotePath) { session, timeout in
            let handle = try session.open(
                remotePath, flags: UInt(LIBSSH2_FXF_READ), mode: 0, type: Int32(LIBSSH2_SFTP_OPENFILE),
                timeout: timeout)
            defer { session.closeHandle(handle) }

            var attributes = LIBSSH2_SFTP_ATTRIBUTES()
            let rc = libssh2_sftp_fstat_ex(handle, &attributes, 0)
            if rc < 0 { throw session.failure("download", path: remotePath, code: Int(rc), timeout: timeout) }
            let info = SessionResources.fileInfo(path: remotePath, attributes: attributes)
            guard info.kind == .file else { throw SFTPError.notAFile(path: remotePath) }
            let expected = attributes.flags & UInt(LIBSSH2_SFTP_ATTR_SIZE) != 0 ? Int64(attributes.filesize) : nil

            let local = try LocalPartFile(finalPath: localPath)
            var completed = false
            defer { if !completed { local.discard() } }

            let received: (bytes: Int64, digest: SHA256Digest, streams: Int)
            if configuration.downloadStreams > 1, let expected, expected >= configuration.parallelDownloadThreshold {
                received = try downloadInParallel(
                    remotePath, handle: handle, session: session, timeout: timeout, into: local,
                    expectedBytes: expected, bufferSize: bufferSize
                ) { total in
                    progress?(SFTPTransferProgress(bytesTransferred: total, expectedBytes: expected))
                }
            } else {
                received = try downloadSequentially(
                    remotePath, handle: handle, session: session, timeout: timeout, into: local,
                    expectedBytes: expected, bufferSize: bufferSize
                ) { total in
                    progress?(SFTPTransferProgress(bytesTransferred: total, expectedBytes: expected))
                }
            }
            let digest = Hex.lowercase(received.digest)
            try local.commit()
            completed = true
            logger.debug(
                "SFTP download complete",
                metadata: [
                    "sftp.path": "\(remotePath)", "sftp.bytes": "\(received.bytes)", "sftp.sha256": "\(digest)",
                    "sftp.streams": "\(received.streams)",
                ])
            return SFTPDownload(
                remotePath: remotePath, localPath: localPath, bytes: received.bytes, sha256: digest,
                streams: received.streams)
        }
    }

    /// One stream: this thread receives (and libssh2 decrypts) the next buffer while a second thread hashes and
    /// writes the previous one. Reads to the end of the file, so a file that grew is fetched whole.
    private func downloadSequentially(
        _ remotePath: String, handle: OpaquePointer, session: SessionResources, timeout: Duration,
        into local: LocalPartFile, expectedBytes: Int64?, bufferSize: Int, afterRead: (Int64) -> Void
    ) throws -> (bytes: Int64, digest: SHA256Digest, streams: Int) {
        let sink = HashingFileSink(file: local, bufferSize: bufferSize, depth: 4)
        defer { sink.cancel() }
        var total: Int64 = 0
        while true {
            let buffer = try sink.nextFreeBuffer()
            let count = libssh2_sftp_read(handle, buffer.baseAddress!.assumingMemoryBound(to: CChar.self), bufferSize)
            if count <= 0 {
                sink.giveBack(buffer)
                if count == 0 { break }
                throw session.failure("download", path: remotePath, code: count, timeout: timeout)
            }
            sink.submit(buffer, count: count)
            total += Int64(count)
            afterRead(total)
        }
        if let expectedBytes, total < expectedBytes {
            throw SFTPError.fileShrank(path: remotePath, expectedBytes: expectedBytes, endedAt: total)
        }
        return (total, try sink.finish(), 1)
    }

    /// Several streams: this connection's `handle` on the calling thread, and one thread per extra session.
    private func downloadInParallel(
        _ remotePath: String, handle: OpaquePointer, session: SessionResources, timeout: Duration,
        into local: LocalPartFile, expectedBytes: Int64, bufferSize: Int, afterRead: @escaping (Int64) -> Void
    ) throws -> (bytes: Int64, digest: SHA256Digest, streams: Int) {
        let transfer = ParallelDownload(
            remotePath: remotePath, file: local, expectedBytes: expectedBytes,
            chunkSize: configuration.downloadChunkSize, bufferSize: bufferSize)
        let extraStreams = (1..<configuration.downloadStreams).map { _ in startExtraStream(for: transfer) }
        var reported: Int64 = 0
        do {
            try transfer.readChunks(session: session, handle: handle, timeout: timeout) { total in
                reported = total
                afterRead(total)
            }
        } catch {
            transfer.fail(error)
        }
        // Never leave a stream writing into a file that is about to be closed.
        for stream in extraStreams { stream.wait() }
        let received = try transfer.finish()
        if received.bytes != reported { afterRead(received.bytes) }
        return received
    }

    /// Opens one more session on its own thread and lets it read chunks of `transfer`; the returned semaphore is
    /// signalled once the thread is done with the session and the file. A session that cannot be opened only costs
    /// the download its help.
    private func startExtraStream(for transfer: ParallelDownload) -> DispatchSemaphore {
        let ended = DispatchSemaphore(value: 0)
        let configuration = configuration
        let logger = logger
        let thread = Thread {
            defer { ended.signal() }
            guard transfer.hasUnclaimedChunks else { return }
            let extra: SFTPConnection
            do {
                extra = try SFTPConnection(configuration: configuration, logger: logger)
            } catch {
                logger.warning(
                    "SFTP download goes on with fewer streams: an extra session could not be opened",
                    metadata: ["sftp.path": "\(transfer.remotePath)", "sftp.error": "\(error)"])
                return
            }
            defer { extra.close() }
            do {
                try extra.withSession("download", path: transfer.remotePath) { session, timeout in
                    let handle = try session.open(
                        transfer.remotePath, flags: UInt(LIBSSH2_FXF_READ), mode: 0,
                        type: Int32(LIBSSH2_SFTP_OPENFILE), timeout: timeout)
                    defer { session.closeHandle(handle) }
                    try transfer.readChunks(session: session, handle: handle, timeout: timeout, afterRead: nil)
                }
            } catch {
                transfer.fail(error)
            }
        }
        thread.name = "dqt.sftp.download-stream"
        thread.start()
        return ended
    }

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

    // MARK: - Changes

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

    // MARK: - Plumbing

    /// Runs `body` with the session under the lock, after a keepalive check. A transport failure inside releases
    /// the session, so later calls fail fast with `.connectionClosed`.
    private func withSession<T>(
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

    private static func establish(
        _ configuration: SFTPConfiguration
    ) throws -> (resources: SessionResources, fingerprint: HostKeyFingerprint, algorithms: SFTPNegotiatedAlgorithms) {
        guard !configuration.host.isEmpty else { throw SFTPError.invalidConfiguration("host is empty") }
        guard (1...65535).contains(configuration.port) else {
            throw SFTPError.invalidConfiguration("port \(configuration.port) is out of range")
        }
        guard !configuration.user.isEmpty else { throw SFTPError.invalidConfiguration("user is empty") }
        try LibSSH2Library.ensureInitialized()
        // Trust anchors first: no network I/O without a usable known_hosts file.
        let knownHosts = try KnownHosts(path: configuration.knownHostsPath)
        guard FileManager.default.isReadableFile(atPath: configuration.privateKeyPath) else {
            throw SFTPError.privateKeyUnusable(
                path: configuration.privateKeyPath,
                libssh2: LibSSH2Error(code: -16, message: "the file does not exist or cannot be read"))
        }

        let host = configuration.host
        let port = configuration.port
        let fd = try openTCPConnection(host: host, port: port, timeout: configuration.connectTimeout)
        guard let rawSession = libssh2_session_init_ex(nil, nil, nil, nil) else {
            _ = Glibc.close(fd)
            throw SFTPError.libraryInitializationFailed(code: -6)
        }
        let resources = SessionResources(socket: fd, session: rawSession)
        let session = resources.session

        libssh2_session_set_blocking(session, 1)
        libssh2_session_set_timeout(session, configuration.connectTimeout.milliseconds)
        // Offer the host-key algorithms we hold keys for first, so a server with several keys shows a known one.
        let knownTypes = knownHosts.knownKeyTypes(host: host, port: port)
        if !knownTypes.isEmpty {
            let supported = resources.supportedAlgorithms(LIBSSH2_METHOD_HOSTKEY)
            var preferred: [String] = []
            for type in knownTypes {
                let algorithms = type == "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [type]
                preferred += algorithms.filter { supported.contains($0) && !preferred.contains($0) }
            }
            preferred += supported.filter { !preferred.contains($0) }
            if !preferred.isEmpty {
                _ = libssh2_session_method_pref(session, LIBSSH2_METHOD_HOSTKEY, preferred.joined(separator: ","))
            }
        }

        let handshake = libssh2_session_handshake(session, fd)
        if handshake != 0 {
            let error = resources.lastError()
            if handshake == LIBSSH2_ERROR_TIMEOUT {
                throw SFTPError.connectTimedOut(host: host, port: port, after: configuration.connectTimeout)
            }
            if handshake == LIBSSH2_ERROR_KEX_FAILURE || handshake == LIBSSH2_ERROR_METHOD_NONE {
                var offered: [String: [String]] = [:]
                for (name, method) in [
                    ("kex", LIBSSH2_METHOD_KEX), ("hostkey", LIBSSH2_METHOD_HOSTKEY),
                    ("cipher", LIBSSH2_METHOD_CRYPT_CS), ("mac", LIBSSH2_METHOD_MAC_CS),
                ] {
                    offered[name] = resources.supportedAlgorithms(method)
                }
                throw SFTPError.negotiationFailed(host: host, port: port, libssh2: error, offered: offered)
            }
            throw SFTPError.handshakeFailed(host: host, port: port, libssh2: error)
        }

        // Host key verification: always, before anything is sent on the user's behalf.
        var keyLength = 0
        var keyType: Int32 = 0
        guard let keyPointer = libssh2_session_hostkey(session, &keyLength, &keyType), keyLength > 0 else {
            throw SFTPError.handshakeFailed(host: host, port: port, libssh2: resources.lastError())
        }
        let keyBlob = Array(UnsafeRawBufferPointer(start: keyPointer, count: keyLength))
        let fingerprint = HostKeyFingerprint(keyBlob: keyBlob)
        switch knownHosts.verify(host: host, port: port, keyBlob: keyBlob) {
        case .trusted:
            break
        case .unknown:
            throw SFTPError.hostKeyUnknown(host: host, port: port, fingerprint: fingerprint)
        case .mismatch(let line):
            throw SFTPError.hostKeyMismatch(
                host: host, port: port, fingerprint: fingerprint, knownHostsPath: knownHosts.path, line: line)
        case .revoked(let line):
            throw SFTPError.hostKeyRevoked(
                host: host, port: port, fingerprint: fingerprint, knownHostsPath: knownHosts.path, line: line)
        }

        let user = configuration.user
        let auth = user.withCString { userPointer in
            withOptionalCString(configuration.publicKeyPath) { publicKey in
                withOptionalCString(configuration.passphrase?.value) { passphrase in
                    libssh2_userauth_publickey_fromfile_ex(
                        session, userPointer, UInt32(strlen(userPointer)), publicKey, configuration.privateKeyPath,
                        passphrase)
                }
            }
        }
        if auth != 0 {
            let error = resources.lastError()
            switch auth {
            case LIBSSH2_ERROR_TIMEOUT:
                throw SFTPError.connectTimedOut(host: host, port: port, after: configuration.connectTimeout)
            case LIBSSH2_ERROR_FILE, LIBSSH2_ERROR_KEYFILE_AUTH_FAILED, LIBSSH2_ERROR_METHOD_NOT_SUPPORTED:
                throw SFTPError.privateKeyUnusable(path: configuration.privateKeyPath, libssh2: error)
            default:
                var error = error
                if privateKeyType(atPath: configuration.privateKeyPath) == "ssh-rsa" {
                    error = LibSSH2Error(
                        code: error.code,
                        message: error.message + "; note: libssh2 1.10 signs with RSA keys only as ssh-rsa (SHA-1), "
                            + "which OpenSSH 8.8 and later refuse unless the server's PubkeyAcceptedAlgorithms "
                            + "includes ssh-rsa: prefer an ed25519 key")
                }
                throw SFTPError.authenticationFailed(user: user, host: host, port: port, libssh2: error)
            }
        }

        libssh2_session_set_timeout(session, configuration.operationTimeout.milliseconds)
        // Only after the handshake: libssh2 1.10 fails the key exchange (KEY_EXCHANGE_FAILURE) when keepalives
        // are configured before it.
        if let interval = configuration.keepaliveInterval {
            libssh2_keepalive_config(session, 1, UInt32(max(2, interval.components.seconds)))
        }
        guard let sftp = libssh2_sftp_init(session) else {
            throw SFTPError.subsystemFailed(libssh2: resources.lastError())
        }
        resources.sftp = sftp

        func method(_ type: Int32) -> String {
            libssh2_session_methods(session, type).map { String(cString: $0) } ?? "?"
        }
        let algorithms = SFTPNegotiatedAlgorithms(
            keyExchange: method(LIBSSH2_METHOD_KEX), hostKey: method(LIBSSH2_METHOD_HOSTKEY),
            cipherClientToServer: method(LIBSSH2_METHOD_CRYPT_CS),
            cipherServerToClient: method(LIBSSH2_METHOD_CRYPT_SC),
            macClientToServer: method(LIBSSH2_METHOD_MAC_CS), macServerToClient: method(LIBSSH2_METHOD_MAC_SC))
        return (resources, fingerprint, algorithms)
    }
}

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

/// Hashes (SHA-256) and writes downloaded chunks on its own thread, in order, while the downloading thread fills the
/// next buffer. A fixed ring of `depth` buffers bounds memory and applies back-pressure.
private final class HashingFileSink: @unchecked Sendable {
    // @unchecked: `free`, `filled`, `finished` and `failure` are guarded by `condition`; `hasher`, `written` and `file`
    // are used only by the worker thread until `done` is signalled, then only by the caller.
    private let condition = NSCondition()
    private let done = DispatchSemaphore(value: 0)
    private let file: LocalPartFile
    private let buffers: [UnsafeMutableRawBufferPointer]
    private var free: [UnsafeMutableRawBufferPointer]
    private var filled: [(buffer: UnsafeMutableRawBufferPointer, count: Int)] = []
    private var finished = false
    private var joined = false
    private var failure: (any Error)?
    private var hasher = SHA256()
    private var written: Int64 = 0

    init(file: LocalPartFile, bufferSize: Int, depth: Int) {
        self.file = file
        self.buffers = (0..<max(2, depth)).map { _ in
            UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 64)
        }
        self.free = buffers
        let thread = Thread { [self] in self.run() }
        thread.name = "dqt.sftp.download-writer"
        thread.start()
    }

    deinit {
        for buffer in buffers { buffer.deallocate() }
    }

    /// Blocks until a buffer is free; throws the writer's error if writing has failed.
    func nextFreeBuffer() throws -> UnsafeMutableRawBufferPointer {
        condition.lock()
        defer { condition.unlock() }
        while free.isEmpty && failure == nil { condition.wait() }
        if let failure { throw failure }
        return free.removeLast()
    }

    /// Returns a buffer that was not filled.
    func giveBack(_ buffer: UnsafeMutableRawBufferPointer) {
        condition.lock()
        free.append(buffer)
        condition.unlock()
    }

    /// Queues the first `count` bytes of `buffer` for hashing and writing.
    func submit(_ buffer: UnsafeMutableRawBufferPointer, count: Int) {
        condition.lock()
        filled.append((buffer, count))
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until everything queued is written and returns the digest of all of it.
    func finish() throws -> SHA256Digest {
        join()
        if let failure { throw failure }
        return hasher.finalize()
    }

    /// Stops the worker (after the chunks already queued) and waits for it. Idempotent.
    func cancel() {
        join()
    }

    private func join() {
        condition.lock()
        let alreadyJoined = joined
        joined = true
        finished = true
        condition.broadcast()
        condition.unlock()
        if !alreadyJoined { done.wait() }
    }

    private func run() {
        while true {
            condition.lock()
            while filled.isEmpty && !finished { condition.wait() }
            if filled.isEmpty {
                condition.unlock()
                break
            }
            let (buffer, count) = filled.removeFirst()
            let failed = failure != nil
            condition.unlock()

            var error: (any Error)?
            if !failed {
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
                hasher.update(bufferPointer: chunk)
                do {
                    try file.write(chunk, at: written)
                    written += Int64(count)
                } catch let writeError {
                    error = writeError
                }
            }
            condition.lock()
            if let error, failure == nil { failure = error }
            free.append(buffer)
            condition.broadcast()
            condition.unlock()
        }
        done.signal()
    }
}

/// `libssh2_init` exactly once per process (a Swift global is initialised lazily and thread-safely).
enum LibSSH2Library {
    private static let initializationResult: Int32 = libssh2_init(0)

    static func ensureInitialized() throws {
        let result = initializationResult
        if result != 0 { throw SFTPError.libraryInitializationFailed(code: result) }
    }
}

/// The SSH key type of a private key file (`ssh-rsa`, `ssh-ed25519`...), read from its unencrypted public part,
/// for error hints only; `nil` when the format is not recognised.
func privateKeyType(atPath path: String) -> String? {
    guard let data = FileManager.default.contents(atPath: path), data.count < 64 * 1024 else { return nil }
    let text = String(decoding: data, as: UTF8.self)
    if text.contains("-----BEGIN RSA PRIVATE KEY-----") { return "ssh-rsa" }
    guard text.contains("-----BEGIN OPENSSH PRIVATE KEY-----") else { return nil }
    let body = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
    guard let decoded = Data(base64Encoded: body) else { return nil }
    let bytes = Array(decoded)
    let magic = Array("openssh-key-v1".utf8) + [0]
    guard bytes.starts(with: magic) else { return nil }
    var offset = magic.count
    func readString() -> [UInt8]? {
        guard offset + 4 <= bytes.count else { return nil }
        let length =
            Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8
            | Int(bytes[offset + 3])
        guard length >= 0, offset + 4 + length <= bytes.count else { return nil }
        defer { offset += 4 + length }
        return Array(bytes[(offset + 4)..<(offset + 4 + length)])
    }
    // ciphername, kdfname, kdfoptions, then the key count and the first public key blob.
    guard readString() != nil, readString() != nil, readString() != nil, offset + 4 <= bytes.count else { return nil }
    offset += 4
    return readString().flatMap { KnownHosts.keyType(ofBlob: $0) }
}

private func withOptionalCString<T>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> T) -> T {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}
