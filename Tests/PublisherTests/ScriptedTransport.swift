import Publisher
import Synchronization

/// An API stand-in: `respond(call number, operations)` answers each batch.
final class ScriptedTransport: BatchTransport, Sendable {
    struct State {
        var calls = 0
        var sent = 0
        var batchSizes: [Int] = []
        var inFlight: [Set<String>] = []
        var maxInFlight = 0
        var overlaps = 0
        var order: [Int] = []
    }
    private let state = Mutex(State())
    let delay: Duration?
    let respond: @Sendable (Int, [BatchOperation]) throws -> BatchReply

    init(delay: Duration? = nil, respond: @escaping @Sendable (Int, [BatchOperation]) throws -> BatchReply) {
        self.delay = delay
        self.respond = respond
    }

    var calls: Int { state.withLock { $0.calls } }
    var operationsSent: Int { state.withLock { $0.sent } }
    var batchSizes: [Int] { state.withLock { $0.batchSizes } }
    var maxInFlight: Int { state.withLock { $0.maxInFlight } }
    var overlaps: Int { state.withLock { $0.overlaps } }
    var order: [Int] { state.withLock { $0.order } }

    func send(_ operations: [BatchOperation]) async throws -> BatchReply {
        let paths = Set(operations.map(\.path))
        let call = state.withLock { state -> Int in
            state.calls += 1
            state.sent += operations.count
            state.batchSizes.append(operations.count)
            if state.inFlight.contains(where: { !$0.isDisjoint(with: paths) }) { state.overlaps += 1 }
            state.inFlight.append(paths)
            state.maxInFlight = max(state.maxInFlight, state.inFlight.count)
            state.order.append(contentsOf: operations.map(\.line))
            return state.calls
        }
        defer {
            state.withLock { state in
                if let index = state.inFlight.firstIndex(of: paths) { state.inFlight.remove(at: index) }
            }
        }
        if let delay { try await Task.sleep(for: delay) }
        return try respond(call, operations)
    }
}
