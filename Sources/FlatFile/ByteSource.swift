#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where a reader's bytes come from.
public protocol ByteSource {
    /// Fills a prefix of `buffer`; returns the number of bytes written, 0 at the end of input.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

public struct ByteSourceError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var errno: Int32
    public var description: String {
        "\(operation) failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// A file read with plain read(2). The descriptor is closed when the last copy of the source goes away.
public struct FileByteSource: ByteSource {
    final class Descriptor {
        let fd: Int32
        init(fd: Int32) { self.fd = fd }
        deinit { _ = close(fd) }
    }
    let descriptor: Descriptor

    public init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ByteSourceError(operation: "open", errno: errno) }
        descriptor = Descriptor(fd: fd)
    }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            #if canImport(Glibc)
                let n = Glibc.read(descriptor.fd, base, buffer.count)
            #else
                let n = Darwin.read(descriptor.fd, base, buffer.count)
            #endif
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw ByteSourceError(operation: "read", errno: errno)
        }
    }
}

/// Bytes already in memory (tests, small attachments).
public struct BytesByteSource: ByteSource {
    public let bytes: [UInt8]
    public private(set) var position = 0
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(_ text: String) { self.bytes = Array(text.utf8) }
    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, bytes.count - position)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { src in
            buffer.baseAddress!.copyMemory(from: src.baseAddress! + position, byteCount: n)
        }
        position += n
        return n
    }
}
