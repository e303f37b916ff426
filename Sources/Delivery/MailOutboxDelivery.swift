import DQTModel
import Foundation
import Ledger

#if canImport(Glibc)
    import Glibc
#endif

/// Hands a file to the mailbox work: an entry folder `<outbox>/<name>/` holding the file and `manifest.json`
/// (`to`, `subject`, `attachment`, `size`, `sha256`), which appears whole or not at all (built under a hidden name,
/// flushed, checked, then renamed). The sender moves an entry to `<outbox>/sent/<name>/` once sent; an entry in either
/// place with the same bytes counts as delivered, so a repeated delivery never sends a second email. A resend is a
/// new email: its entry is `<outbox>/<tag>-<name>/` (the tag names the resend), the attachment keeps its name.
public struct MailOutboxDelivery: Delivery {
    public let outbox: String
    public let to: [String]
    public let subject: String
    /// Set for a resend: makes its entry distinct from the original email's.
    public let tag: String?

    public var destination: String { "mail outbox \(outbox)" }

    public init(outbox: String, to: [String], subject: String, tag: String? = nil) {
        self.outbox = outbox
        self.to = to
        self.subject = subject
        self.tag = tag
    }

    /// The entry folder's name for an attachment.
    func entry(_ name: String) -> String { tag.map { "\($0)-\(name)" } ?? name }

    public func isDelivered(name: String, size: Int64, sha256: String) throws -> Bool {
        try checkName(name)
        for entry in [outbox + "/" + entry(name), outbox + "/sent/" + entry(name)] {
            guard let present = try LocalFiles.digest(entry + "/" + name) else { continue }
            guard present.size == size && present.sha256 == sha256 else {
                throw DeliveryError.conflictingFile(destination: destination, name: name, size: present.size, sha256: present.sha256)
            }
            return true
        }
        return false
    }

    public func deliver(
        localFile: String, name: String, expectedSize: Int64, expectedSHA256: String, onStep: (DeliveryStep) throws -> Void
    ) throws -> DeliveryReceipt {
        func receipt(alreadyPresent: Bool) -> DeliveryReceipt {
            DeliveryReceipt(destination: destination, name: name, size: expectedSize, sha256: expectedSHA256, alreadyPresent: alreadyPresent)
        }
        let building = outbox + "/" + temporaryName(for: entry(name))
        let present = try isDelivered(name: name, size: expectedSize, sha256: expectedSHA256)
        ExportFailPoint.destinationChecked.hit()
        if present {
            try removeTree(building)
            return receipt(alreadyPresent: true)
        }
        if access(building, F_OK) == 0 {
            try removeTree(building)
            ExportFailPoint.stalePartRemoved.hit()
        }
        ExportFailPoint.uploadStarted.hit()
        guard mkdir(building, 0o755) == 0 else { throw LocalFiles.failure("mkdir", building) }
        _ = try LocalFiles.copy(localFile, to: building + "/" + name)
        let manifest = JSONValue.object([
            ("to", .array(to.map(JSONValue.string))), ("subject", .string(subject)), ("attachment", .string(name)),
            ("size", .int(Int(expectedSize))), ("sha256", .string(expectedSHA256)),
        ])
        try writeSynced(manifest.serialized + "\n", to: building + "/manifest.json")
        try LocalFiles.syncFolder(building)
        ExportFailPoint.uploaded.hit()
        try onStep(.uploaded)
        let readBack = try LocalFiles.digest(building + "/" + name) ?? (0, "")
        guard readBack.size == expectedSize && readBack.sha256 == expectedSHA256 else {
            try? removeTree(building)
            throw DeliveryError.verificationFailed(
                destination: destination, name: name, expectedSize: expectedSize, expectedSHA256: expectedSHA256, size: readBack.size,
                sha256: readBack.sha256)
        }
        ExportFailPoint.verified.hit()
        try onStep(.verified)
        // A folder renamed onto a missing name: the entry appears complete. isDelivered above saw no entry there.
        let final = outbox + "/" + entry(name)
        guard rename(building, final) == 0 else { throw LocalFiles.failure("rename", final) }
        try LocalFiles.syncFolder(outbox)
        ExportFailPoint.renamed.hit()
        return receipt(alreadyPresent: false)
    }

    private func writeSynced(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LocalFiles.failure("create", path) }
        defer { _ = close(fd) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else { throw LocalFiles.failure("write", path) }
    }

    /// Removes an entry folder being built (flat: the file and the manifest).
    private func removeTree(_ path: String) throws {
        guard access(path, F_OK) == 0 else { return }
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw DeliveryError.localFileFailed(operation: "remove", path: path, reason: "\(error)")
        }
    }
}
