import Foundation
public import LibPQ

/// The bridge's ledger in PostgreSQL (schema `bridge`, see ``LedgerMigrations``): the production ``LedgerStore``.
/// Every method is safe to call from async code: the SQL runs on the pool's own threads.
///
/// Calls that fail because the connection broke (PostgreSQL restarted, network) are retried a few times with backoff;
/// every write here is idempotent (upserts, state updates, a staging transaction that starts by deleting what it
/// replaces), so a retry after a lost COMMIT acknowledgement does no harm.
public final class PostgresLedger: LedgerStore, Sendable {
    let pool: PGPool
    let conninfo: String
    /// How long connection failures are retried before an operation gives up.
    private let reconnectAttempts: Int

    /// The advisory lock key that makes runs exclusive ("DQTBRUN1").
    public static let runLockKey: Int64 = 0x4451_5442_5255_4E31

    public init(conninfo: String, maximumConnections: Int = 4, reconnectAttempts: Int = 8) {
        self.conninfo = conninfo
        self.pool = PGPool(conninfo: conninfo, maximumConnections: maximumConnections)
        self.reconnectAttempts = reconnectAttempts
    }

    public func close() { pool.close() }

    /// Runs `body` on a pooled connection, retrying on connection failures.
    @discardableResult
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await pool.withConnection(body)
            } catch let error as PGError where Self.isTransient(error) && attempt < reconnectAttempts {
                attempt += 1
                let delay = min(5.0, 0.1 * pow(2.0, Double(attempt))) * Double.random(in: 0.5...1.0)
                try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            }
        }
    }

    /// Errors worth retrying on a fresh connection: the link broke (also in the middle of a COPY), or the server is
    /// shutting down, restarting or not yet accepting connections (SQLSTATE classes 08 and 57).
    public static func isTransient(_ error: PGError) -> Bool {
        if error.kind == .connection || error.kind == .copy { return true }
        guard let state = error.sqlState else { return false }
        return state.hasPrefix("08") || state.hasPrefix("57")
    }

    @discardableResult
    public func migrate() async throws -> [Int] {
        try await withConnection { try LedgerMigrations.migrate($0) }
    }

    /// Takes the run lock on a dedicated connection, or returns nil when another session holds it.
    public func acquireRunLock() async throws -> (any RunLock)? {
        let lock = PostgresRunLock(conninfo: conninfo, key: Self.runLockKey)
        return try await lock.acquire() ? lock : nil
    }
}
