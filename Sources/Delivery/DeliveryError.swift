/// Why a delivery did not happen. Messages name the destination, the file name, sizes and hashes: never contents.
public enum DeliveryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not a plain file name (empty, a path, hidden, control characters, too long).
    case invalidName(String)
    /// The final name already holds different content: it is never overwritten; an operator decides.
    case conflictingFile(destination: String, name: String, size: Int64, sha256: String)
    /// The copy read back from the destination is not what was sent; the temporary file was removed.
    case verificationFailed(destination: String, name: String, expectedSize: Int64, expectedSHA256: String, size: Int64, sha256: String)
    /// The destination cannot be reached or refused an operation (the message says which); worth trying again.
    case unavailable(destination: String, reason: String)
    /// A local file operation failed (the work file, a destination folder on this machine).
    case localFileFailed(operation: String, path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidName(let name):
            "delivery refused: \(name.debugDescription) is not a plain file name"
        case .conflictingFile(let destination, let name, let size, let sha256):
            "\(destination): \(name) already exists with other content (\(size) bytes, SHA-256 \(sha256)); it is never overwritten"
        case .verificationFailed(let destination, let name, let expectedSize, let expectedSHA256, let size, let sha256):
            "\(destination): the uploaded copy of \(name) read back as \(size) bytes, SHA-256 \(sha256), not \(expectedSize) bytes, "
                + "\(expectedSHA256); it was removed"
        case .unavailable(let destination, let reason):
            "\(destination): \(reason)"
        case .localFileFailed(let operation, let path, let reason):
            "local \(operation) of \(path) failed: \(reason)"
        }
    }
}
