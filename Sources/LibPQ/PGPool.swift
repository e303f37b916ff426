import Dispatch
import Synchronization

/// A small pool of ``PGConnection``s for async code.
///
/// libpq calls block their thread, so the pool never runs them on Swift's cooperative thread pool: each pooled
/// connection has its own serial `DispatchQueue`, and ``withConnection(_:)`` runs its (synchronous) body there and
/// resumes the caller when it is done. Connections are opened lazily up to `maximumConnections`; callers beyond
/// that wait (first come, first served) for one to be returned. A connection whose link broke is reopened on its
/// next use.
///
/// ```swift
/// let pool = PGPool(conninfo: url, maximumConnections: 8)
/// let count = try await pool.withConnection { connection in
///     try connection.query("SELECT count(*) FROM persons").int(0, 0) ?? 0
/// }
/// ```
public final class PGPool: Sendable {
    public let maximumConnections: Int
    private let conninfo: String
    private let state: Mutex<State>

    private struct State {
        var idle: [Slot] = []
        var opened = 0
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Slot, any Error>)] = []
        var nextWaiterID: UInt64 = 0
        var closed = false
    }

    /// One pooled connection and the queue its calls run on.
    ///
    /// `@unchecked Sendable`: `connection` is mutable and not thread-safe, but a slot is lent to one borrower at a
    /// time under the pool's `state` mutex, and the borrower touches it only from the slot's serial queue.
    private final class Slot: @unchecked Sendable {
        let queue: DispatchQueue
        var connection: PGConnection?
        init(index: Int) { queue = DispatchQueue(label: "dqt.libpq.connection.\(index)") }
    }

    /// - Parameters:
    ///   - conninfo: a libpq URL or conninfo string.
    ///   - maximumConnections: the most connections opened at once.
    public init(conninfo: String, maximumConnections: Int = 8) {
        precondition(maximumConnections > 0)
        self.conninfo = conninfo
        self.maximumConnections = maximumConnections
        self.state = Mutex(State())
    }

    /// Borrows a connection, runs `body` with it on the connection's own thread, and returns it to the pool.
    /// If `body` throws a connection error, the connection is closed and reopened on its next use.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        let slot = try await acquire()
        let conninfo = self.conninfo
        defer { release(slot) }
        return try await withCheckedThrowingContinuation { continuation in
            slot.queue.async {
                do {
                    if slot.connection == nil || slot.connection?.isConnected == false {
                        slot.connection = nil
                        slot.connection = try PGConnection(conninfo)
                    }
                    let value = try body(slot.connection!)
                    if slot.connection?.isInTransaction == true { _ = try? slot.connection?.execute("ROLLBACK") }
                    continuation.resume(returning: value)
                } catch {
                    if let pgError = error as? PGError, pgError.kind == .connection { slot.connection = nil }
                    if slot.connection?.isInTransaction == true { _ = try? slot.connection?.execute("ROLLBACK") }
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Connections opened so far (idle or lent).
    public var openedConnections: Int { state.withLock { $0.opened } }

    /// Closes idle connections and refuses further use; lent connections close when returned.
    public func close() {
        let (idle, waiters) = state.withLock { state -> ([Slot], [CheckedContinuation<Slot, any Error>]) in
            state.closed = true
            let idle = state.idle
            let waiters = state.waiters.map(\.continuation)
            state.idle = []
            state.waiters = []
            return (idle, waiters)
        }
        for slot in idle { slot.queue.async { slot.connection = nil } }
        for waiter in waiters { waiter.resume(throwing: PGError(kind: .connection, message: "the pool is closed")) }
    }

    private enum Acquired {
        case slot(Slot)
        case wait
        case closed
    }

    private func acquire() async throws -> Slot {
        let immediate: Acquired = state.withLock { state in
            if state.closed { return .closed }
            if let slot = state.idle.popLast() { return .slot(slot) }
            if state.opened < maximumConnections {
                state.opened += 1
                return .slot(Slot(index: state.opened))
            }
            return .wait
        }
        switch immediate {
        case .slot(let slot): return slot
        case .closed: throw PGError(kind: .connection, message: "the pool is closed")
        case .wait:
            return try await withCheckedThrowingContinuation { continuation in
                let handedOver: Slot? = state.withLock { state in
                    // A connection may have come back between the two locks.
                    if let slot = state.idle.popLast() { return slot }
                    state.nextWaiterID += 1
                    state.waiters.append((state.nextWaiterID, continuation))
                    return nil
                }
                if let handedOver { continuation.resume(returning: handedOver) }
            }
        }
    }

    private func release(_ slot: Slot) {
        let waiter: CheckedContinuation<Slot, any Error>? = state.withLock { state in
            if state.closed {
                return nil
            }
            if !state.waiters.isEmpty { return state.waiters.removeFirst().continuation }
            state.idle.append(slot)
            return nil
        }
        if let waiter { waiter.resume(returning: slot) } else if state.withLock({ $0.closed }) { slot.queue.async { slot.connection = nil } }
    }
}
