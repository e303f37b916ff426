import DQTTesting
import Testing

@testable import FlatFile

/// Generates `total` bytes on the fly by repeating `pattern`: nothing is held but the pattern.
struct GeneratedSource: ByteSource {
    /// The pattern repeated to at least 64 KiB (whole repetitions), copied in large blocks.
    let block: [UInt8]
    let total: Int
    var produced = 0
    var phase = 0
    init(pattern: [UInt8], total: Int) {
        var b: [UInt8] = []
        while b.count < 65536 { b += pattern }
        self.block = b
        self.total = total
    }
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, total - produced)
        guard n > 0 else { return 0 }
        block.withUnsafeBytes { p in
            var k = 0
            while k < n {
                let m = min(n - k, p.count - phase)
                (buffer.baseAddress! + k).copyMemory(from: p.baseAddress! + phase, byteCount: m)
                k += m
                phase = (phase + m) % p.count
            }
        }
        produced += n
        return n
    }
}

@Suite("Bounded memory", .serialized)
struct BoundedMemoryTests {
    static let size = 300 << 20

    /// Reads everything, checking resident memory as it goes; returns (records, issues, peak growth in bytes).
    func drain<R: RecordReader>(_ reader: inout R, baseline: Int) throws -> (Int, [RowIssue], Int) {
        var records = 0
        var issues: [RowIssue] = []
        var peak = 0
        var n = 0
        while let item = try reader.next() {
            switch item {
            case .record(let r):
                records += 1
                if r.count > 0 { _ = r.withBytes(r.count - 1) { $0.count } }
            case .issue(let i): issues.append(i)
            }
            n += 1
            if n % 50_000 == 0 { peak = max(peak, residentBytes() - baseline) }
        }
        peak = max(peak, residentBytes() - baseline)
        return (records, issues, peak)
    }

    @Test func delimitedWithoutLineBreaks() throws {
        let baseline = residentBytes()
        var reader = try DelimitedReader(
            source: GeneratedSource(pattern: bytes("abc,\"def"), total: Self.size),
            layout: delimited { $0.hasHeader = false })
        let (records, issues, peak) = try drain(&reader, baseline: baseline)
        #expect(records == 0)
        #expect(issues.map(\.code) == [.recordTooLong])
        #expect(reader.core.input.base + reader.core.input.end == Self.size)
        #expect(peak < 32 << 20, "resident memory grew by \(peak >> 20) MiB")
    }

    @Test func fixedWidthWithoutLineBreaks() throws {
        let baseline = residentBytes()
        var reader = try FixedWidthReader(
            source: GeneratedSource(pattern: bytes("0001234 Smith"), total: Self.size),
            layout: fixedLayout())
        let (records, issues, peak) = try drain(&reader, baseline: baseline)
        #expect(records == 0)
        #expect(issues.map(\.code) == [.recordTooLong])
        #expect(reader.core.input.base + reader.core.input.end == Self.size)
        #expect(peak < 32 << 20, "resident memory grew by \(peak >> 20) MiB")
    }

    @Test func delimitedValidRows() throws {
        // Long rows keep the record count (and the debug build's time) down; every byte is still scanned.
        let row = "0001234,AB123456C," + String(repeating: "x", count: 3000) + ",\"quoted, " + String(repeating: "y", count: 1000) + "\",end\r\n"
        let total = Self.size / row.utf8.count * row.utf8.count
        let baseline = residentBytes()
        var reader = try DelimitedReader(
            source: GeneratedSource(pattern: bytes(row), total: total),
            layout: delimited { $0.hasHeader = false })
        let (records, issues, peak) = try drain(&reader, baseline: baseline)
        #expect(records == total / row.utf8.count)
        #expect(issues.isEmpty)
        #expect(peak < 32 << 20, "resident memory grew by \(peak >> 20) MiB")
    }

    @Test func fixedWidthValidRows() throws {
        let line = "001" + String(repeating: "z", count: 4000) + "\n"
        let total = Self.size / line.utf8.count * line.utf8.count
        let baseline = residentBytes()
        var reader = try FixedWidthReader(source: GeneratedSource(pattern: bytes(line), total: total), layout: fixedLayout())
        let (records, issues, peak) = try drain(&reader, baseline: baseline)
        #expect(records == total / line.utf8.count)
        #expect(issues.isEmpty)
        #expect(peak < 32 << 20, "resident memory grew by \(peak >> 20) MiB")
    }
}
