import Foundation

/// Puts a finished export file where its partner reads it, exactly once: the file appears under its final name only
/// complete and verified, and a delivery that is repeated (after a crash, a lost connection, a resend) finds the final
/// file already there with the same size and SHA-256 and sends nothing. A final file with other content is never
/// overwritten.
///
/// Every method blocks the calling thread on I/O: call them from a thread of the caller's own (a dispatch queue),
/// never from Swift's cooperative pool.
public protocol Delivery: Sendable {
    /// Where files go, for the ledger, logs and reports (no secrets).
    var destination: String { get }

    /// Delivers `localFile` as `name`. `expectedSize` and `expectedSHA256` (lowercase hex) are what the ledger recorded
    /// for the file; the destination's copy is checked against them before it gets its final name. `onStep` hears the
    /// steps the ledger records (called on the calling thread; a throw abandons the delivery, leaving at most a
    /// temporary file the next delivery removes).
    ///
    /// - Throws: ``DeliveryError``; `.conflictingFile` when the final name holds other content.
    func deliver(
        localFile: String, name: String, expectedSize: Int64, expectedSHA256: String, onStep: (DeliveryStep) throws -> Void
    ) throws -> DeliveryReceipt

    /// True when the final file `name` is at the destination with this size and SHA-256; false when it is absent.
    ///
    /// - Throws: ``DeliveryError/conflictingFile(destination:name:size:sha256:)`` when it is there with other content.
    func isDelivered(name: String, size: Int64, sha256: String) throws -> Bool
}

extension Delivery {
    public func deliver(localFile: String, name: String, expectedSize: Int64, expectedSHA256: String) throws -> DeliveryReceipt {
        try deliver(localFile: localFile, name: name, expectedSize: expectedSize, expectedSHA256: expectedSHA256) { _ in }
    }
}

/// The steps of a delivery between "written" and "delivered" that the ledger records.
public enum DeliveryStep: String, Sendable {
    /// The bytes are at the destination under a temporary name.
    case uploaded
    /// The destination's copy was read back: it has the expected size and SHA-256.
    case verified
}

/// What a delivery did.
public struct DeliveryReceipt: Sendable, Hashable {
    public let destination: String
    public let name: String
    public let size: Int64
    public let sha256: String
    /// True when the final file was already there with these bytes (an earlier delivery got that far): nothing was
    /// sent this time.
    public let alreadyPresent: Bool

    public init(destination: String, name: String, size: Int64, sha256: String, alreadyPresent: Bool) {
        self.destination = destination
        self.name = name
        self.size = size
        self.sha256 = sha256
        self.alreadyPresent = alreadyPresent
    }
}

/// The temporary name a file is written under, in the destination folder itself (so the final rename stays within
/// one folder and file system): hidden, so partners' pickups that skip dot files never take it.
func temporaryName(for name: String) -> String { ".\(name).part" }

/// Refuses names that are not one plain file name: a partner's folder is never left, and no name hides.
func checkName(_ name: String) throws {
    let bad =
        name.isEmpty || name.hasPrefix(".") || name.contains("/") || name.utf8.count > 255
        || name.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    if bad { throw DeliveryError.invalidName(name) }
}
