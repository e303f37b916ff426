#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where a writer's bytes go. Writers hand over each line as it is made, so a sink sees the file as a stream.
public protocol ByteSink {
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Everything written so far reaches its destination (for a file: the disk).
    mutating func finish() throws
}

extension ByteSink {
    public mutating func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }
}

/// A new file written through a fixed buffer: memory stays the buffer's size however large the file grows.
/// `finish()` flushes, fsyncs and closes; a file never finished is closed, incomplete, when the sink goes away.
public struct FileByteSink: ByteSink {
    final class Descriptor {
        var fd: Int32
        init(fd: Int32) { self.fd = fd }
        deinit { if fd >= 0 { _ = close(fd) } }
    }
    let descriptor: Descriptor
    var buffer: [UInt8] = []
    let capacity: Int

    /// Creates `path` (mode 0600); refuses to replace an existing file, since an export never overwrites one.
    public init(path: String, bufferSize: Int = 1 << 16) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ByteSourceError(operation: "open", errno: errno) }
        descriptor = Descriptor(fd: fd)
        capacity = max(bufferSize, 1)
        buffer.reserveCapacity(capacity)
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        if buffer.count + bytes.count > capacity { try flush() }
        if bytes.count >= capacity {
            try writeAll(bytes)
        } else {
            buffer.append(contentsOf: bytes.bindMemory(to: UInt8.self))
        }
    }

    public mutating func finish() throws {
        try flush()
        guard descriptor.fd >= 0 else { return }
        guard fsync(descriptor.fd) == 0 else { throw ByteSourceError(operation: "fsync", errno: errno) }
        let fd = descriptor.fd
        descriptor.fd = -1
        guard close(fd) == 0 else { throw ByteSourceError(operation: "close", errno: errno) }
    }

    mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        guard descriptor.fd >= 0 else { throw ByteSourceError(operation: "write", errno: EBADF) }
        var offset = 0
        while offset < bytes.count {
            #if canImport(Glibc)
                let n = Glibc.write(descriptor.fd, bytes.baseAddress! + offset, bytes.count - offset)
            #else
                let n = Darwin.write(descriptor.fd, bytes.baseAddress! + offset, bytes.count - offset)
            #endif
            if n < 0 {
                if errno == EINTR { continue }
                throw ByteSourceError(operation: "write", errno: errno)
            }
            offset += n
        }
    }
}

/// Bytes kept in memory (tests, small files).
public struct MemoryByteSink: ByteSink {
    public private(set) var bytes: [UInt8] = []
    public private(set) var finished = false
    public init() {}
    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        self.bytes.append(contentsOf: bytes.bindMemory(to: UInt8.self))
    }
    public mutating func finish() throws { finished = true }
}
