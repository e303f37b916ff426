#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Opens a blocking TCP connection for libssh2: tries each resolved address with a non-blocking connect bounded by
/// `timeout`, then switches the socket back to blocking mode and sets TCP_NODELAY (libssh2 writes many small
/// packets; without it SFTP reads are several times slower) and SO_KEEPALIVE.
///
/// - Returns: the connected socket's descriptor; the caller owns it and must `close` it.
/// - Throws: ``SFTPError/hostResolutionFailed(host:port:reason:)``, ``SFTPError/connectFailed(host:port:reason:)``
///   or ``SFTPError/connectTimedOut(host:port:after:)``.
func openTCPConnection(host: String, port: Int, timeout: Duration) throws -> Int32 {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    #if canImport(Darwin)
        hints.ai_socktype = SOCK_STREAM
    #else
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    #endif
    hints.ai_flags = AI_ADDRCONFIG
    var result: UnsafeMutablePointer<addrinfo>?
    let rc = getaddrinfo(host, String(port), &hints, &result)
    guard rc == 0, let first = result else {
        throw SFTPError.hostResolutionFailed(host: host, port: port, reason: String(cString: gai_strerror(rc)))
    }
    defer { freeaddrinfo(first) }

    let deadline = ContinuousClock.now + timeout
    var lastReason = "no usable address"
    var timedOut = false
    var current: UnsafeMutablePointer<addrinfo>? = first
    while let info = current {
        current = info.pointee.ai_next
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard fd >= 0 else {
            lastReason = errnoDescription()
            continue
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let flags = fcntl(fd, F_GETFL, 0)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)

        var connected = connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0
        if !connected && errno == EINPROGRESS {
            let remaining = ContinuousClock.now.duration(to: deadline)
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = remaining > .zero ? poll(&pfd, 1, Int32(remaining.milliseconds)) : 0
            if ready == 1 {
                var soError: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
                if soError == 0 {
                    connected = true
                } else {
                    lastReason = String(cString: strerror(soError))
                }
            } else if ready == 0 {
                timedOut = true
                lastReason = "timed out"
            } else {
                lastReason = errnoDescription()
            }
        } else if !connected {
            lastReason = errnoDescription()
        }
        guard connected else {
            close(fd)
            if ContinuousClock.now >= deadline { break }
            continue
        }
        _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
        var one: Int32 = 1
        let size = socklen_t(MemoryLayout<Int32>.size)
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, size)
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, size)
        return fd
    }
    if timedOut {
        throw SFTPError.connectTimedOut(host: host, port: port, after: timeout)
    }
    throw SFTPError.connectFailed(host: host, port: port, reason: lastReason)
}

func errnoDescription(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}
