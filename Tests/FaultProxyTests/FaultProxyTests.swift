import AsyncHTTPClient
import DQTTesting
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import FaultProxy

#if canImport(Glibc)
    import Glibc
#endif

/// The fault proxy itself, in front of a small real HTTP server on loopback: each action does what it says, to the
/// client (status, RST, FIN, silence, partial response) and to the server (applied or not).
@Suite("FaultProxy", .timeLimit(.minutes(10)))
struct FaultProxyTests {
    /// A proxy in front of a fresh server, stopped afterwards.
    func withProxy(
        _ schedule: FaultSchedule, granularity: FaultProxy.Granularity = .perRequest, limits: FaultProxy.Limits = .init(),
        _ body: (FaultProxy, TestServer) throws -> Void
    ) throws {
        let server = try TestServer()
        defer { server.stop() }
        let proxy = try FaultProxy(upstreamPort: server.port, granularity: granularity, schedule: schedule, limits: limits)
        defer { proxy.stop() }
        try body(proxy, server)
    }

    @Test("pass through: keep-alive, Content-Length and chunked bodies, responses unchanged")
    func passThrough() throws {
        try withProxy(.passThrough) { proxy, server in
            let client = try RawClient(port: proxy.port)
            try client.send("POST", "/apply/a", body: "hello world")
            #expect(client.receive() == .response(200, "applied a 11"))
            try client.send("POST", "/apply/b", body: "a chunked body of some length", chunked: true)
            #expect(client.receive() == .response(200, "applied b 29"))
            try client.send("GET", "/missing")
            #expect(client.receive() == .response(404, "no"))
            // A client that waits for 100 Continue before sending its body.
            try client.socket.send(Array("POST /apply/e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n".utf8))
            guard case .response(100, _) = client.receive() else {
                Issue.record("no 100 Continue")
                return
            }
            try client.socket.send(Array("abc".utf8))
            var answer = client.receive()
            if case .response(100, _) = answer { answer = client.receive() }  // the server's own interim answer, relayed
            #expect(answer == .response(200, "applied e 3"))
            try client.send("GET", "/big/300000")
            guard case .response(200, let big) = client.receive() else {
                Issue.record("no big response")
                return
            }
            #expect(big.utf8.count == 300_000)
            #expect(server.applied == ["a": 1, "b": 1, "e": 1])
            // The proxy counts a relay after its last byte is sent: the client may read it a moment earlier.
            let stats = settled(proxy) { $0.relayed == 5 }
            let counted = stats.connections == 1 && stats.requests == 5 && stats.forwarded == 5 && stats.relayed == 5 && stats.injected == 0
            #expect(counted, "\(stats)")
            record(
                "proxy pass-through (keep-alive, chunked, 100-continue)", runs: stats.requests, expected: 3, applied: server.totalApplied,
                ok: counted && server.applied == ["a": 1, "b": 1, "e": 1])
        }
    }

    @Test("5xx and 429 are answered without forwarding; the connection stays usable")
    func statusesWithoutForwarding() throws {
        try withProxy(.script([.respond(status: 500), .respond(status: 502), .respond(status: 503), .tooManyRequests(retryAfter: 7)])) {
            proxy, server in
            let client = try RawClient(port: proxy.port)
            for expected in [500, 502, 503] {
                try client.send("POST", "/apply/x", body: "1")
                guard case .response(let status, let body) = client.receive() else {
                    Issue.record("no answer")
                    return
                }
                #expect(status == expected)
                #expect(body.contains("\"status\":\(expected)"))
                #expect(client.lastHead?.value("Content-Type") == "application/problem+json")
            }
            try client.send("POST", "/apply/x", body: "1")
            guard case .response(429, _) = client.receive() else {
                Issue.record("no 429")
                return
            }
            #expect(client.lastHead?.value("Retry-After") == "7")
            #expect(server.totalApplied == 0)
            try client.send("POST", "/apply/x", body: "1")
            #expect(client.receive() == .response(200, "applied x 1"))
            #expect(server.applied == ["x": 1])
            let stats = settled(proxy) { $0.relayed == 1 }
            let counted = stats.forwarded == 1 && stats.injected == 4 && stats.byAction["429"] == 1 && stats.byAction["status-503"] == 1
            #expect(counted, "\(stats)")
            record(
                "proxy 5xx/429 without forwarding", runs: stats.requests, expected: 5, applied: server.totalApplied, refused: stats.injected,
                reasons: "4 answered by the proxy, never forwarded", ok: counted && server.applied == ["x": 1])
        }
    }

    @Test("reset before forwarding: RST, the server never sees the request")
    func resetBefore() throws {
        try withProxy(.script([.resetBeforeForwarding])) { proxy, server in
            let client = try RawClient(port: proxy.port)
            try client.send("POST", "/apply/r", body: "1")
            #expect(client.receive() == .reset)
            #expect(server.totalApplied == 0)
            #expect(proxy.stats.forwarded == 0)
        }
    }

    @Test("reset after forwarding: the server applied it, the client gets RST")
    func resetAfter() throws {
        try withProxy(.script([.resetAfterForwarding])) { proxy, server in
            let client = try RawClient(port: proxy.port)
            try client.send("POST", "/apply/r", body: "1")
            #expect(client.receive() == .reset)
            #expect(server.applied == ["r": 1])
            #expect(proxy.stats.answered == 1 && proxy.stats.relayed == 0)
        }
    }

    @Test("lost acknowledgement: the server applied it, the connection ends in order with no response")
    func dropResponse() throws {
        try withProxy(.script([.dropResponse])) { proxy, server in
            let client = try RawClient(port: proxy.port)
            try client.send("POST", "/apply/lost", body: "1")
            #expect(client.receive() == .closed)
            #expect(server.applied == ["lost": 1])
            // The retry on a new connection passes, and the server sees it a second time: only an idempotency key
            // can make that harmless (the security suite checks that against dqt-api).
            let retry = try RawClient(port: proxy.port)
            try retry.send("POST", "/apply/lost", body: "1")
            #expect(retry.receive() == .response(200, "applied lost 1"))
            #expect(server.applied == ["lost": 2])
        }
    }

    @Test("delay: the response comes after the delay")
    func delay() throws {
        try withProxy(.script([.delay(milliseconds: 400)])) { proxy, server in
            let client = try RawClient(port: proxy.port)
            let start = ContinuousClock.now
            try client.send("POST", "/apply/d", body: "1")
            #expect(client.receive() == .response(200, "applied d 1"))
            #expect(ContinuousClock.now - start >= .milliseconds(400))
            #expect(server.applied == ["d": 1])
        }
    }

    @Test("hang: no answer, nothing forwarded; ends when the client gives up")
    func hang() throws {
        try withProxy(.script([.hang])) { proxy, server in
            do {
                let client = try RawClient(port: proxy.port)
                try client.send("POST", "/apply/h", body: "1")
                #expect(client.receive(within: 600) == .silent)
            }
            #expect(server.totalApplied == 0)
            // The client closed: the proxy's connection thread ends soon after.
            let until = ContinuousClock.now.advanced(by: .seconds(3))
            while ContinuousClock.now < until, proxy.stats.events.isEmpty { usleep(20_000) }
            #expect(proxy.stats.events.first?.action == .hang)
        }
    }

    @Test("hang after forwarding: applied, but the client times out")
    func hangAfter() throws {
        try withProxy(.script([.hangAfterForwarding])) { proxy, server in
            let client = try RawClient(port: proxy.port)
            try client.send("POST", "/apply/h", body: "1")
            #expect(client.receive(within: 600) == .silent)
            #expect(server.applied == ["h": 1])
        }
    }

    @Test("a hang ends at the hang limit and the proxy stops by itself at the end of its lifetime")
    func bounded() throws {
        var limits = FaultProxy.Limits()
        limits.hangLimit = .milliseconds(300)
        limits.lifetime = .seconds(2)
        try withProxy(.always(.hang), limits: limits) { proxy, _ in
            let client = try RawClient(port: proxy.port)
            try client.send("GET", "/x")
            #expect(client.receive(within: 2000) == .closed)
            let until = ContinuousClock.now.advanced(by: .seconds(5))
            while ContinuousClock.now < until, !proxy.isStopped { usleep(50_000) }
            #expect(proxy.isStopped)
            #expect(throws: (any Error).self) { _ = try RawClient(port: proxy.port) }
        }
    }

    @Test("stop() ends hung connections promptly")
    func stopEndsHangs() throws {
        let server = try TestServer()
        defer { server.stop() }
        let proxy = try FaultProxy(upstreamPort: server.port, schedule: .always(.hang))
        var clients: [RawClient] = []
        for _ in 0..<5 {
            let client = try RawClient(port: proxy.port)
            try client.send("GET", "/x")
            clients.append(client)
        }
        let until = ContinuousClock.now.advanced(by: .seconds(3))
        while ContinuousClock.now < until, proxy.stats.requests < 5 { usleep(20_000) }
        let start = ContinuousClock.now
        proxy.stop()
        #expect(ContinuousClock.now - start < .seconds(2))
        #expect(proxy.isStopped)
        for client in clients { #expect(client.receive(within: 1000) == .closed) }
    }

    @Test("a response cut after N bytes")
    func cut() throws {
        try withProxy(.script([.resetAfterBytes(10)])) { proxy, server in
            let client = try RawClient(port: proxy.port)
            try client.send("GET", "/big/100000")
            #expect(client.receive() == .partial(10))
        }
    }

    @Test("per connection: the action chosen once applies to every request on the connection")
    func perConnection() throws {
        try withProxy(.script([.respond(status: 503), .pass]), granularity: .perConnection) { proxy, server in
            let first = try RawClient(port: proxy.port)
            for _ in 0..<3 {
                try first.send("POST", "/apply/c", body: "1")
                guard case .response(503, _) = first.receive() else {
                    Issue.record("expected 503")
                    return
                }
            }
            let second = try RawClient(port: proxy.port)
            for _ in 0..<3 {
                try second.send("POST", "/apply/c", body: "1")
                #expect(second.receive() == .response(200, "applied c 1"))
            }
            #expect(server.applied == ["c": 3])
            #expect(proxy.stats.connections == 2 && proxy.stats.requests == 6)
        }
    }

    @Test("the seeded random schedule is the same for the same seed, respects the rate and the fault cap")
    func seededSchedule() {
        let faults: [FaultAction] = [.respond(status: 503), .resetBeforeForwarding, .dropResponse, .tooManyRequests(retryAfter: 1)]
        func sequence(_ seed: UInt64, cap: Int = .max) -> [FaultAction] {
            let schedule = FaultSchedule.random(seed: seed, faultRate: 0.3, faults: faults, maxFaults: cap)
            return (0..<2000).map { schedule.action(for: FaultRequest(ordinal: $0, connection: 0, method: "POST", target: "/", headers: [])) }
        }
        let a = sequence(42)
        #expect(a == sequence(42))
        #expect(a != sequence(43))
        let rate = Double(a.filter { $0 != .pass }.count) / Double(a.count)
        #expect(rate > 0.25 && rate < 0.35, "fault rate \(rate)")
        #expect(Set(a.filter { $0 != .pass }.map(\.name)).count == faults.count)
        #expect(sequence(42, cap: 10).filter { $0 != .pass }.count == 10)
        // Out-of-order arrival does not change an ordinal's action.
        let schedule = FaultSchedule.random(seed: 42, faultRate: 0.3, faults: faults)
        #expect(
            (0..<2000).reversed().map { schedule.action(for: FaultRequest(ordinal: $0, connection: 0, method: "", target: "", headers: [])) }
                == a.reversed())
    }

    @Test("TCP mode: bytes both ways, a stream cut after N bytes, a silent connection")
    func tcp() throws {
        let server = try TestServer()
        defer { server.stop() }
        let proxy = try FaultProxy(
            upstreamPort: server.port, mode: .tcp, schedule: .script([.pass, .resetAfterBytes(5000), .hang, .delay(milliseconds: 300)]))
        defer { proxy.stop() }
        let pass = try RawClient(port: proxy.port)
        try pass.send("GET", "/big/200000")
        guard case .response(200, let body) = pass.receive() else {
            Issue.record("no response")
            return
        }
        #expect(body.utf8.count == 200_000)
        let cut = try RawClient(port: proxy.port)
        try cut.send("GET", "/big/200000")
        #expect(cut.receive() == .partial(5000))
        let silent = try RawClient(port: proxy.port)
        try silent.send("GET", "/x")
        #expect(silent.receive(within: 500) == .silent)
        let slow = try RawClient(port: proxy.port)
        let start = ContinuousClock.now
        try slow.send("GET", "/x")
        #expect(slow.receive() == .response(200, "ok"))
        #expect(ContinuousClock.now - start >= .milliseconds(300))
        #expect(proxy.stats.connections == 4)
    }

    @Test("only loopback servers")
    func loopbackOnly() {
        #expect(throws: FaultProxyError.self) { _ = try FaultProxy(upstreamHost: "10.0.0.1", upstreamPort: 80, schedule: .passThrough) }
    }

    /// What AsyncHTTPClient (the bridge's HTTP client) reports for each fault: the publisher must treat each of
    /// these as "outcome unknown, retry with the same key", never as success or as a rejection.
    @Test("AsyncHTTPClient sees each fault as an error or the injected status")
    func asyncHTTPClient() async throws {
        let server = try TestServer()
        defer { server.stop() }
        let actions: [FaultAction] = [
            .pass, .respond(status: 503), .tooManyRequests(retryAfter: 2), .resetBeforeForwarding,
            .resetAfterForwarding, .dropResponse, .hangAfterForwarding, .resetAfterBytes(20), .delay(milliseconds: 200),
        ]
        var limits = FaultProxy.Limits()
        limits.hangLimit = .seconds(5)
        let proxy = try FaultProxy(upstreamPort: server.port, schedule: .script(actions), limits: limits)
        defer { proxy.stop() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        var seen: [String] = []
        var successes = 0
        for (index, action) in actions.enumerated() {
            var request = HTTPClientRequest(url: proxy.baseURL + "/apply/k\(index)")
            request.method = .POST
            request.body = .bytes(ByteBuffer(string: "body"))
            do {
                let response = try await client.execute(request, timeout: .milliseconds(1500))
                _ = try await response.body.collect(upTo: 1 << 20)
                seen.append(
                    "\(action.name): \(response.status.code)\(response.headers.first(name: "Retry-After").map { " Retry-After \($0)" } ?? "")")
                if response.status.code == 200 { successes += 1 }
            } catch {
                seen.append("\(action.name): \(type(of: error)) \(error)")
            }
        }
        try await client.shutdown()
        print(seen.joined(separator: "\n"))
        #expect(successes == 2, "\(seen)")  // pass and delay
        #expect(seen[1].hasSuffix("503"))
        #expect(seen[2].contains("429 Retry-After 2"))
        for index in [3, 4, 5, 6, 7] { #expect(!seen[index].hasSuffix(": 200"), "\(seen[index])") }
        // Applied by the server: every action that forwards.
        let expected = actions.enumerated().filter { $0.element.forwards }.map { "k\($0.offset)" }
        #expect(Set(server.applied.keys) == Set(expected))
        record(
            "proxy under AsyncHTTPClient, one request per fault", runs: actions.count, expected: actions.count,
            applied: server.totalApplied, refused: actions.count - expected.count,
            reasons: "not forwarded: status-503, 429, reset-before", ok: Set(server.applied.keys) == Set(expected))
    }
}
