import Crypto
public import CurlMail
import DQTModel
import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A mailbox on an IMAP server (TLS always: implicit or STARTTLS) as a source of `.eml` files, for mail drops.
///
/// Each message is a file named by its mailbox's UIDVALIDITY and its UID: `INBOX/1796596283-0000000042.eml`, so the
/// ledger's record of a message (made before it is fetched, with its SHA-256 once it is) names exactly one message,
/// and a message seen again under a new UIDVALIDITY is a new name whose content the ledger already knows. Messages are
/// fetched whole by UID, streamed to the work folder and hashed on the way; an archived message is moved (UID MOVE)
/// into the processed or quarantine mailbox, tagged first with a keyword made from its archive path, so a move that a
/// crash left unrecorded is found there on resume.
///
/// One connection (``SerialConnection``), opened on first use and reopened once after a transport failure, every
/// libcurl call on its own serial queue.
public final class IMAPSource: FileSource, @unchecked Sendable {
    // @unchecked: `ensured` is only read and written inside the connection's calls, on its queue.
    public let endpoint: MailEndpoint
    public let processed: IMAPMailbox
    public let quarantine: IMAPMailbox
    public var kind: SourceKind { .imap }
    public var location: String { endpoint.redactedURL }
    private let connection: SerialConnection<IMAPConnection>
    private var ensured: Set<IMAPMailbox> = []

    public init(endpoint: MailEndpoint, processed: IMAPMailbox, quarantine: IMAPMailbox) {
        self.endpoint = endpoint
        self.processed = processed
        self.quarantine = quarantine
        connection = SerialConnection(label: "dqt.bridge.imap-source", open: { try IMAPConnection(endpoint: endpoint) }) { error in
            (error as? MailTransportError).map(Self.map)
        }
    }

    /// A message's file path: `<mailbox>/<uidvalidity>-<uid, 10 digits>.eml` (names sort as UIDs do).
    public static func path(mailbox: IMAPMailbox, uidValidity: UInt32, uid: UInt32) -> String {
        let digits = String(uid)
        return joinPath(mailbox.name, "\(uidValidity)-\(String(repeating: "0", count: max(0, 10 - digits.count)))\(digits).eml")
    }

    /// The mailbox, UIDVALIDITY and UID a message's path names; nil for any other path.
    public static func message(at path: String) -> (mailbox: IMAPMailbox, uidValidity: UInt32, uid: UInt32)? {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard name.hasSuffix(".eml") else { return nil }
        let parts = name.dropLast(4).split(separator: "-")
        guard parts.count == 2, let uidValidity = UInt32(parts[0]), let uid = UInt32(parts[1]),
            let mailbox = try? IMAPMailbox(parentFolder(path))
        else { return nil }
        return (mailbox, uidValidity, uid)
    }

    /// The keyword a message is tagged with before it is moved to `archivePath`.
    static func keyword(forArchivePath archivePath: String) -> String {
        "DQT" + Hex.lowercase(Array(SHA256.hash(data: Data(archivePath.utf8)))).prefix(16)
    }

    public func archiveFolder(forPickup folder: String, quarantined: Bool) -> String? {
        quarantined ? quarantine.name : processed.name
    }

    public func list(folder: String) async throws -> [RemoteFile] {
        let mailbox = try Self.mailbox(folder)
        return try await connection.run(retry: true) { connection in
            let uidValidity: UInt32
            do {
                uidValidity = try connection.uidValidity(of: mailbox)
            } catch let error as MailTransportError where error.kind == .refused {
                // A missing mailbox is a mistake in the configuration, never "nothing new".
                throw FileSourceError.failed("the mailbox \(mailbox) does not exist on \(self.location)")
            }
            return try connection.messages(in: mailbox, uidValidity: uidValidity).map { info in
                let path = Self.path(mailbox: mailbox, uidValidity: uidValidity, uid: info.uid)
                return RemoteFile(path: path, name: String(path.split(separator: "/").last!), size: info.size, mtime: info.received)
            }
        }
    }

    public func stat(_ path: String) async throws -> RemoteFile? {
        let name = String(path.split(separator: "/").last ?? "")
        return try await connection.run(retry: true) { connection in
            guard let message = try Self.locate(path, on: connection) else { return nil }
            return try connection.message(uid: message.uid, in: message.mailbox, uidValidity: message.uidValidity).map { info in
                RemoteFile(path: path, name: name, size: info.size, mtime: info.received)
            }
        }
    }

    /// The message a path names: a message's own path, or an archive path (the message moved there carries the path's
    /// keyword); nil when there is none.
    private static func locate(_ path: String, on connection: IMAPConnection) throws -> (mailbox: IMAPMailbox, uidValidity: UInt32, uid: UInt32)? {
        if let message = message(at: path) { return message }
        guard let mailbox = try? IMAPMailbox(parentFolder(path)) else { return nil }
        guard let uid = try connection.uids(withKeyword: keyword(forArchivePath: path), in: mailbox).first else { return nil }
        return (mailbox, try connection.uidValidity(of: mailbox), uid)
    }

    public func fetch(_ path: String, to localPath: String, progress: TransferProgress?) async throws -> FetchedFile {
        try FileManager.default.createDirectory(atPath: (localPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        return try await connection.run(retry: true) { connection in
            guard let message = try Self.locate(path, on: connection) else { throw FileSourceError.notFound(path) }
            let part = localPath + ".part"
            let descriptor = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw FileSourceError.failed("cannot write \(part): \(String(cString: strerror(errno)))") }
            var isOpen = true
            defer { if isOpen { closeDescriptor(descriptor) } }
            var hasher = SHA256()
            var bytes: Int64 = 0
            do {
                try connection.fetch(uid: message.uid, in: message.mailbox, uidValidity: message.uidValidity) { chunk in
                    hasher.update(bufferPointer: chunk)
                    var offset = 0
                    while offset < chunk.count {
                        let written = write(descriptor, chunk.baseAddress! + offset, chunk.count - offset)
                        guard written > 0 else { throw FileSourceError.failed("cannot write \(part): \(String(cString: strerror(errno)))") }
                        offset += written
                    }
                    bytes += Int64(chunk.count)
                    progress?(bytes, nil)
                }
                guard fsync(descriptor) == 0 else { throw FileSourceError.failed("cannot write \(part): \(String(cString: strerror(errno)))") }
                closeDescriptor(descriptor)
                isOpen = false
                guard rename(part, localPath) == 0 else {
                    throw FileSourceError.failed("cannot rename \(part): \(String(cString: strerror(errno)))")
                }
            } catch {
                unlink(part)
                throw error
            }
            return FetchedFile(localPath: localPath, bytes: bytes, sha256: Hex.lowercase(Array(hasher.finalize())))
        }
    }

    public func ensureFolder(_ folder: String) async throws {
        let mailbox = try Self.mailbox(folder)
        try await connection.run(retry: true) { connection in
            guard !self.ensured.contains(mailbox) else { return }
            try connection.ensureMailbox(mailbox)
            self.ensured.insert(mailbox)
        }
    }

    /// Moves the message at `from` into the mailbox `to` names (its folder part; the name itself is only the keyword
    /// the message is tagged with). Throws ``FileSourceError/notFound(_:)`` when the message is no longer there.
    public func move(_ from: String, to: String) async throws {
        guard let message = Self.message(at: from) else { throw FileSourceError.notFound(from) }
        let target = try Self.mailbox(parentFolder(to))
        let keyword = Self.keyword(forArchivePath: to)
        let moved = try await connection.run(retry: false) { connection in
            try connection.move(uid: message.uid, from: message.mailbox, uidValidity: message.uidValidity, to: target, keyword: keyword)
        }
        if !moved { throw FileSourceError.notFound(from) }
    }

    public func close() async {
        await connection.close()
    }

    private static func mailbox(_ folder: String) throws -> IMAPMailbox {
        do { return try IMAPMailbox(folder) } catch { throw FileSourceError.fatal("\(error)") }
    }

    static func map(_ error: MailTransportError) -> FileSourceError {
        switch error.kind {
        case .fatal: .fatal(error.message)
        case .transient: .transient(error.message)
        case .notFound: .notFound(error.message)
        case .refused, .failed: .failed(error.message)
        }
    }
}

/// `close(2)`, which ``IMAPSource/close()`` hides inside the class.
private func closeDescriptor(_ descriptor: Int32) {
    _ = close(descriptor)
}
