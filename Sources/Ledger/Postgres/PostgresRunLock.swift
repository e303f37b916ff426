import Dispatch
import Foundation
import LibPQ

/// The run lock: `pg_try_advisory_lock` on a connection of its own, held for the whole run.
public final class PostgresRunLock: RunLock, @unchecked Sendable {
    // @unchecked: `connection` is only touched on `queue`.
    private let conninfo: String
    private let key: Int64
    private let queue = DispatchQueue(label: "dqt.bridge.run-lock")
    private var connection: PGConnection?

    init(conninfo: String, key: Int64) {
        self.conninfo = conninfo
        self.key = key
    }

    private func onQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    func acquire() async throws -> Bool {
        try await onQueue { [self] in
            let connection = try PGConnection(conninfo)
            guard try connection.tryAdvisoryLock(key) else { return false }
            self.connection = connection
            return true
        }
    }

    /// Checks the lock is still held (the connection alive); after a lost connection (a database restart) it takes
    /// the lock again on a new connection. Throws ``RunLockLost`` when another session took it meanwhile.
    public func verify() async throws {
        try await onQueue { [self] in
            if let connection, connection.isConnected, (try? connection.query("SELECT 1")) != nil { return }
            self.connection = nil
            var lastError: (any Error)?
            for attempt in 0..<20 {
                do {
                    let fresh = try PGConnection(conninfo)
                    guard try fresh.tryAdvisoryLock(key) else { throw RunLockLost() }
                    self.connection = fresh
                    return
                } catch let error as RunLockLost {
                    throw error
                } catch {
                    lastError = error
                    Thread.sleep(forTimeInterval: min(3, 0.1 * Double(1 << min(attempt, 5))))
                }
            }
            throw lastError ?? RunLockLost()
        }
    }

    public func release() async {
        _ = try? await onQueue { [self] in
            if let connection { _ = try? connection.advisoryUnlock(key) }
            connection = nil
        }
    }
}
