// The reader's input window: one growable byte buffer filled from a ByteSource in chunks.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Raw memory owned by a class so that it is freed with the reader.
final class RawMemory {
    private(set) var pointer: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        self.pointer = .allocate(capacity: capacity)
    }

    /// Grows to `newCapacity`, keeping the first `keep` bytes.
    func grow(to newCapacity: Int, keep: Int) {
        guard newCapacity > capacity else { return }
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        p.update(from: pointer, count: keep)
        pointer.deallocate()
        pointer = p
        capacity = newCapacity
    }

    deinit { pointer.deallocate() }
}

/// Scratch memory for Int32 values (field spans during a scan).
final class Int32Scratch {
    private(set) var pointer: UnsafeMutablePointer<Int32>
    private(set) var capacity: Int
    init(capacity: Int) {
        self.capacity = capacity
        pointer = .allocate(capacity: capacity)
    }
    func grow(minimum: Int, keep: Int) {
        let n = max(minimum, capacity * 2)
        let p = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        p.update(from: pointer, count: keep)
        pointer.deallocate()
        pointer = p
        capacity = n
    }
    deinit { pointer.deallocate() }
}

let chunkSize = 1 << 20
/// Offsets in a record are Int32 with flag bits on top: records are limited to 256 MiB.
let recordLimitCeiling = 1 << 28

struct InputWindow {
    /// An existential: it is called once per chunk, so the core code stays non-generic (and fast across modules).
    var source: any ByteSource
    let memory: RawMemory
    /// First unconsumed byte.
    var start = 0
    /// End of valid bytes.
    var end = 0
    /// File offset of memory[0].
    var base = 0
    var eof = false
    let maxCapacity: Int

    init(source: any ByteSource, maxRecordBytes: Int) {
        self.source = source
        // Room for a whole record of the maximum size plus a chunk, so that "too long" is always decidable.
        self.maxCapacity = maxRecordBytes + chunkSize + 16
        self.memory = RawMemory(capacity: chunkSize + 16)
    }

    @inline(__always) var pointer: UnsafeMutablePointer<UInt8> { memory.pointer }
    @inline(__always) var available: Int { end - start }
    @inline(__always) func fileOffset(_ index: Int) -> Int { base + index }

    /// Reads more bytes, keeping everything from `start` (which may move to 0: use offsets relative to `start`).
    /// Returns false at the end of input (nothing was added).
    mutating func fill() throws(FileRefusal) -> Bool {
        if eof { return false }
        if start > 0 {
            let n = end - start
            if n > 0 { memory.pointer.update(from: memory.pointer + start, count: n) }
            base += start
            start = 0
            end = n
        }
        if memory.capacity - end < chunkSize / 2 && memory.capacity < maxCapacity {
            memory.grow(to: min(maxCapacity, max(memory.capacity * 2, end + chunkSize)), keep: end)
        }
        let space = memory.capacity - end
        guard space > 0 else { return false }  // callers check the record limit before this can happen
        let n: Int
        do {
            n = try source.read(into: UnsafeMutableRawBufferPointer(start: memory.pointer + end, count: space))
        } catch {
            throw FileRefusal(code: .ioError, line: nil, message: "reading the file failed: \(error)")
        }
        guard n >= 0 && n <= space else {
            throw FileRefusal(code: .ioError, line: nil, message: "the byte source returned an impossible count")
        }
        if n == 0 {
            eof = true
            return false
        }
        end += n
        return true
    }

    /// Makes at least `count` bytes available from `start` unless the input ends first.
    mutating func ensure(_ count: Int) throws(FileRefusal) {
        while available < count {
            if !(try fill()) { return }
        }
    }

    /// Reads the first bytes: refuses a binary file, and steps over a UTF-8 byte-order mark.
    mutating func begin() throws(FileRefusal) {
        try ensure(8)
        if let why = sniffBinary(pointer + start, available) {
            throw FileRefusal(code: .binaryFile, line: nil, message: why)
        }
        let p = pointer + start
        if available >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF { start += 3 }
    }

    /// Forgets all buffered bytes (used while skipping an over-long line).
    mutating func discardAll() {
        base += end
        start = 0
        end = 0
    }

    /// Consumes the rest of the physical line at `start`, including its line end (LF, CR LF or a lone CR), without
    /// buffering it. False when the input ended before a line end.
    mutating func skipLine() throws(FileRefusal) -> Bool {
        while true {
            let p = pointer + start
            let n = available
            if let i = findLineEnd(p, n) {
                if p[i] == 13 {
                    if i + 1 < n {
                        start += i + (p[i + 1] == 10 ? 2 : 1)
                    } else if eof {
                        start += i + 1
                    } else {
                        start += i
                        _ = try fill()
                        continue
                    }
                } else {
                    start += i + 1
                }
                return true
            }
            discardAll()
            if !(try fill()) { return false }
        }
    }
}

/// Refuses binary files from the first bytes: NUL bytes, zip, gzip or PDF signatures.
func sniffBinary(_ p: UnsafePointer<UInt8>, _ n: Int) -> String? {
    if n >= 4 && p[0] == 0x50 && p[1] == 0x4B && (p[2] == 3 || p[2] == 5 || p[2] == 7) {
        return "the file is a zip archive (or an xlsx/docx document), not a text file"
    }
    if n >= 2 && p[0] == 0x1F && p[1] == 0x8B { return "the file is gzip-compressed, not a text file" }
    if n >= 5 && p[0] == 0x25 && p[1] == 0x50 && p[2] == 0x44 && p[3] == 0x46 && p[4] == 0x2D {
        return "the file is a PDF document, not a text file"
    }
    if n > 0, memchr(p, 0, n) != nil { return "the file contains NUL bytes: it is binary (or UTF-16), not a text file" }
    return nil
}
