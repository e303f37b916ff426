import NIOCore

/// The time a client has left to send the request being read on one connection.
///
/// Only reading is timed here: a connection with nothing begun is Hummingbird's idle timeout, and the time a handler
/// takes to answer is its own. Invariants: a deadline runs exactly while a request is partly read; from the first
/// byte of a request until its head is complete it is `first byte + headerTimeout`, from the head until the end of
/// the body it is `head + bodyTimeout`, and once the request has ended there is none until the next byte.
struct RequestReadDeadlines {
    enum Phase: Equatable {
        /// No byte of the next request yet.
        case waiting
        /// Part of a request's head has arrived.
        case head
        /// The head is complete; its body is being read.
        case body
    }

    let headerTimeout: TimeAmount
    let bodyTimeout: TimeAmount
    private(set) var phase: Phase = .waiting
    private(set) var deadline: NIODeadline?
    /// Bytes of the head being read before its first line feed (so far), so that a head too large for the decoder
    /// can be told apart: a request line too long (414) or header fields too large (431).
    private(set) var requestLineLength = 0
    private var requestLineEnded = false

    init(headerTimeout: TimeAmount, bodyTimeout: TimeAmount) {
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
    }

    /// Bytes read from the connection, before the HTTP decoder sees them.
    mutating func bytesArrived(_ bytes: ByteBufferView, now: NIODeadline) {
        switch phase {
        case .waiting:
            phase = .head
            deadline = now + headerTimeout
            measureRequestLine(bytes)
        case .head:
            measureRequestLine(bytes)
        case .body:
            break
        }
    }

    private mutating func measureRequestLine(_ bytes: ByteBufferView) {
        guard !requestLineEnded else { return }
        if let end = bytes.firstIndex(of: UInt8(ascii: "\n")) {
            requestLineLength += bytes.distance(from: bytes.startIndex, to: end)
            requestLineEnded = true
        } else {
            requestLineLength += bytes.count
        }
    }

    /// The decoder produced a request's head.
    mutating func headReceived(now: NIODeadline) {
        phase = .body
        deadline = now + bodyTimeout
        requestLineLength = 0
        requestLineEnded = false
    }

    /// The decoder produced the end of the request.
    mutating func requestEnded() {
        phase = .waiting
        deadline = nil
        requestLineLength = 0
        requestLineEnded = false
    }

    /// The phase whose time ran out by `now`, or nil.
    func expired(now: NIODeadline) -> Phase? {
        guard let deadline, now >= deadline else { return nil }
        return phase
    }
}
