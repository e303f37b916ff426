// Line-at-a-time reading of the message file and buffered writing of attachments: bounded memory.

import Crypto

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One line (or piece of an over-long line). The bytes are valid until the next call.
struct Line {
    var bytes: UnsafeBufferPointer<UInt8>
    /// The line end that followed: empty, LF or CRLF.
    var ending: Ending
    /// More pieces of the same physical line follow.
    var partial: Bool
    /// 1-based physical line number.
    var number: Int
    /// This piece starts its physical line (false for the later pieces of an over-long line).
    var first: Bool

    enum Ending { case none, lf, crlf }
}

final class LineReader {
    let fd: Int32
    let buffer: UnsafeMutablePointer<UInt8>
    let capacity: Int
    /// Longer lines are handed out in pieces of at most this many bytes.
    let maxPiece: Int
    var start = 0
    var end = 0
    var eof = false
    var lineNumber = 1
    /// A line was split: the next piece continues it (same number).
    var continuing = false

    init(path: String, maxPiece: Int = 64 << 10) throws(MailError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(errno: errno) }
        self.fd = fd
        self.maxPiece = maxPiece
        self.capacity = max(maxPiece * 2, 256 << 10)
        self.buffer = .allocate(capacity: capacity)
    }

    deinit {
        buffer.deallocate()
        close(fd)
    }

    private func fill() throws(MailError) -> Bool {
        if eof { return false }
        if start > 0 {
            let n = end - start
            if n > 0 { buffer.update(from: buffer + start, count: n) }
            start = 0
            end = n
        }
        guard end < capacity else { return true }
        while true {
            let n = read(fd, buffer + end, capacity - end)
            if n < 0 {
                if errno == EINTR { continue }
                throw .readFailed(errno: errno)
            }
            if n == 0 {
                eof = true
                return false
            }
            end += n
            return true
        }
    }

    /// The first bytes of the file, without consuming them (for sniffing).
    func peek(_ count: Int) throws(MailError) -> [UInt8] {
        while end - start < count && !eof { _ = try fill() }
        return Array(UnsafeBufferPointer(start: buffer + start, count: min(count, end - start)))
    }

    func next() throws(MailError) -> Line? {
        var searched = 0
        while true {
            let p = buffer + start
            let n = end - start
            if n > searched, let hit = memchr(p + searched, 10, n - searched) {
                let i = UnsafeMutablePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - p
                if i <= maxPiece {
                    let crlf = i > 0 && p[i - 1] == 13
                    let line = Line(
                        bytes: UnsafeBufferPointer(start: p, count: crlf ? i - 1 : i),
                        ending: crlf ? .crlf : .lf, partial: false, number: lineNumber,
                        first: !continuing)
                    start += i + 1
                    lineNumber += 1
                    continuing = false
                    return line
                }
            }
            searched = n
            if n > maxPiece {
                // An over-long line: hand out a piece, never splitting a CR from its LF.
                var k = maxPiece
                if p[k - 1] == 13 { k -= 1 }
                let line = Line(
                    bytes: UnsafeBufferPointer(start: p, count: k), ending: .none, partial: true,
                    number: lineNumber, first: !continuing)
                start += k
                continuing = true
                return line
            }
            if !(try fill()) {
                let n = end - start
                if n == 0 { return nil }
                let line = Line(
                    bytes: UnsafeBufferPointer(start: buffer + start, count: n), ending: .none,
                    partial: false, number: lineNumber, first: !continuing)
                start = end
                continuing = false
                lineNumber += 1
                return line
            }
            searched = 0
        }
    }
}

/// Buffered writing to a new file (never an existing one, never through a symlink).
/// Buffered writes to a new file, hashed on their way to the file: every byte written passes `writeAll` once.
final class FileWriter {
    let fd: Int32
    let buffer: UnsafeMutablePointer<UInt8>
    let capacity = 64 << 10
    var count = 0
    private(set) var written = 0
    var closed = false
    private var hasher = SHA256()

    init(path: String) throws(MailError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw .cannotWrite(errno: errno) }
        self.fd = fd
        buffer = .allocate(capacity: capacity)
    }

    deinit {
        buffer.deallocate()
        if !closed { close(fd) }
    }

    func write(_ b: UnsafeBufferPointer<UInt8>) throws(MailError) {
        guard b.count > 0 else { return }
        if count + b.count > capacity { try flush() }
        if b.count >= capacity {
            try writeAll(b.baseAddress!, b.count)
        } else {
            (buffer + count).update(from: b.baseAddress!, count: b.count)
            count += b.count
        }
        written += b.count
    }

    func write(_ byte: UInt8) throws(MailError) {
        if count == capacity { try flush() }
        buffer[count] = byte
        count += 1
        written += 1
    }

    func write(_ bytes: [UInt8]) throws(MailError) {
        try bytes.withUnsafeBufferPointer { (b) throws(MailError) in try write(b) }
    }

    func flush() throws(MailError) {
        try writeAll(buffer, count)
        count = 0
    }

    private func writeAll(_ p: UnsafePointer<UInt8>, _ n: Int) throws(MailError) {
        hasher.update(bufferPointer: UnsafeRawBufferPointer(start: p, count: n))
        var done = 0
        while done < n {
            let k = systemWrite(fd, p + done, n - done)
            if k < 0 {
                if errno == EINTR { continue }
                throw .cannotWrite(errno: errno)
            }
            done += k
        }
    }

    /// Flushes and closes the file; returns the SHA-256 of everything written.
    func finish() throws(MailError) -> [UInt8] {
        try flush()
        closed = true
        if close(fd) != 0 { throw .cannotWrite(errno: errno) }
        return Array(hasher.finalize())
    }
}

@inline(__always)
func systemWrite(_ fd: Int32, _ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
    #if canImport(Glibc)
        return Glibc.write(fd, p, n)
    #else
        return Darwin.write(fd, p, n)
    #endif
}
