public import Foundation

/// One entry on the SFTP server, as returned by ``SFTPConnection/stat(_:)`` and ``SFTPConnection/list(directory:)``.
public struct SFTPFileInfo: Sendable, Hashable {
    /// What kind of file system object the path names (after following links, for ``SFTPConnection/stat(_:)``).
    public enum Kind: Sendable, Hashable {
        case file
        case directory
        case symbolicLink
        case other
    }

    /// The full remote path, as it was asked for (directory + "/" + name for listings).
    public var path: String
    /// The last path component.
    public var name: String
    public var kind: Kind
    /// Size in bytes (0 when the server does not report it).
    public var size: Int64
    /// Last modification time, with one-second resolution (SFTP version 3).
    public var modificationTime: Date
    /// Permission bits (`0o7777` mask: rwx for user, group, others, plus setuid/setgid/sticky).
    public var permissions: UInt32

    public init(path: String, name: String, kind: Kind, size: Int64, modificationTime: Date, permissions: UInt32) {
        self.path = path
        self.name = name
        self.kind = kind
        self.size = size
        self.modificationTime = modificationTime
        self.permissions = permissions
    }
}

/// The outcome of ``SFTPConnection/download(remotePath:to:progress:)``.
public struct SFTPDownload: Sendable, Hashable {
    public var remotePath: String
    /// Where the complete file now is.
    public var localPath: String
    /// Bytes received and written.
    public var bytes: Int64
    /// Lowercase hex SHA-256 of exactly those bytes.
    public var sha256: String
    /// How many SFTP sessions read part of the file (1 unless it was downloaded in parallel, see
    /// ``SFTPConfiguration/downloadStreams``).
    public var streams: Int

    public init(remotePath: String, localPath: String, bytes: Int64, sha256: String, streams: Int = 1) {
        self.remotePath = remotePath
        self.localPath = localPath
        self.bytes = bytes
        self.sha256 = sha256
        self.streams = streams
    }
}

/// Progress of a transfer, reported after each read.
public struct SFTPTransferProgress: Sendable, Hashable {
    /// Bytes transferred so far.
    public var bytesTransferred: Int64
    /// The remote file's size when the transfer started, if the server reported it (a growing file may exceed it).
    public var expectedBytes: Int64?

    public init(bytesTransferred: Int64, expectedBytes: Int64?) {
        self.bytesTransferred = bytesTransferred
        self.expectedBytes = expectedBytes
    }
}

/// The algorithms negotiated in the SSH handshake, for logs and audits.
public struct SFTPNegotiatedAlgorithms: Sendable, Hashable, CustomStringConvertible {
    public var keyExchange: String
    public var hostKey: String
    public var cipherClientToServer: String
    public var cipherServerToClient: String
    public var macClientToServer: String
    public var macServerToClient: String

    public var description: String {
        "kex=\(keyExchange) hostkey=\(hostKey) cipher=\(cipherClientToServer)/\(cipherServerToClient) "
            + "mac=\(macClientToServer)/\(macServerToClient)"
    }
}
