import DQTTesting
import Foundation
import Testing

@testable import FaultProxy

/// Slow, idle and oversized clients against `dqt-api serve` with short limits set on its command line, over real
/// sockets: each scenario times when the service closes the connection and reads what it answered first.
@Suite(
    "hostile input: slow, idle and oversized clients", .serialized, .enabled(if: TestServices.shouldRun(TestServices.databaseURL)),
    .timeLimit(.minutes(10)))
struct ConnectionEdgeTests {
    /// Short limits, so each scenario takes seconds: idle 2 s, head 1 s, body 2 s, 8 KiB heads, 64 KiB bodies.
    static let limits = [
        "--idle-timeout", "2", "--header-timeout", "1", "--body-timeout", "2", "--max-header-bytes", "8192",
        "--max-body-bytes", "65536",
    ]
    static let trn = "1000001"

    /// Sends `head` at once, then `trickle` one byte every `every` while reading, until the service closes the
    /// connection or `limit` passes.
    static func trickle(port: Int, head: String, trickle: String, every: Duration, limit: Duration) throws -> RawReply {
        let socket = try Socket.connect(host: "127.0.0.1", port: port)
        defer { socket.close() }
        let started = ContinuousClock.now
        try socket.send(Array(head.utf8))
        var reply = RawReply(bytes: [], closedAfter: nil)
        var pending = Array(trickle.utf8)[...]
        var nextByte = started + every
        while ContinuousClock.now - started < limit {
            if let byte = pending.first, ContinuousClock.now >= nextByte {
                _ = try? socket.send([byte])
                pending = pending.dropFirst()
                nextByte = ContinuousClock.now + every
            }
            guard socket.wait(milliseconds: 20) else { continue }
            if socket.receive(into: &reply.bytes) <= 0 {
                reply.closedAfter = ContinuousClock.now - started
                break
            }
        }
        return reply
    }

    static func closed(_ reply: RawReply, within range: ClosedRange<Duration>) -> Bool {
        reply.closedAfter.map { range.contains($0) } ?? false
    }

    @Test("idle, slow-header and slow-body connections are closed at their limits; the slow ones get 408 problem+json")
    func slowAndIdleClients() async throws {
        try await APIServerProcess.with(arguments: Self.limits) { api in
            // Nothing sent: Hummingbird's idle timeout.
            let idle = try api.exchange("", limit: .seconds(10))
            let idleOK = idle.bytes.isEmpty && Self.closed(idle, within: .milliseconds(1800)...(.seconds(5)))
            #expect(idleOK, "idle: \(idle)")
            recordHostile(
                "idle connection (nothing sent), idle timeout 2 s", ok: idleOK, reasons: "closed after \(idle.closedAfter.map { "\($0)" } ?? "never")"
            )

            // A head sent a byte every 200 ms: never idle, but the whole head must arrive within 1 s.
            let slowHead = try Self.trickle(
                port: api.port, head: "GET /v3/persons/\(Self.trn) HTTP/1.1\r\n",
                trickle: "Host: 127.0.0.1\r\nAuthorization: Bearer \(api.key)\r\n\r\n", every: .milliseconds(200), limit: .seconds(10))
            let slowHeadOK =
                slowHead.status == 408 && slowHead.isProblem(errorCode: 10126) && slowHead.header("Connection") == "close"
                && Self.closed(slowHead, within: .milliseconds(900)...(.seconds(4)))
            #expect(slowHeadOK, "slow head: \(slowHead)")
            recordHostile("slow headers (a byte every 200 ms), header timeout 1 s", ok: slowHeadOK, reasons: "\(slowHead.status ?? 0) then closed")

            // A body sent a byte every 200 ms: each byte resets the idle timeout, the body timeout is a total.
            let slowBody = try Self.trickle(
                port: api.port,
                head:
                    "PATCH /v3/persons/\(Self.trn) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(api.key)\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n",
                trickle: #"{"firstName":"Ffugwen"}"# + String(repeating: " ", count: 37), every: .milliseconds(200), limit: .seconds(10))
            let slowBodyOK =
                slowBody.status == 408 && slowBody.isProblem(errorCode: 10126) && Self.closed(slowBody, within: .milliseconds(1900)...(.seconds(5)))
            #expect(slowBodyOK, "slow body: \(slowBody)")
            recordHostile("slow body (a byte every 200 ms), body timeout 2 s", ok: slowBodyOK, reasons: "\(slowBody.status ?? 0) then closed")

            // Control: a prompt client is served on a kept-alive connection, which then idles out.
            let prompt = try api.exchange("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", limit: .seconds(10))
            #expect(prompt.status == 200 && Self.closed(prompt, within: .milliseconds(1800)...(.seconds(5))), "prompt: \(prompt)")
        }
    }

    @Test("413, 414, 431 and malformed requests: problem+json with Connection: close, and the connection closed")
    func refusalsCloseTheConnection() async throws {
        try await APIServerProcess.with(arguments: Self.limits) { api in
            let auth = "Host: 127.0.0.1\r\nAuthorization: Bearer \(api.key)\r\nContent-Type: application/json\r\n"
            // A declared body over the limit, still being sent when the answer comes.
            let declared = try Self.trickle(
                port: api.port, head: "PUT /v3/persons/deceased/\(Self.trn) HTTP/1.1\r\n\(auth)Content-Length: 1000000\r\n\r\n",
                trickle: String(repeating: " ", count: 200), every: .milliseconds(20), limit: .seconds(10))
            // The same undeclared (chunked).
            let chunk = "1000\r\n" + String(repeating: " ", count: 0x1000) + "\r\n"
            let chunked = try api.exchange(
                "PUT /v3/persons/deceased/\(Self.trn) HTTP/1.1\r\n\(auth)Transfer-Encoding: chunked\r\n\r\n" + String(repeating: chunk, count: 20))
            let longURI = try api.exchange("GET /v3/persons/" + String(repeating: "1", count: 1 << 20) + " HTTP/1.1\r\n\(auth)\r\n")
            let bigHeaders = try api.exchange(
                "GET /v3/persons/\(Self.trn) HTTP/1.1\r\n\(auth)X-Filler: \(String(repeating: "a", count: 10_000))\r\n\r\n")
            let notHTTP = try api.exchange("\u{1}\u{2} not http at all\r\n\r\n")
            let cases: [(String, RawReply, Int, Int)] = [
                ("body over the limit, declared (1 MB, limit 64 KiB)", declared, 413, 10123),
                ("body over the limit, chunked", chunked, 413, 10123),
                ("1 MB URI", longURI, 414, 10127),
                ("10 KB header field (head limit 8 KiB)", bigHeaders, 431, 10128),
                ("bytes that are not HTTP", notHTTP, 400, 10100),
            ]
            for (name, reply, status, errorCode) in cases {
                // Closed within the 2 s linger (sooner when the client has stopped sending and closes).
                let ok =
                    reply.status == status && reply.isProblem(errorCode: errorCode) && reply.header("Connection") == "close"
                    && Self.closed(reply, within: .zero...(.seconds(4)))
                #expect(ok, "\(name): \(reply)")
                recordHostile("\(name): \(status) problem+json, connection closed", ok: ok, reasons: "\(reply.status ?? 0) \(errorCode)")
            }
        }
    }

    @Test("a method a path does not take is 405 with Allow and a problem, CONNECT included (answered in full, then closed)")
    func methodsAndConnect() async throws {
        try await APIServerProcess.with(arguments: Self.limits) { api in
            let auth = "Host: 127.0.0.1\r\nAuthorization: Bearer \(api.key)\r\n"
            let delete = try api.exchange("DELETE /v3/persons/\(Self.trn) HTTP/1.1\r\n\(auth)Connection: close\r\n\r\n")
            let connectPath = try api.exchange("CONNECT /v3/persons/\(Self.trn) HTTP/1.1\r\n\(auth)\r\n")
            let connectAuthority = try api.exchange("CONNECT example.invalid:443 HTTP/1.1\r\n\(auth)\r\n")
            let allow = "GET, PATCH, PUT"
            let deleteOK = delete.status == 405 && delete.header("Allow") == allow && delete.isProblem(errorCode: 10100)
            let connectOK =
                connectPath.status == 405 && connectPath.header("Allow") == allow && connectPath.isProblem(errorCode: 10100)
                && Self.closed(connectPath, within: .zero...(.seconds(4)))
            // Not a path of the service: 404, with its problem body (not an empty answer).
            let authorityOK =
                connectAuthority.status == 404 && connectAuthority.isProblem(errorCode: 10001)
                && Self.closed(connectAuthority, within: .zero...(.seconds(4)))
            #expect(deleteOK, "DELETE: \(delete)")
            #expect(connectOK, "CONNECT path: \(connectPath)")
            #expect(authorityOK, "CONNECT authority: \(connectAuthority)")
            recordHostile(
                "undeclared methods (DELETE, CONNECT to a path, CONNECT to host:port): 405 with Allow / 404, problem+json",
                ok: deleteOK && connectOK && authorityOK,
                reasons: "\(delete.status ?? 0), \(connectPath.status ?? 0), \(connectAuthority.status ?? 0)")
        }
    }

    @Test("over the connection cap, a new connection waits unanswered until one closes; reaching the cap is logged")
    func connectionCap() async throws {
        try await APIServerProcess.with(arguments: ["--max-connections", "4", "--idle-timeout", "20"]) { api in
            let held = try (0..<4).map { _ in try Socket.connect(host: "127.0.0.1", port: api.port) }
            try await Task.sleep(for: .milliseconds(300))
            let waiting = try Socket.connect(host: "127.0.0.1", port: api.port)
            defer { waiting.close() }
            let started = ContinuousClock.now
            try waiting.send(Array("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8))
            let whileFull = RawReply.read(waiting, started: started, limit: .milliseconds(1500))
            let logged = api.log.contains("connection limit reached")
            held[0].close()
            let afterClose = RawReply.read(waiting, started: ContinuousClock.now, limit: .seconds(5))
            for socket in held.dropFirst() { socket.close() }
            let ok = whileFull.bytes.isEmpty && logged && afterClose.status == 200
            #expect(whileFull.bytes.isEmpty, "answered while 4 connections were open: \(whileFull)")
            #expect(logged, "no log line: \(api.log.suffix(2000))")
            #expect(afterClose.status == 200, "not served once a connection closed: \(afterClose)")
            recordHostile(
                "5 connections with a cap of 4: the fifth waits unanswered, served once one closes; logged", ok: ok,
                reasons: "waited \(whileFull.bytes.isEmpty ? "yes" : "no"), log \(logged ? "yes" : "no"), then \(afterClose.status ?? 0)")
        }
    }
}

/// One row of the hostile-input results for a connection scenario: one run, nothing to apply, the refusal counted.
func recordHostile(_ scenario: String, ok: Bool, reasons: String) {
    SuiteTable.append(
        SuiteRow(suite: "hostile", scenario: scenario, runs: 1, expected: 0, applied: 0, refused: ok ? 1 : 0, reasons: reasons, ok: ok))
}
