import Foundation
import Ledger

#if canImport(Glibc)
    import Glibc
#endif

/// Delivers into a folder on this machine (a mounted share, a shadow feed's report folder, tests): the file is
/// copied to a hidden temporary name in the folder, flushed to disk, read back and checked, then linked to its final
/// name, which never replaces an existing file (unlike a rename).
public struct FolderDelivery: Delivery {
    public let folder: String

    public var destination: String { "folder \(folder)" }

    public init(folder: String) {
        self.folder = folder
    }

    public func isDelivered(name: String, size: Int64, sha256: String) throws -> Bool {
        try checkName(name)
        guard let present = try LocalFiles.digest(path(name)) else { return false }
        guard present.size == size && present.sha256 == sha256 else {
            throw DeliveryError.conflictingFile(destination: destination, name: name, size: present.size, sha256: present.sha256)
        }
        return true
    }

    public func deliver(
        localFile: String, name: String, expectedSize: Int64, expectedSHA256: String, onStep: (DeliveryStep) throws -> Void
    ) throws -> DeliveryReceipt {
        let final = path(name)
        let part = path(temporaryName(for: name))
        func receipt(alreadyPresent: Bool) -> DeliveryReceipt {
            DeliveryReceipt(destination: destination, name: name, size: expectedSize, sha256: expectedSHA256, alreadyPresent: alreadyPresent)
        }
        let present = try isDelivered(name: name, size: expectedSize, sha256: expectedSHA256)
        ExportFailPoint.destinationChecked.hit()
        if present {
            try LocalFiles.removeIfPresent(part)
            return receipt(alreadyPresent: true)
        }
        if access(part, F_OK) == 0 {
            try LocalFiles.removeIfPresent(part)
            ExportFailPoint.stalePartRemoved.hit()
        }
        ExportFailPoint.uploadStarted.hit()
        do {
            _ = try LocalFiles.copy(localFile, to: part)
        } catch {
            try? LocalFiles.removeIfPresent(part)  // a full disk gets its space back
            throw error
        }
        ExportFailPoint.uploaded.hit()
        try onStep(.uploaded)
        let readBack = try LocalFiles.digest(part) ?? (0, "")
        guard readBack.size == expectedSize && readBack.sha256 == expectedSHA256 else {
            try? LocalFiles.removeIfPresent(part)
            throw DeliveryError.verificationFailed(
                destination: destination, name: name, expectedSize: expectedSize, expectedSHA256: expectedSHA256, size: readBack.size,
                sha256: readBack.sha256)
        }
        ExportFailPoint.verified.hit()
        try onStep(.verified)
        if link(part, final) != 0 {
            guard errno == EEXIST, try isDelivered(name: name, size: expectedSize, sha256: expectedSHA256) else {
                throw LocalFiles.failure("link", final)
            }
        }
        try LocalFiles.syncFolder(folder)
        ExportFailPoint.renamed.hit()
        try LocalFiles.removeIfPresent(part)
        try LocalFiles.syncFolder(folder)
        return receipt(alreadyPresent: false)
    }

    private func path(_ name: String) -> String {
        folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }
}
