import Synchronization

/// What the proxy does with one request (HTTP mode) or one connection (TCP mode, or HTTP per connection).
public enum FaultAction: Sendable, Hashable, CustomStringConvertible {
    /// Forward the request and relay the server's response unchanged.
    case pass
    /// Answer with this status (500, 502, 503, ...) and a problem+json body, without forwarding.
    case respond(status: Int)
    /// Answer 429 with `Retry-After: seconds`, without forwarding.
    case tooManyRequests(retryAfter: Int)
    /// Reset the client's connection (SO_LINGER 0) after reading the request, without forwarding it.
    case resetBeforeForwarding
    /// Forward the request, wait for the server's whole response (so the server has applied it), then reset the
    /// client's connection instead of relaying it.
    case resetAfterForwarding
    /// Forward the request, then hold the server's response for this long before relaying it.
    case delay(milliseconds: Int)
    /// Read the request and never answer, without forwarding, until the client gives up (or the hang limit).
    case hang
    /// Forward the request, read the server's response, then never answer (the client times out after the server
    /// applied the write).
    case hangAfterForwarding
    /// The lost acknowledgement: forward the request, let the server apply it and answer, then close the client's
    /// connection in order (FIN) without relaying the response.
    case dropResponse
    /// Relay only the first `bytes` bytes of the server's response (HTTP) or of the server-to-client stream (TCP),
    /// then reset both connections: a response or a download cut in the middle.
    case resetAfterBytes(Int)

    /// A short stable name for counts and tables: `pass`, `status-503`, `429`, `reset-before`, ...
    public var name: String {
        switch self {
        case .pass: "pass"
        case .respond(let status): "status-\(status)"
        case .tooManyRequests: "429"
        case .resetBeforeForwarding: "reset-before"
        case .resetAfterForwarding: "reset-after"
        case .delay: "delay"
        case .hang: "hang"
        case .hangAfterForwarding: "hang-after"
        case .dropResponse: "drop-response"
        case .resetAfterBytes: "cut"
        }
    }

    public var description: String {
        switch self {
        case .tooManyRequests(let seconds): "429 (Retry-After: \(seconds))"
        case .delay(let milliseconds): "delay \(milliseconds) ms"
        case .resetAfterBytes(let bytes): "cut after \(bytes) bytes"
        default: name
        }
    }

    /// True when the server receives the request.
    public var forwards: Bool {
        switch self {
        case .pass, .resetAfterForwarding, .delay, .hangAfterForwarding, .dropResponse, .resetAfterBytes: true
        case .respond, .tooManyRequests, .resetBeforeForwarding, .hang: false
        }
    }
}

/// What the schedule knows when it chooses: the arrival order and, in HTTP mode, the request line and headers.
public struct FaultRequest: Sendable {
    /// 0-based arrival order: of requests (HTTP per request) or of connections (TCP, HTTP per connection).
    public let ordinal: Int
    /// 0-based order of the connection the request arrived on.
    public let connection: Int
    /// The request's method and target; empty in TCP mode.
    public let method: String
    public let target: String
    public let headers: [(name: String, value: String)]

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The target's path, without its query.
    public var path: Substring { target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "" }
}

/// Chooses the action for each request or connection.
public struct FaultSchedule: Sendable {
    private let decide: @Sendable (FaultRequest) -> FaultAction

    public init(_ decide: @escaping @Sendable (FaultRequest) -> FaultAction) { self.decide = decide }

    public func action(for request: FaultRequest) -> FaultAction { decide(request) }

    /// Everything passes.
    public static var passThrough: FaultSchedule { always(.pass) }

    public static func always(_ action: FaultAction) -> FaultSchedule { FaultSchedule { _ in action } }

    /// The n-th request (or connection) gets `actions[n]`; those after the script get `rest`.
    public static func script(_ actions: [FaultAction], then rest: FaultAction = .pass) -> FaultSchedule {
        FaultSchedule { request in request.ordinal < actions.count ? actions[request.ordinal] : rest }
    }

    /// A seeded random schedule: each ordinal is a fault with probability `faultRate`, chosen uniformly from
    /// `faults`; the choice for an ordinal depends only on the seed and the ordinal, so the same seed gives the same
    /// schedule however the requests interleave. At most `maxFaults` faults are injected (then everything
    /// passes), so that a client with bounded retries always gets through in the end.
    public static func random(
        seed: UInt64, faultRate: Double, faults: [FaultAction], maxFaults: Int = .max
    ) -> FaultSchedule {
        precondition(!faults.isEmpty && faultRate >= 0 && faultRate <= 1)
        let injected = FaultCounter()
        return FaultSchedule { request in
            let draw = splitMix(seed &+ UInt64(truncatingIfNeeded: request.ordinal) &* 0x9E37_79B9_7F4A_7C15)
            let unit = Double(draw >> 11) / Double(1 << 53)
            guard unit < faultRate else { return .pass }
            let allowed = injected.count.withLock { count -> Bool in
                guard count < maxFaults else { return false }
                count += 1
                return true
            }
            guard allowed else { return .pass }
            return faults[Int(splitMix(draw) % UInt64(faults.count))]
        }
    }

    /// Applies `schedule` only to requests that `predicate` selects (e.g. writes); the others pass.
    public func only(where predicate: @escaping @Sendable (FaultRequest) -> Bool) -> FaultSchedule {
        let inner = self
        return FaultSchedule { predicate($0) ? inner.action(for: $0) : .pass }
    }
}

final class FaultCounter: Sendable {
    let count = Mutex(0)
}

/// SplitMix64's output function: a well-mixed 64-bit value from any input.
func splitMix(_ input: UInt64) -> UInt64 {
    var z = input &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
