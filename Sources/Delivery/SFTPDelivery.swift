import Foundation
import Ledger
public import Logging
public import SFTP

/// Delivers into a folder on an SFTP server (host key always verified): the file is uploaded to a hidden temporary
/// name in the folder, read back from the server and checked (size and SHA-256, streamed), then renamed to its final
/// name. OpenSSH's server never renames onto an existing name, so a final file is never overwritten; one already
/// there with the same bytes means an earlier delivery got that far.
///
/// One connection per call, closed afterwards: exports are a few files a day. The read-back streams into a file in
/// `scratchFolder` (removed at once), so memory stays flat whatever the file's size.
public final class SFTPDelivery: Delivery {
    public let configuration: SFTPConfiguration
    /// The folder on the server ("" for the login folder).
    public let folder: String
    public let scratchFolder: String
    private let logger: Logger

    public var destination: String { "sftp://\(configuration.user)@\(configuration.host):\(configuration.port)/\(folder)" }

    public init(configuration: SFTPConfiguration, folder: String, scratchFolder: String, logger: Logger) {
        self.configuration = configuration
        self.folder = folder
        self.scratchFolder = scratchFolder
        self.logger = logger
    }

    public func isDelivered(name: String, size: Int64, sha256: String) throws -> Bool {
        try checkName(name)
        return try withConnection { try self.isDelivered(name: name, size: size, sha256: sha256, on: $0) }
    }

    public func deliver(
        localFile: String, name: String, expectedSize: Int64, expectedSHA256: String, onStep: (DeliveryStep) throws -> Void
    ) throws -> DeliveryReceipt {
        try checkName(name)
        let final = path(name)
        let part = path(temporaryName(for: name))
        let alreadyPresent = try withConnection { connection -> Bool in
            if try isDelivered(name: name, size: expectedSize, sha256: expectedSHA256, on: connection) {
                ExportFailPoint.destinationChecked.hit()
                if try connection.exists(part) { try connection.remove(part) }
                return true
            }
            ExportFailPoint.destinationChecked.hit()
            if try connection.exists(part) {
                try connection.remove(part)
                ExportFailPoint.stalePartRemoved.hit()
            }
            ExportFailPoint.uploadStarted.hit()
            do {
                try connection.upload(localPath: localFile, to: part)
            } catch let error as SFTPError {
                if connection.isOpen { try? connection.remove(part) }  // a full disk gets its space back
                throw error
            }
            ExportFailPoint.uploaded.hit()
            try onStep(.uploaded)
            let readBack = try digest(part, on: connection)
            guard readBack.size == expectedSize && readBack.sha256 == expectedSHA256 else {
                try? connection.remove(part)
                throw DeliveryError.verificationFailed(
                    destination: destination, name: name, expectedSize: expectedSize, expectedSHA256: expectedSHA256,
                    size: readBack.size, sha256: readBack.sha256)
            }
            ExportFailPoint.verified.hit()
            try onStep(.verified)
            do {
                try connection.rename(from: part, to: final)
            } catch SFTPError.destinationExists {
                guard try isDelivered(name: name, size: expectedSize, sha256: expectedSHA256, on: connection) else {
                    throw DeliveryError.unavailable(destination: destination, reason: "\(final) vanished while it was renamed onto")
                }
                try connection.remove(part)
                return true
            }
            ExportFailPoint.renamed.hit()
            return false
        }
        logger.info(
            "export file delivered",
            metadata: [
                "delivery.destination": "\(destination)", "delivery.name": "\(name)", "delivery.bytes": "\(expectedSize)",
                "delivery.sha256": "\(expectedSHA256)", "delivery.already_present": "\(alreadyPresent)",
            ])
        return DeliveryReceipt(destination: destination, name: name, size: expectedSize, sha256: expectedSHA256, alreadyPresent: alreadyPresent)
    }

    private func isDelivered(name: String, size: Int64, sha256: String, on connection: SFTPConnection) throws -> Bool {
        let final = path(name)
        guard try connection.exists(final) else { return false }
        let present = try digest(final, on: connection)
        guard present.size == size && present.sha256 == sha256 else {
            throw DeliveryError.conflictingFile(destination: destination, name: name, size: present.size, sha256: present.sha256)
        }
        return true
    }

    /// The size and SHA-256 of the server's file, read back over the connection.
    private func digest(_ remotePath: String, on connection: SFTPConnection) throws -> (size: Int64, sha256: String) {
        let local = scratchFolder + "/readback-" + UUID().uuidString
        defer { try? LocalFiles.removeIfPresent(local) }
        let download = try connection.download(remotePath: remotePath, to: local)
        return (download.bytes, download.sha256)
    }

    /// Runs `body` on a fresh connection; the SFTP module's errors become ``DeliveryError/unavailable(destination:reason:)``.
    private func withConnection<T>(_ body: (SFTPConnection) throws -> T) throws -> T {
        do {
            let connection = try SFTPConnection(configuration: configuration, logger: logger)
            defer { connection.close() }
            return try body(connection)
        } catch let error as SFTPError {
            throw DeliveryError.unavailable(destination: destination, reason: "\(error)")
        }
    }

    private func path(_ name: String) -> String {
        folder.isEmpty ? name : folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }
}
