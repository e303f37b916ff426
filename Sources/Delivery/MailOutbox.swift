import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The sending side of the mail outbox that ``MailOutboxDelivery`` fills: the entries waiting (`<outbox>/<name>/`,
/// complete by construction: they appear by rename), their manifests, and the move to `<outbox>/sent/<name>/` that
/// marks one sent. Folders whose names start with `.` are entries being built and are never listed.
public struct MailOutbox: Sendable {
    public let folder: String

    public init(folder: String) { self.folder = folder }

    /// Where an entry's folder is.
    public enum Location: Sendable, Equatable {
        case outbox
        case sent
        /// In neither place: removed by hand.
        case missing
    }

    /// One entry's manifest (`manifest.json`), as the delivery wrote it.
    public struct Manifest: Sendable, Codable, Equatable {
        public var to: [String]
        public var subject: String
        public var attachment: String
        public var size: Int64
        public var sha256: String
    }

    /// An entry that could not be read: its folder and what is wrong, naming the manifest's field.
    public struct EntryProblem: Error, Sendable, CustomStringConvertible {
        public let entry: String
        public let message: String
        public var description: String { "mail outbox entry \(entry): \(message)" }
    }

    /// The entries waiting, by name (their creation order is in their names' dates, and the ledger keeps its own order).
    public func waitingEntries() throws -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder)
        } catch {
            if access(folder, F_OK) != 0 { return [] }
            throw DeliveryError.localFileFailed(operation: "list", path: folder, reason: "\(error)")
        }
        return names.filter { name in
            var isFolder: ObjCBool = false
            return name != "sent" && !name.hasPrefix(".") && FileManager.default.fileExists(atPath: path(of: name), isDirectory: &isFolder)
                && isFolder.boolValue
        }.sorted()
    }

    public func location(of entry: String) -> Location {
        if access(path(of: entry) + "/manifest.json", F_OK) == 0 { return .outbox }
        if access(sentPath(of: entry) + "/manifest.json", F_OK) == 0 { return .sent }
        return .missing
    }

    /// The entry's manifest, checked: recipients, a subject, a plain attachment name, a size and a SHA-256.
    public func manifest(of entry: String, at location: Location = .outbox) throws -> Manifest {
        let base = location == .sent ? sentPath(of: entry) : path(of: entry)
        guard let data = FileManager.default.contents(atPath: base + "/manifest.json") else {
            throw EntryProblem(entry: entry, message: "manifest.json cannot be read")
        }
        let manifest: Manifest
        do {
            manifest = try JSONDecoder().decode(Manifest.self, from: data)
        } catch DecodingError.keyNotFound(let key, _) {
            throw EntryProblem(entry: entry, message: "manifest.json: field '\(key.stringValue)' is missing")
        } catch {
            throw EntryProblem(entry: entry, message: "manifest.json is not a manifest: \(error)")
        }
        if manifest.to.isEmpty { throw EntryProblem(entry: entry, message: "manifest.json: field 'to' names no recipient") }
        if manifest.attachment.isEmpty || manifest.attachment.contains("/") || manifest.attachment.hasPrefix(".") {
            throw EntryProblem(entry: entry, message: "manifest.json: field 'attachment' is not a plain file name")
        }
        if manifest.sha256.count != 64 { throw EntryProblem(entry: entry, message: "manifest.json: field 'sha256' is not a SHA-256") }
        return manifest
    }

    /// The attachment's path in the outbox.
    public func attachmentPath(of entry: String, _ manifest: Manifest) -> String { path(of: entry) + "/" + manifest.attachment }

    /// Reads the attachment through (streamed) and checks it is what the manifest says.
    public func verify(entry: String, _ manifest: Manifest) throws {
        guard let present = try LocalFiles.digest(attachmentPath(of: entry, manifest)) else {
            throw EntryProblem(entry: entry, message: "the attachment \(manifest.attachment) is missing")
        }
        guard present.size == manifest.size, present.sha256 == manifest.sha256 else {
            throw EntryProblem(
                entry: entry,
                message:
                    "the attachment is \(present.size) bytes, SHA-256 \(present.sha256), not \(manifest.size) bytes, \(manifest.sha256) as its manifest says"
            )
        }
    }

    /// Moves a sent entry to `sent/` (created when missing), flushed. Already there: nothing to do.
    public func moveToSent(_ entry: String) throws {
        if location(of: entry) == .sent { return }
        let sent = folder + "/sent"
        if access(sent, F_OK) != 0 {
            guard mkdir(sent, 0o755) == 0 || errno == EEXIST else { throw LocalFiles.failure("mkdir", sent) }
            try LocalFiles.syncFolder(folder)
        }
        guard rename(path(of: entry), sentPath(of: entry)) == 0 else { throw LocalFiles.failure("rename", sentPath(of: entry)) }
        try LocalFiles.syncFolder(sent)
        try LocalFiles.syncFolder(folder)
    }

    func path(of entry: String) -> String { folder + "/" + entry }
    func sentPath(of entry: String) -> String { folder + "/sent/" + entry }
}
