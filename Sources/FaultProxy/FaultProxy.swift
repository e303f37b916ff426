import Dispatch
import Foundation
import Synchronization

/// A fault-injecting proxy for tests: listens on 127.0.0.1 in front of a real server on loopback and, per request
/// (HTTP) or per connection (HTTP or raw TCP), passes traffic through or injects the fault its schedule chooses.
///
/// One thread accepts, one thread serves each client connection (blocking sockets, every wait a short poll), and in
/// HTTP mode each forwarded request gets its own connection to the server, closed once its response is read, so a
/// fault never leaves a half-used server connection behind. Everything is bounded: the proxy stops by itself after
/// its lifetime, a hang ends at the hang limit, an idle keep-alive connection at the idle timeout, and messages are
/// limited in size. It counts everything it did (``stats``).
///
/// ```swift
/// let proxy = try FaultProxy(upstreamPort: api.port, schedule: .script([.dropResponse, .respond(status: 503)]))
/// defer { proxy.stop() }
/// // point the client at proxy.baseURL ...
/// #expect(proxy.stats.forwarded == 1)
/// ```
public final class FaultProxy: Sendable {
    public enum Mode: Sendable {
        /// HTTP/1.1: whole requests and responses are read, so faults fall between messages.
        case http
        /// Raw bytes both ways (e.g. an SSH connection); the schedule is asked once per connection.
        case tcp
    }

    public enum Granularity: Sendable {
        /// The schedule chooses for every request.
        case perRequest
        /// The schedule chooses once per connection; the action applies to each request on it.
        case perConnection
    }

    public struct Limits: Sendable {
        /// The proxy stops accepting and ends every connection after this long.
        public var lifetime: Duration = .seconds(300)
        /// A hang ends (the connection is closed) after this long, if the client has not given up first.
        public var hangLimit: Duration = .seconds(120)
        /// A keep-alive connection with no new request for this long is closed.
        public var idleTimeout: Duration = .seconds(120)
        /// How long a request may take to arrive, and the server's response.
        public var messageTimeout: Duration = .seconds(120)
        /// Bigger requests or responses end the connection with a reset.
        public var maxMessageBytes: Int = 256 << 20
        /// Connections beyond this many at once are reset on arrival.
        public var maxConnections: Int = 512
        public init() {}
    }

    /// The proxy's port on 127.0.0.1.
    public let port: Int
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    private let core: Core

    /// Starts the proxy. `upstreamHost` must be an IPv4 loopback address.
    public init(
        upstreamHost: String = "127.0.0.1", upstreamPort: Int, mode: Mode = .http, granularity: Granularity = .perRequest,
        schedule: FaultSchedule, limits: Limits = Limits()
    ) throws {
        guard upstreamHost.hasPrefix("127.") else { throw FaultProxyError.notLoopback(upstreamHost) }
        let (listener, port) = try Socket.listen(host: "127.0.0.1")
        self.port = port
        core = Core(
            upstreamHost: upstreamHost, upstreamPort: upstreamPort, mode: mode, granularity: granularity,
            schedule: schedule, limits: limits)
        core.start(listener: listener)
    }

    /// Stops accepting, ends every connection (in order) and waits for the threads to finish (at most 10 s).
    public func stop() { core.stop() }

    /// True once the proxy has stopped (by ``stop()`` or at the end of its lifetime).
    public var isStopped: Bool { core.isStopped }

    /// What the proxy did so far.
    public var stats: FaultProxyStats { core.state.withLock { $0.stats } }

    deinit { core.stop() }
}

public enum FaultProxyError: Error, CustomStringConvertible {
    case notLoopback(String)
    public var description: String {
        switch self {
        case .notLoopback(let host): "the fault proxy only forwards to loopback addresses, not \(host)"
        }
    }
}

/// Counts of what the proxy did.
public struct FaultProxyStats: Sendable, CustomStringConvertible {
    /// Client connections accepted.
    public var connections = 0
    /// Connections reset on arrival because too many were open.
    public var refusedConnections = 0
    /// Requests read (HTTP) or connections scheduled (TCP).
    public var requests = 0
    /// Requests (or TCP connections) sent on to the server.
    public var forwarded = 0
    /// Complete responses read from the server.
    public var answered = 0
    /// Server responses delivered to the client in full.
    public var relayed = 0
    /// Requests that got an action other than `pass`.
    public var injected = 0
    /// Requests the server could not be reached for (answered 502 by the proxy).
    public var upstreamFailures = 0
    public var bytesToServer = 0
    public var bytesToClient = 0
    /// Requests by action name (``FaultAction/name``).
    public var byAction: [String: Int] = [:]
    /// Each request, in the order they finished (the first 100,000).
    public var events: [FaultEvent] = []

    public var description: String {
        let actions = byAction.keys.sorted().map { "\($0)=\(byAction[$0]!)" }.joined(separator: " ")
        return
            "connections \(connections), requests \(requests), forwarded \(forwarded), answered \(answered), relayed \(relayed), injected \(injected), upstream failures \(upstreamFailures) [\(actions)]"
    }
}

public struct FaultEvent: Sendable, CustomStringConvertible {
    public let ordinal: Int
    public let connection: Int
    public let method: String
    public let target: String
    public let action: FaultAction
    /// The server's status, when it answered.
    public var upstreamStatus: Int?
    /// The client received the server's whole response.
    public var relayed = false
    public var description: String {
        "#\(ordinal) conn \(connection) \(method) \(target) -> \(action)\(upstreamStatus.map { " (server \($0))" } ?? "")\(relayed ? " relayed" : "")"
    }
}

struct ProxyState: Sendable {
    var stopping = false
    var stopped = false
    var active = 0
    var nextConnection = 0
    var nextOrdinal = 0
    var stats = FaultProxyStats()

    mutating func record(_ event: FaultEvent) {
        if stats.events.count < 100_000 { stats.events.append(event) }
    }
}

final class Core: Sendable {
    let upstreamHost: String
    let upstreamPort: Int
    let mode: FaultProxy.Mode
    let granularity: FaultProxy.Granularity
    let schedule: FaultSchedule
    let limits: FaultProxy.Limits
    let deadline: ContinuousClock.Instant
    let state = Mutex(ProxyState())
    let threads = DispatchGroup()

    init(
        upstreamHost: String, upstreamPort: Int, mode: FaultProxy.Mode, granularity: FaultProxy.Granularity,
        schedule: FaultSchedule, limits: FaultProxy.Limits
    ) {
        self.upstreamHost = upstreamHost
        self.upstreamPort = upstreamPort
        self.mode = mode
        self.granularity = granularity
        self.schedule = schedule
        self.limits = limits
        deadline = ContinuousClock.now.advanced(by: limits.lifetime)
    }

    var shouldStop: Bool { ContinuousClock.now >= deadline || state.withLock { $0.stopping } }
    var isStopped: Bool { state.withLock { $0.stopped } }

    func stop() {
        state.withLock { $0.stopping = true }
        _ = threads.wait(timeout: .now() + 10)
    }

    func start(listener: Socket) {
        threads.enter()
        let thread = Thread { [self] in
            acceptLoop(listener)
            listener.close()
            state.withLock { $0.stopped = true }
            threads.leave()
        }
        thread.stackSize = 512 << 10
        thread.start()
    }

    private func acceptLoop(_ listener: Socket) {
        while !shouldStop {
            guard listener.wait(), let client = listener.accept() else { continue }
            let admitted: Int? = state.withLock { state in
                guard state.active < limits.maxConnections else {
                    state.stats.refusedConnections += 1
                    return nil
                }
                state.active += 1
                state.stats.connections += 1
                defer { state.nextConnection += 1 }
                return state.nextConnection
            }
            guard let connection = admitted else {
                client.reset()
                continue
            }
            threads.enter()
            let thread = Thread { [self] in
                switch mode {
                case .http: serveHTTP(client, connection: connection)
                case .tcp: serveTCP(client, connection: connection)
                }
                state.withLock { $0.active -= 1 }
                threads.leave()
            }
            thread.stackSize = 512 << 10
            thread.start()
        }
    }

    private func nextOrdinal() -> Int {
        state.withLock { state in
            defer { state.nextOrdinal += 1 }
            return state.nextOrdinal
        }
    }

    private func count(_ action: FaultAction) {
        state.withLock { state in
            state.stats.requests += 1
            state.stats.byAction[action.name, default: 0] += 1
            if action != .pass { state.stats.injected += 1 }
        }
    }

    private func after(_ duration: Duration) -> ContinuousClock.Instant {
        min(ContinuousClock.now.advanced(by: duration), deadline)
    }

    /// Sleeps in short steps, returning early when the proxy stops.
    private func pause(milliseconds: Int) {
        let until = after(.milliseconds(milliseconds))
        while ContinuousClock.now < until && !shouldStop { usleep(10_000) }
    }

    /// Holds the connection without answering until the client closes it, the hang limit or the proxy stops.
    private func hang(_ client: Socket) {
        let until = after(limits.hangLimit)
        var scratch: [UInt8] = []
        while ContinuousClock.now < until && !shouldStop {
            guard client.wait() else { continue }
            scratch.removeAll(keepingCapacity: true)
            if client.receive(into: &scratch) <= 0 { break }
        }
        client.close()
    }

    // MARK: HTTP

    private func serveHTTP(_ client: Socket, connection: Int) {
        let reader = WireReader(socket: client) { [self] in shouldStop }
        var connectionAction: (FaultAction, Int)?
        while true {
            let head: HTTPHead
            let body: [UInt8]
            do {
                guard let next = try reader.readHead(until: after(limits.idleTimeout)) else { return client.close() }
                head = next
                // A client that waits for "100 Continue" before its body (curl on large uploads) gets it from here.
                if head.value("Expect")?.lowercased() == "100-continue" {
                    guard (try? client.send(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))) != nil else { return client.close() }
                }
                body = try reader.readBody(head.requestFraming, until: after(limits.messageTimeout), limit: limits.maxMessageBytes)
            } catch .tooLarge {
                return client.reset()
            } catch {
                return client.close()
            }
            let words = head.words
            let method = words.first.map(String.init) ?? ""
            let target = words.count > 1 ? String(words[1]) : ""
            let action: FaultAction
            let ordinal: Int
            if granularity == .perConnection, let chosen = connectionAction {
                (action, ordinal) = chosen
            } else {
                ordinal = granularity == .perConnection ? connection : nextOrdinal()
                action = schedule.action(
                    for: FaultRequest(
                        ordinal: ordinal, connection: connection, method: method, target: target, headers: head.fields))
                connectionAction = (action, ordinal)
            }
            count(action)
            var event = FaultEvent(ordinal: ordinal, connection: connection, method: method, target: target, action: action)
            let keepOpen = handle(head: head, body: body, method: method, action: action, client: client, event: &event)
            state.withLock { $0.record(event) }
            guard keepOpen else { return }
        }
    }

    /// Carries out `action` for one request; false when the client connection has ended.
    private func handle(
        head: HTTPHead, body: [UInt8], method: String, action: FaultAction, client: Socket, event: inout FaultEvent
    ) -> Bool {
        func answer(_ bytes: [UInt8]) -> Bool {
            do {
                try client.send(bytes)
                state.withLock { $0.stats.bytesToClient += bytes.count }
            } catch {
                client.close()
                return false
            }
            if head.closes {
                client.close()
                return false
            }
            return true
        }
        switch action {
        case .respond(let status):
            return answer(CannedResponse.bytes(status: status, detail: "fault-proxy: status \(status) without forwarding"))
        case .tooManyRequests(let seconds):
            return answer(CannedResponse.bytes(status: 429, retryAfter: seconds, detail: "fault-proxy: 429 without forwarding"))
        case .resetBeforeForwarding:
            client.reset()
            return false
        case .hang:
            hang(client)
            return false
        case .pass, .resetAfterForwarding, .delay, .hangAfterForwarding, .dropResponse, .resetAfterBytes:
            break
        }

        let response: (bytes: [UInt8], status: Int, closes: Bool)
        do {
            response = try forward(head.raw + body, method: method)
        } catch {
            state.withLock { $0.stats.upstreamFailures += 1 }
            return answer(CannedResponse.bytes(status: 502, detail: "fault-proxy: the server could not be reached"))
        }
        event.upstreamStatus = response.status

        switch action {
        case .resetAfterForwarding:
            client.reset()
            return false
        case .dropResponse:
            client.close()
            return false
        case .hangAfterForwarding:
            hang(client)
            return false
        case .resetAfterBytes(let bytes):
            let part = Array(response.bytes.prefix(max(0, bytes)))
            try? client.send(part)
            state.withLock { $0.stats.bytesToClient += part.count }
            client.reset()
            return false
        case .delay(let milliseconds):
            pause(milliseconds: milliseconds)
            if shouldStop {
                client.close()
                return false
            }
        default:
            break
        }
        do {
            try client.send(response.bytes)
        } catch {
            client.close()
            return false
        }
        event.relayed = true
        state.withLock {
            $0.stats.relayed += 1
            $0.stats.bytesToClient += response.bytes.count
        }
        if response.closes || head.closes {
            client.close()
            return false
        }
        return true
    }

    /// Sends one request to the server on a new connection and reads its whole response (with any interim 1xx).
    private func forward(_ request: [UInt8], method: String) throws -> (bytes: [UInt8], status: Int, closes: Bool) {
        let upstream = try Socket.connect(host: upstreamHost, port: upstreamPort)
        defer { upstream.close() }
        try upstream.send(request)
        state.withLock {
            $0.stats.forwarded += 1
            $0.stats.bytesToServer += request.count
        }
        let reader = WireReader(socket: upstream) { [self] in shouldStop }
        let deadline = after(limits.messageTimeout)
        var bytes: [UInt8] = []
        while true {
            guard let head = try reader.readHead(until: deadline) else { throw WireError.closedEarly }
            bytes += head.raw
            let status = head.status ?? 0
            if (100..<200).contains(status) && status != 101 { continue }
            let framing = head.responseFraming(requestMethod: method)
            bytes += try reader.readBody(framing, until: deadline, limit: limits.maxMessageBytes)
            state.withLock { $0.stats.answered += 1 }
            return (bytes, status, framing == .untilClose || head.closes)
        }
    }

    // MARK: TCP

    private func serveTCP(_ client: Socket, connection: Int) {
        let ordinal = nextOrdinal()
        let action = schedule.action(for: FaultRequest(ordinal: ordinal, connection: connection, method: "", target: "", headers: []))
        count(action)
        var event = FaultEvent(ordinal: ordinal, connection: connection, method: "", target: "", action: action)
        defer { state.withLock { $0.record(event) } }
        var cutAfter: Int?
        switch action {
        case .pass: break
        case .delay(let milliseconds): pause(milliseconds: milliseconds)
        case .resetAfterBytes(let bytes): cutAfter = max(0, bytes)
        case .hang, .hangAfterForwarding: return hang(client)
        case .dropResponse: return client.close()
        case .respond, .tooManyRequests, .resetBeforeForwarding, .resetAfterForwarding: return client.reset()
        }
        guard !shouldStop, let upstream = try? Socket.connect(host: upstreamHost, port: upstreamPort) else {
            state.withLock { $0.stats.upstreamFailures += 1 }
            return client.reset()
        }
        state.withLock { $0.stats.forwarded += 1 }
        event.relayed = pump(client: client, upstream: upstream, cutAfter: cutAfter)
    }

    /// Copies bytes both ways until both sides have ended; with `cutAfter`, resets both once that many bytes went
    /// from the server to the client. True when the streams ended in order.
    private func pump(client: Socket, upstream: Socket, cutAfter: Int?) -> Bool {
        var clientOpen = true
        var upstreamOpen = true
        var toClient = 0
        var buffer: [UInt8] = []
        buffer.reserveCapacity(65_536)
        while clientOpen || upstreamOpen {
            if shouldStop { break }
            var fds = [
                pollfd(fd: clientOpen ? client.fd : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: upstreamOpen ? upstream.fd : -1, events: Int16(POLLIN), revents: 0),
            ]
            guard poll(&fds, 2, Socket.pollStep) > 0 else { continue }
            if clientOpen && fds[0].revents != 0 {
                buffer.removeAll(keepingCapacity: true)
                let n = client.receive(into: &buffer)
                if n > 0 {
                    guard (try? upstream.send(buffer)) != nil else { break }
                    state.withLock { $0.stats.bytesToServer += n }
                } else if n == 0 {
                    clientOpen = false
                    upstream.shutdownWrite()
                } else {
                    break
                }
            }
            if upstreamOpen && fds[1].revents != 0 {
                buffer.removeAll(keepingCapacity: true)
                let n = upstream.receive(into: &buffer)
                if n > 0 {
                    if let limit = cutAfter, toClient + n >= limit {
                        let part = Array(buffer.prefix(limit - toClient))
                        try? client.send(part)
                        state.withLock { $0.stats.bytesToClient += part.count }
                        client.reset()
                        upstream.reset()
                        return false
                    }
                    guard (try? client.send(buffer)) != nil else { break }
                    toClient += n
                    state.withLock { $0.stats.bytesToClient += n }
                } else if n == 0 {
                    upstreamOpen = false
                    client.shutdownWrite()
                } else {
                    break
                }
            }
        }
        let clean = !clientOpen && !upstreamOpen
        client.close()
        upstream.close()
        return clean
    }
}
