#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A blocking TCP socket on loopback, with the few calls the proxy needs. Every wait is a `poll` of at most
/// ``Socket/pollStep`` milliseconds, so that a stop request is noticed quickly.
struct Socket: Sendable {
    static let pollStep: Int32 = 50
    let fd: Int32

    enum Failure: Error, CustomStringConvertible {
        case system(String, Int32)
        var description: String {
            switch self {
            case .system(let call, let code): "\(call): \(String(cString: strerror(code)))"
            }
        }
    }

    private static func streamSocket() throws -> Int32 {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw Failure.system("socket", errno) }
        #if canImport(Darwin)
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
        return fd
    }

    private static func address(_ host: String, _ port: Int) throws -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw Failure.system("inet_pton \(host)", EINVAL) }
        return address
    }

    /// Listens on `host` (an IPv4 loopback address) on an ephemeral port; returns the socket and its port.
    static func listen(host: String) throws -> (Socket, Int) {
        let fd = try streamSocket()
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = try address(host, 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            let code = errno
            _ = Glibc_close(fd)
            throw Failure.system("bind", code)
        }
        guard Glibc_listen(fd, 128) == 0 else {
            let code = errno
            _ = Glibc_close(fd)
            throw Failure.system("listen", code)
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (Socket(fd: fd), Int(UInt16(bigEndian: actual.sin_port)))
    }

    /// Connects to `host:port` (blocking; loopback connects at once or is refused).
    static func connect(host: String, port: Int) throws -> Socket {
        let fd = try streamSocket()
        var address = try address(host, port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc_connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let code = errno
            _ = Glibc_close(fd)
            throw Failure.system("connect \(host):\(port)", code)
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return Socket(fd: fd)
    }

    /// Waits up to one poll step for `events`; true when they (or a hang-up or error) are signalled.
    func wait(_ events: Int16 = Int16(POLLIN), milliseconds: Int32 = Socket.pollStep) -> Bool {
        var entry = pollfd(fd: fd, events: events, revents: 0)
        return poll(&entry, 1, milliseconds) > 0
    }

    func accept() -> Socket? {
        let client = Glibc_accept(fd, nil, nil)
        guard client >= 0 else { return nil }
        var one: Int32 = 1
        #if canImport(Darwin)
            setsockopt(client, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
        setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return Socket(fd: client)
    }

    /// Reads what is available: the byte count, 0 at end of stream, -1 on error (a reset).
    func receive(into buffer: inout [UInt8], maximum: Int = 65_536) -> Int {
        let start = buffer.count
        buffer.reserveCapacity(start + maximum)
        var chunk = [UInt8](repeating: 0, count: maximum)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, maximum, 0) }
        if n > 0 { buffer.append(contentsOf: chunk[0..<n]) }
        return n
    }

    /// Writes every byte or throws (the peer is gone). Never raises SIGPIPE.
    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            #if canImport(Glibc)
                let flags = Int32(MSG_NOSIGNAL)
            #else
                let flags: Int32 = 0
            #endif
            let n = bytes[offset...].withUnsafeBytes { Glibc_send(fd, $0.baseAddress, $0.count, flags) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure.system("send", errno)
            }
            offset += n
        }
    }

    /// Closes with a TCP reset (SO_LINGER 0): the peer sees ECONNRESET, not an orderly end.
    func reset() {
        var value = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &value, socklen_t(MemoryLayout<linger>.size))
        _ = Glibc_close(fd)
    }

    /// Closes in order: the peer sees the end of the stream (FIN).
    func close() {
        _ = shutdown(fd, Int32(SHUT_RDWR))
        _ = Glibc_close(fd)
    }

    func shutdownWrite() { _ = shutdown(fd, Int32(SHUT_WR)) }
}

// The C calls whose names Socket's methods shadow.
@inline(__always) private func Glibc_close(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
        Glibc.close(fd)
    #else
        Darwin.close(fd)
    #endif
}
@inline(__always) private func Glibc_listen(_ fd: Int32, _ backlog: Int32) -> Int32 {
    #if canImport(Glibc)
        Glibc.listen(fd, backlog)
    #else
        Darwin.listen(fd, backlog)
    #endif
}
@inline(__always) private func Glibc_connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
    #if canImport(Glibc)
        Glibc.connect(fd, address, length)
    #else
        Darwin.connect(fd, address, length)
    #endif
}
@inline(__always) private func Glibc_accept(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<socklen_t>?)
    -> Int32
{
    #if canImport(Glibc)
        Glibc.accept(fd, address, length)
    #else
        Darwin.accept(fd, address, length)
    #endif
}
@inline(__always) private func Glibc_send(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int, _ flags: Int32) -> Int {
    #if canImport(Glibc)
        Glibc.send(fd, bytes, count, flags)
    #else
        Darwin.send(fd, bytes, count, flags)
    #endif
}
