import Dispatch
import Synchronization

/// A file's SHA-256 computed on another thread, for when nothing needs it until the end (a plain check):
/// on two cores, hashing then costs no wall time.
public final class BackgroundDigest: Sendable {
    private let outcome = Mutex<Result<String, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    public init(path: String) {
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            let digest = Result { try FileDigest.sha256(path: path) }
            outcome.withLock { $0 = digest }
            done.signal()
        }
    }

    /// Blocks until the digest is ready.
    public func wait() throws -> String {
        done.wait()
        done.signal()
        return try outcome.withLock { $0! }.get()
    }
}
