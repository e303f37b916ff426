public import Foundation

/// A file seen in a pickup folder.
public struct RemoteFile: Sendable, Hashable {
    /// The path below the source's root, exactly as the server names it (may hold unsafe characters: see
    /// ``FileNameSafety``).
    public let path: String
    /// The last path component.
    public let name: String
    public let size: Int64
    /// Modification time, whole seconds.
    public let mtime: Date

    public init(path: String, name: String, size: Int64, mtime: Date) {
        self.path = path
        self.name = name
        self.size = size
        self.mtime = Date(timeIntervalSince1970: mtime.timeIntervalSince1970.rounded(.down))
    }
}

/// A file fetched into the local work folder.
public struct FetchedFile: Sendable {
    public let localPath: String
    public let bytes: Int64
    /// Lowercase hex SHA-256 of exactly the bytes fetched.
    public let sha256: String
}

/// Progress of one transfer: bytes so far and, when known, the total.
public typealias TransferProgress = @Sendable (_ bytes: Int64, _ total: Int64?) -> Void

/// Where the unattended run finds partners' files: an SFTP server, or a local folder with the same semantics.
///
/// Paths are relative to the source's root (`ewc/pickup/IND.csv`). Every method may block on I/O internally but
/// never blocks Swift's cooperative threads: implementations run their blocking work on threads of their own.
public protocol FileSource: AnyObject, Sendable {
    var kind: SourceKind { get }
    /// For logs and messages: where the source is (no secrets).
    var location: String { get }
    /// Regular files directly in `folder` (not recursive), sorted by name. A missing folder lists as empty.
    func list(folder: String) async throws -> [RemoteFile]
    /// The file at `path`, or nil when nothing is there.
    func stat(_ path: String) async throws -> RemoteFile?
    /// Streams the file into `localPath` (through a temporary name, renamed when complete), hashing it on the way.
    func fetch(_ path: String, to localPath: String, progress: TransferProgress?) async throws -> FetchedFile
    /// Creates `folder` (and its parents) when missing.
    func ensureFolder(_ folder: String) async throws
    /// Renames `from` to `to`; throws ``FileSourceError/destinationExists(_:)`` when `to` is taken (never overwrites).
    func move(_ from: String, to: String) async throws
    /// Deletes the file at `path`; throws ``FileSourceError/notFound(_:)`` when nothing is there.
    func remove(_ path: String) async throws
    /// Ends any connection.
    func close() async
    /// Where a handled file from `folder` goes (`quarantined` or processed); nil: `processed/` or `quarantine/` beside
    /// the pickup folder.
    func archiveFolder(forPickup folder: String, quarantined: Bool) -> String?
}

extension FileSource {
    public func archiveFolder(forPickup folder: String, quarantined: Bool) -> String? { nil }
}

extension FileSource {
    /// A source that archives nothing has nothing for retention to remove.
    public func remove(_ path: String) async throws {
        throw FileSourceError.failed("the \(location) cannot remove files")
    }
}

/// Failures of a file source, sorted by what the run should do about them.
public enum FileSourceError: Error, Sendable, CustomStringConvertible {
    /// The run cannot go on with this source: a refused or changed host key, a refused login, a bad configuration.
    /// The message names the fingerprint for host-key problems.
    case fatal(String)
    /// Worth trying again later (connection lost, timeout): the file stays where it is for the next run.
    case transient(String)
    /// The path does not exist.
    case notFound(String)
    /// A rename's destination exists.
    case destinationExists(String)
    /// Anything else (permission denied...).
    case failed(String)

    public var description: String {
        switch self {
        case .fatal(let message), .transient(let message), .failed(let message): message
        case .notFound(let path): "\(path) does not exist"
        case .destinationExists(let path): "\(path) already exists"
        }
    }

    public var isFatal: Bool { if case .fatal = self { true } else { false } }
}

/// Joins path components with `/`, ignoring empty ones.
public func joinPath(_ parts: String...) -> String {
    joinPath(parts)
}

public func joinPath(_ parts: [String]) -> String {
    var out = ""
    for part in parts where !part.isEmpty {
        if out.isEmpty {
            out = part
        } else {
            out = (out.hasSuffix("/") ? String(out.dropLast()) : out) + "/" + (part.hasPrefix("/") ? String(part.dropFirst()) : part)
        }
    }
    return out
}

/// The folder part of a relative path ("" at the top).
public func parentFolder(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "" }
    return String(path[..<slash])
}
