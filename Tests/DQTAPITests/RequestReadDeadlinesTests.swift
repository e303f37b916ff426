import NIOCore
import Testing

@testable import DQTAPI

/// The per-request reading deadlines, in memory (the same rules over real sockets: SecuritySuiteTests'
/// ConnectionEdgeTests).
@Suite("request read deadlines")
struct RequestReadDeadlinesTests {
    static func bytes(_ text: String) -> ByteBufferView { ByteBuffer(string: text).readableBytesView }

    @Test("a deadline runs only while a request is partly read: head from its first byte, body from the head")
    func phases() {
        var deadlines = RequestReadDeadlines(headerTimeout: .seconds(10), bodyTimeout: .seconds(60))
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        #expect(deadlines.deadline == nil && deadlines.phase == .waiting)
        deadlines.bytesArrived(Self.bytes("GET /v3/per"), now: start)
        #expect(deadlines.phase == .head && deadlines.deadline == start + .seconds(10))
        // A trickle does not move the deadline.
        deadlines.bytesArrived(Self.bytes("sons/1"), now: start + .seconds(9))
        #expect(deadlines.deadline == start + .seconds(10))
        #expect(deadlines.expired(now: start + .seconds(9)) == nil)
        #expect(deadlines.expired(now: start + .seconds(10)) == .head)
        deadlines.headReceived(now: start + .seconds(3))
        #expect(deadlines.phase == .body && deadlines.deadline == start + .seconds(63))
        deadlines.bytesArrived(Self.bytes("{}"), now: start + .seconds(62))
        #expect(deadlines.expired(now: start + .seconds(63)) == .body)
        deadlines.requestEnded()
        #expect(deadlines.deadline == nil && deadlines.phase == .waiting && deadlines.expired(now: start + .seconds(999)) == nil)
    }

    @Test("the request line is measured up to its line feed across reads, and again for the next request")
    func requestLine() {
        var deadlines = RequestReadDeadlines(headerTimeout: .seconds(10), bodyTimeout: .seconds(60))
        let now = NIODeadline.now()
        deadlines.bytesArrived(Self.bytes("GET /" + String(repeating: "a", count: 100)), now: now)
        deadlines.bytesArrived(Self.bytes(String(repeating: "b", count: 50) + " HTTP/1.1\r\nHost: x\r\n"), now: now)
        deadlines.bytesArrived(Self.bytes(String(repeating: "c", count: 5000)), now: now)
        #expect(deadlines.requestLineLength == 5 + 100 + 50 + 10)
        deadlines.headReceived(now: now)
        deadlines.requestEnded()
        deadlines.bytesArrived(Self.bytes("GET / HTTP/1.1\n"), now: now)
        #expect(deadlines.requestLineLength == 14)
    }
}
