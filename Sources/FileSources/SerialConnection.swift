import Dispatch

/// One connection to a server, opened on first use and kept, used only on its own serial dispatch queue: the C
/// libraries under the sources (libssh2, libcurl) block, so their calls never run on Swift's cooperative threads, and
/// one connection is never used by two calls at once.
///
/// A transport failure (an error `classify` maps to ``FileSourceError/transient(_:)``) drops the connection, so the
/// next call opens a fresh one; a call made with `retry` (an operation safe to repeat) runs once more on it.
final class SerialConnection<Connection>: @unchecked Sendable {
    // @unchecked: `connection`, and all that `body` closures touch, is only read and written on `queue`.
    private let queue: DispatchQueue
    private var connection: Connection?
    private let open: () throws -> Connection
    private let isUsable: (Connection) -> Bool
    private let discard: (Connection) -> Void
    private let classify: (any Error) -> FileSourceError?

    /// `classify` maps the library's errors to the source's (nil: passed on as it is); `isUsable` says whether a kept
    /// connection may be used again; `discard` closes one that is dropped.
    init(
        label: String, open: @escaping () throws -> Connection, isUsable: @escaping (Connection) -> Bool = { _ in true },
        discard: @escaping (Connection) -> Void = { _ in }, classify: @escaping (any Error) -> FileSourceError?
    ) {
        queue = DispatchQueue(label: label)
        self.open = open
        self.isUsable = isUsable
        self.discard = discard
        self.classify = classify
    }

    /// Runs `body` with an open connection on the queue.
    func run<T: Sendable>(retry: Bool, _ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [self] in
                var attempts = 0
                while true {
                    attempts += 1
                    do {
                        continuation.resume(returning: try body(try current()))
                        return
                    } catch {
                        guard let mapped = classify(error) else {
                            continuation.resume(throwing: error)
                            return
                        }
                        if case .transient = mapped {
                            drop()
                            if retry, attempts < 2 { continue }
                        }
                        continuation.resume(throwing: mapped)
                        return
                    }
                }
            }
        }
    }

    /// Reads from the kept connection, if any, without opening one.
    func peek<T>(_ read: (Connection?) -> T) -> T {
        queue.sync { read(connection) }
    }

    /// Closes the connection; the next call opens a new one.
    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async { [self] in
                drop()
                continuation.resume()
            }
        }
    }

    private func current() throws -> Connection {
        if let connection, isUsable(connection) { return connection }
        drop()
        let opened = try open()
        connection = opened
        return opened
    }

    private func drop() {
        if let connection { discard(connection) }
        connection = nil
    }
}
