import DQTTesting
import Foundation
import Synchronization
import Testing

@testable import FaultProxy

#if canImport(Glibc)
    import Glibc
#endif

/// A small HTTP/1.1 server on loopback that stands for the real one behind the proxy: `POST /apply/<id>` applies
/// (counts) `id` and answers 200 `applied <id>`; `GET /big/<n>` answers n bytes; anything else answers 200 `ok`.
/// Keep-alive, Content-Length and chunked request bodies.
final class TestServer: Sendable {
    let port: Int
    private let listener: Socket
    private let stopping = Mutex(false)
    private let appliedCounts = Mutex<[String: Int]>([:])
    private let group = DispatchGroup()

    init() throws {
        (listener, port) = try Socket.listen(host: "127.0.0.1")
        group.enter()
        Thread { [self] in
            while !stopping.withLock({ $0 }) {
                guard listener.wait(), let client = listener.accept() else { continue }
                group.enter()
                Thread { [self] in
                    serve(client)
                    group.leave()
                }.start()
            }
            listener.close()
            group.leave()
        }.start()
    }

    /// Applications per id.
    var applied: [String: Int] { appliedCounts.withLock { $0 } }
    var totalApplied: Int { applied.values.reduce(0, +) }

    func stop() {
        stopping.withLock { $0 = true }
        _ = group.wait(timeout: .now() + 10)
    }

    private func serve(_ client: Socket) {
        let reader = WireReader(socket: client) { [self] in stopping.withLock { $0 } }
        while true {
            let deadline = ContinuousClock.now.advanced(by: .seconds(30))
            guard let head = try? reader.readHead(until: deadline),
                let body = try? reader.readBody(head.requestFraming, until: deadline, limit: 64 << 20)
            else { return client.close() }
            let words = head.words
            let method = words.first.map(String.init) ?? ""
            let target = words.count > 1 ? String(words[1]) : "/"
            var status = 200
            var payload: [UInt8] = Array("ok".utf8)
            if method == "POST", target.hasPrefix("/apply/") {
                let id = String(target.dropFirst("/apply/".count))
                appliedCounts.withLock { $0[id, default: 0] += 1 }
                payload = Array("applied \(id) \(dechunked(body, chunked: head.isChunked).count)".utf8)
            } else if target.hasPrefix("/big/"), let n = Int(target.dropFirst("/big/".count)) {
                payload = [UInt8](repeating: UInt8(ascii: "x"), count: n)
            } else if target == "/missing" {
                status = 404
                payload = Array("no".utf8)
            }
            let headText =
                "HTTP/1.1 \(status) \(status == 200 ? "OK" : "Not Found")\r\nContent-Type: text/plain\r\nContent-Length: \(payload.count)\r\n\r\n"
            guard (try? client.send(Array(headText.utf8) + payload)) != nil else { return client.close() }
            if head.closes { return client.close() }
        }
    }

    private func dechunked(_ body: [UInt8], chunked: Bool) -> [UInt8] {
        guard chunked else { return body }
        var out: [UInt8] = []
        var index = 0
        while index < body.count {
            guard let lineEnd = body[index...].firstIndex(of: 10) else { break }
            let sizeText = String(decoding: body[index..<lineEnd], as: UTF8.self).replacingCRLF
            guard let size = Int(sizeText, radix: 16), size > 0 else { break }
            out += body[(lineEnd + 1)..<(lineEnd + 1 + size)]
            index = lineEnd + 1 + size + 2
        }
        return out
    }
}

/// What a raw client saw after sending a request.
enum Outcome: Equatable, CustomStringConvertible {
    /// A whole response: status and body.
    case response(Int, String)
    /// The connection ended in order before a response (FIN).
    case closed
    /// The connection was reset (ECONNRESET).
    case reset
    /// Nothing within the wait.
    case silent
    /// Part of a response, then a reset or end.
    case partial(Int)

    var description: String {
        switch self {
        case .response(let status, let body): "response \(status) \(body.prefix(60))"
        case .closed: "closed (FIN)"
        case .reset: "reset (RST)"
        case .silent: "silent"
        case .partial(let n): "partial (\(n) bytes)"
        }
    }
}

/// A plain socket client that reports exactly how the proxy behaved (RST vs FIN vs silence).
final class RawClient {
    let socket: Socket
    private var buffer: [UInt8] = []

    init(port: Int) throws { socket = try Socket.connect(host: "127.0.0.1", port: port) }

    deinit { socket.close() }

    func send(_ method: String, _ target: String, body: String? = nil, chunked: Bool = false, close: Bool = false) throws {
        var request = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if close { request += "Connection: close\r\n" }
        if let body {
            if chunked {
                request += "Transfer-Encoding: chunked\r\n\r\n"
                let bytes = Array(body.utf8)
                var index = 0
                while index < bytes.count {
                    let part = bytes[index..<min(index + 7, bytes.count)]
                    request += String(part.count, radix: 16) + "\r\n" + String(decoding: part, as: UTF8.self) + "\r\n"
                    index += 7
                }
                request += "0\r\n\r\n"
            } else {
                request += "Content-Length: \(body.utf8.count)\r\n\r\n" + body
            }
        } else {
            request += "\r\n"
        }
        try socket.send(Array(request.utf8))
    }

    /// Waits up to `milliseconds` for one whole response (Content-Length framed), the end or a reset.
    func receive(within milliseconds: Int = 5000) -> Outcome {
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(milliseconds))
        while ContinuousClock.now < deadline {
            if let outcome = parse() { return outcome }
            guard socket.wait(milliseconds: 20) else { continue }
            let n = socket.receive(into: &buffer)
            if n == 0 { return buffer.isEmpty ? .closed : .partial(buffer.count) }
            if n < 0 { return errno == ECONNRESET ? (buffer.isEmpty ? .reset : .partial(buffer.count)) : .reset }
        }
        return parse() ?? (buffer.isEmpty ? .silent : .partial(buffer.count))
    }

    private func parse() -> Outcome? {
        let marker: [UInt8] = [13, 10, 13, 10]
        guard buffer.count >= 4, let end = (0...(buffer.count - 4)).first(where: { Array(buffer[$0..<($0 + 4)]) == marker }),
            let head = HTTPHead(Array(buffer[0..<(end + 4)]))
        else { return nil }
        let length = head.contentLength ?? 0
        guard buffer.count >= end + 4 + length else { return nil }
        let body = String(decoding: buffer[(end + 4)..<(end + 4 + length)], as: UTF8.self)
        lastHead = head
        buffer.removeFirst(end + 4 + length)
        return .response(head.status ?? 0, body)
    }

    /// The head of the last whole response.
    var lastHead: HTTPHead?
}

func record(
    _ scenario: String, runs: Int, expected: Int, applied: Int, duplicated: Int = 0, refused: Int = 0,
    reasons: String = "", ok: Bool
) {
    SuiteTable.append(
        SuiteRow(
            suite: "fault-proxy", scenario: scenario, runs: runs, expected: expected, applied: applied,
            lost: max(0, expected - applied - refused), duplicated: duplicated, refused: refused, reasons: reasons, ok: ok))
}

/// The proxy's counts once `condition` holds (or after a second): counters move just after the bytes they count.
func settled(_ proxy: FaultProxy, _ condition: (FaultProxyStats) -> Bool) -> FaultProxyStats {
    let until = ContinuousClock.now.advanced(by: .seconds(1))
    var stats = proxy.stats
    while !condition(stats) && ContinuousClock.now < until {
        usleep(10_000)
        stats = proxy.stats
    }
    return stats
}
