import Dispatch
import Foundation
public import Logging
public import SFTP

/// Pickup folders on an SFTP server, over the SFTP module (libssh2, host key always verified).
///
/// One connection (``SerialConnection``), opened on first use and reopened once after a transport failure, every
/// libssh2 call on its own serial queue.
public final class SFTPSource: FileSource, Sendable {
    public let configuration: SFTPConfiguration
    /// The folder on the server that relative paths start from ("" for the login folder).
    public let root: String
    public var kind: SourceKind { .sftp }
    public var location: String { "sftp://\(configuration.user)@\(configuration.host):\(configuration.port)/\(root)" }
    private let connection: SerialConnection<SFTPConnection>

    public init(configuration: SFTPConfiguration, root: String, logger: Logger) {
        self.configuration = configuration
        self.root = root
        connection = SerialConnection(
            label: "dqt.bridge.sftp-source", open: { try SFTPConnection(configuration: configuration, logger: logger) },
            isUsable: { $0.isOpen }, discard: { $0.close() }, classify: { error in (error as? SFTPError).map(Self.map) })
    }

    /// The fingerprint of the server's host key once connected.
    public var hostKeyFingerprint: String? {
        connection.peek { $0?.hostKeyFingerprint.description }
    }

    private func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : joinPath(root, path)
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
        return try await connection.run(retry: true) { connection in
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
        return try await connection.run(retry: true) { connection in
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
        return try await connection.run(retry: true) { connection in
            let download = try connection.download(remotePath: full, to: localPath) { step in
                progress?(step.bytesTransferred, step.expectedBytes)
            }
            return FetchedFile(localPath: download.localPath, bytes: download.bytes, sha256: download.sha256)
        }
    }

    public func ensureFolder(_ folder: String) async throws {
        let parts = folder.split(separator: "/").map(String.init)
        let base = root
        try await connection.run(retry: true) { connection in
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
        try await connection.run(retry: false) { connection in
            try connection.rename(from: source, to: destination)
        }
    }

    public func remove(_ path: String) async throws {
        let full = absolute(path)
        try await connection.run(retry: true) { connection in
            do {
                try connection.remove(full)
            } catch SFTPError.operationFailed(_, _, let status) where status.isNotFound {
                throw FileSourceError.notFound(path)
            }
        }
    }

    public func close() async {
        await connection.close()
    }
}
