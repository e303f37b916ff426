import Dispatch
import Foundation
public import Logging
public import SFTP

/// Pickup folders on an SFTP server, over the SFTP module (libssh2, host key always verified).
///
/// One connection, opened on first use and reopened once after a transport failure. Every libssh2 call runs on
/// this source's own serial dispatch queue, never on Swift's cooperative threads.
public final class SFTPSource: FileSource, @unchecked Sendable {
    // @unchecked: `connection` is only read and written on `queue`.
    public let configuration: SFTPConfiguration
    /// The folder on the server that relative paths start from ("" for the login folder).
    public let root: String
    public var kind: SourceKind { .sftp }
    public var location: String { "sftp://\(configuration.user)@\(configuration.host):\(configuration.port)/\(root)" }
    private let queue = DispatchQueue(label: "dqt.bridge.sftp-source")
    private var connection: SFTPConnection?
    private let logger: Logger

    public init(configuration: SFTPConfiguration, root: String, logger: Logger) {
        self.configuration = configuration
        self.root = root
        self.logger = logger
    }

    /// The fingerprint of the server's host key once connected.
    public var hostKeyFingerprint: String? {
        queue.sync { connection?.hostKeyFingerprint.description }
    }

    private func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : joinPath(root, path)
    }

    /// Runs `body` with an open connection on the queue. A transport failure closes the connection; `retry` runs the
    /// body once more on a fresh one (for operations that are safe to repeat).
    private func withConnection<T: Sendable>(
        retry: Bool, _ body: @escaping @Sendable (SFTPConnection) throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [self] in
                var attempts = 0
                while true {
                    attempts += 1
                    do {
                        let open: SFTPConnection
                        if let existing = connection, existing.isOpen {
                            open = existing
                        } else {
                            connection = nil
                            open = try SFTPConnection(configuration: configuration, logger: logger)
                            connection = open
                        }
                        continuation.resume(returning: try body(open))
                        return
                    } catch let error as SFTPError {
                        let mapped = Self.map(error)
                        if case .transient = mapped, retry, attempts < 2 {
                            connection?.close()
                            connection = nil
                            continue
                        }
                        if case .transient = mapped {
                            connection?.close()
                            connection = nil
                        }
                        continuation.resume(throwing: mapped)
                        return
                    } catch {
                        continuation.resume(throwing: error)
                        return
                    }
                }
            }
        }
    }

    static func map(_ error: SFTPError) -> FileSourceError {
        switch error {
        case .hostKeyUnknown, .hostKeyMismatch, .hostKeyRevoked, .knownHostsUnreadable, .privateKeyUnusable,
            .authenticationFailed, .invalidConfiguration, .secretUnavailable, .negotiationFailed, .libraryInitializationFailed:
            return .fatal(error.description)
        case .hostResolutionFailed, .connectFailed, .connectTimedOut, .handshakeFailed, .subsystemFailed, .timedOut,
            .sessionFailed, .connectionClosed, .fileShrank:
            return .transient(error.description)
        case .operationFailed(_, let path, let status) where status.isNotFound:
            return .notFound(path)
        case .operationFailed(_, _, let status) where status == .noConnection || status == .connectionLost:
            return .transient(error.description)
        case .destinationExists(_, let to):
            return .destinationExists(to)
        case .operationFailed, .notAFile, .notADirectory, .localFileFailed:
            return .failed(error.description)
        }
    }

    public func list(folder: String) async throws -> [RemoteFile] {
        let directory = absolute(folder)
        return try await withConnection(retry: true) { connection in
            do {
                return try connection.list(directory: directory).map { info in
                    RemoteFile(path: joinPath(folder, info.name), name: info.name, size: info.size, mtime: info.modificationTime)
                }
            } catch SFTPError.operationFailed(_, _, let status) where status.isNotFound {
                // A missing pickup folder is a mistake in the configuration (or a partner's folder removed), never
                // "nothing new": the feed's group fails, named, and the other groups go on.
                throw FileSourceError.failed("the pickup folder \(directory) does not exist on the server")
            }
        }
    }

    public func stat(_ path: String) async throws -> RemoteFile? {
        let full = absolute(path)
        return try await withConnection(retry: true) { connection in
            do {
                let info = try connection.stat(full)
                guard info.kind == .file else { return nil }
                return RemoteFile(path: path, name: info.name, size: info.size, mtime: info.modificationTime)
            } catch SFTPError.operationFailed(_, _, let status) where status.isNotFound {
                return nil
            }
        }
    }

    public func fetch(_ path: String, to localPath: String, progress: TransferProgress?) async throws -> FetchedFile {
        let full = absolute(path)
        try FileManager.default.createDirectory(
            atPath: (localPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        return try await withConnection(retry: true) { connection in
            let download = try connection.download(remotePath: full, to: localPath) { step in
                progress?(step.bytesTransferred, step.expectedBytes)
            }
            return FetchedFile(localPath: download.localPath, bytes: download.bytes, sha256: download.sha256)
        }
    }

    public func ensureFolder(_ folder: String) async throws {
        let parts = folder.split(separator: "/").map(String.init)
        let base = root
        try await withConnection(retry: true) { connection in
            var current = folder.hasPrefix("/") ? "/" : base
            for part in parts {
                current = current.isEmpty ? part : joinPath(current, part)
                if current == "/" + part { current = "/" + part }
                try connection.makeDirectory(current)
            }
        }
    }

    public func move(_ from: String, to: String) async throws {
        let source = absolute(from)
        let destination = absolute(to)
        try await withConnection(retry: false) { connection in
            try connection.rename(from: source, to: destination)
        }
    }

    public func remove(_ path: String) async throws {
        let full = absolute(path)
        try await withConnection(retry: true) { connection in
            do {
                try connection.remove(full)
            } catch SFTPError.operationFailed(_, _, let status) where status.isNotFound {
                throw FileSourceError.notFound(path)
            }
        }
    }

    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async { [self] in
                connection?.close()
                connection = nil
                continuation.resume()
            }
        }
    }
}
