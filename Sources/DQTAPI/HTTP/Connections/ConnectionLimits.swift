/// What one client may hold of the server: how long it may take to send a request, how large the request's head may
/// be, and how many connections may be open at once. Every limit is enforced per connection by
/// ``GuardedHTTP1Channel``; the defaults suit the bridge and the read consumers on a LAN.
public struct ConnectionLimits: Sendable, Equatable {
    /// A connection with no request begun and no response owed is closed after this long (Hummingbird's idle timeout).
    public var idleTimeout: Duration = .seconds(30)
    /// From a request's first byte, its whole head (request line and header fields) must arrive within this;
    /// otherwise the answer is 408 and the connection is closed.
    public var headerTimeout: Duration = .seconds(10)
    /// From a request's head, its whole body must arrive within this (a total, so a client sending a byte at a time
    /// cannot hold the connection); otherwise 408 and the connection is closed. A full 4 MiB body at 1 Mbit/s fits.
    public var bodyTimeout: Duration = .seconds(60)
    /// The request line alone, and the request line with every header field, are at most this many bytes (414 and
    /// 431 beyond; also at most 1,000 header fields).
    public var maxHeaderBytes: Int = 64 * 1024
    /// Connections open at once. When reached, new connections wait in the listen backlog (not accepted) until one
    /// closes, and the server logs it once. One read of the listening socket can accept a few more before the limit
    /// is seen, so the count may briefly exceed it by up to three.
    public var maxConnections: Int = 1024
    /// After an answer that closes the connection (408, 413, 414, 431, a malformed request), the server stops
    /// sending and reads and discards for up to this long before closing, so that the client, still sending, reads
    /// the answer instead of a reset.
    public var closeLinger: Duration = .seconds(2)

    public init() {}
}
