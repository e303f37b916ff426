import Testing

@testable import FlatFile

#if canImport(Glibc)
    import Glibc
#endif

/// Hands out bytes in chunks of a fixed size, to exercise every buffer boundary.
struct ChunkedSource: ByteSource {
    let bytes: [UInt8]
    let chunk: Int
    var position = 0
    init(_ bytes: [UInt8], chunk: Int) {
        self.bytes = bytes
        self.chunk = chunk
    }
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(chunk, buffer.count, bytes.count - position)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { src in
            buffer.baseAddress!.copyMemory(from: src.baseAddress! + position, byteCount: n)
        }
        position += n
        return n
    }
}

/// Chunk sizes every reader test runs with: byte by byte, odd sizes, and everything at once.
let chunkSizes = [1, 2, 3, 7, 64, 1 << 20]

struct Collected {
    var records: [FlatRecord] = []
    var issues: [RowIssue] = []
    var items: [ReadItem] = []
    var refusal: FileRefusal?
    var header: [String]?

    /// Records as arrays of strings.
    var rows: [[String]] { records.map(\.strings) }
    var codes: [String] { issues.map(\.code.rawValue) }
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

func collect<R: RecordReader>(_ reader: inout R) -> Collected {
    var c = Collected()
    c.header = reader.header
    do {
        while let item = try reader.next() {
            c.items.append(item)
            switch item {
            case .record(let r): c.records.append(r)
            case .issue(let i): c.issues.append(i)
            }
        }
    } catch {
        c.refusal = error
    }
    return c
}

func readDelimited(_ input: [UInt8], _ layout: DelimitedLayout, chunk: Int = 1 << 20) -> Collected {
    do {
        var r = try DelimitedReader(source: ChunkedSource(input, chunk: chunk), layout: layout)
        return collect(&r)
    } catch {
        var c = Collected()
        c.refusal = error
        return c
    }
}

func readDelimited(_ input: String, _ layout: DelimitedLayout, chunk: Int = 1 << 20) -> Collected {
    readDelimited(bytes(input), layout, chunk: chunk)
}

func readFixed(_ input: [UInt8], _ layout: FixedWidthLayout, chunk: Int = 1 << 20) -> Collected {
    do {
        var r = try FixedWidthReader(source: ChunkedSource(input, chunk: chunk), layout: layout)
        return collect(&r)
    } catch {
        var c = Collected()
        c.refusal = error
        return c
    }
}

func readFixed(_ input: String, _ layout: FixedWidthLayout, chunk: Int = 1 << 20) -> Collected {
    readFixed(bytes(input), layout, chunk: chunk)
}

func delimited(_ configure: (inout DelimitedLayout) -> Void = { _ in }) -> DelimitedLayout {
    var l = DelimitedLayout()
    configure(&l)
    return l
}
