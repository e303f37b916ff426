import Foundation
import Testing

@testable import FlatFile

@Suite("Fixed-width and delimited writers")
struct WriterTests {
    func format(_ columns: [FixedWidthColumn], length: Int) throws -> FixedWidthLineFormat {
        try FixedWidthLineFormat(lineLength: length, columns: columns)
    }

    @Test("fixed width: padding side and character, truncation, exact length, CRLF after every line")
    func fixedWidthBytes() throws {
        let line = try format(
            [
                FixedWidthColumn(name: "id", columns: ColumnRange(first: 1, last: 4), alignment: .right, pad: "0"),
                FixedWidthColumn(name: "name", columns: ColumnRange(first: 5, last: 9), truncate: true),
                FixedWidthColumn(name: "code", columns: ColumnRange(first: 10, last: 10)),
            ], length: 10)
        var writer = FixedWidthWriter(sink: MemoryByteSink(), encoding: .windows1252)
        try writer.write(["7", "Lefèvre", "A"], as: line)
        try writer.write(["1234", "Ab", ""], as: line)
        let sink = try writer.finish()
        #expect(sink.bytes == Array("0007Lef".utf8) + [0xE8] + Array("vA\r\n1234Ab    \r\n".utf8))
        #expect(sink.finished)
    }

    @Test("fixed width: a value too long for a column that may not be cut is refused, located, and nothing is written")
    func fixedWidthTooLong() throws {
        let line = try format([FixedWidthColumn(name: "trn", columns: ColumnRange(first: 1, last: 3))], length: 3)
        var writer = FixedWidthWriter(sink: MemoryByteSink(), encoding: .utf8)
        try writer.write(["123"], as: line)
        #expect(throws: ValueDoesNotFit(line: 2, field: "trn", reason: "4 characters do not fit columns 1-3")) {
            try writer.write(["1234"], as: line)
        }
        #expect(throws: ValueDoesNotFit(line: 2, field: "trn", reason: "a control character or line break cannot be written")) {
            try writer.write(["1\n2"], as: line)
        }
        #expect(try writer.finish().bytes == Array("123\r\n".utf8))
    }

    @Test("fixed width: overlaps, gaps and columns past the line's end are refused")
    func fixedWidthFormatProblems() {
        func problems(_ ranges: [(Int, Int)], _ length: Int) -> [String] {
            FixedWidthLineFormat.problems(lineLength: length, columns: ranges.map { ColumnRange(first: $0.0, last: $0.1) }).map(\.message)
        }
        #expect(problems([(1, 4), (5, 10)], 10).isEmpty)
        #expect(problems([(1, 4), (4, 10)], 10) == ["columns 4-10 overlap the columns before them"])
        #expect(problems([(1, 3), (6, 10)], 10) == ["columns 4-5 are not declared"])
        #expect(problems([(1, 8)], 10) == ["columns 9-10 are not declared"])
        #expect(problems([(1, 12)], 10) == ["columns 1-12 go past the line length 10"])
        let located = FixedWidthLineFormat.problems(lineLength: 10, columns: [ColumnRange(first: 6, last: 10), ColumnRange(first: 1, last: 6)])
        #expect(located.map(\.column) == [0], "the problem is found at the column that overlaps, in the caller's order")
    }

    @Test("windows-1252 and iso-8859-1 write each character as its one byte; UTF-8 as it is")
    func singleByteEncodings() throws {
        func written(_ encoding: TextEncoding) throws -> [UInt8] {
            var writer = try DelimitedWriter(sink: MemoryByteSink(), columns: ["a"], header: false, encoding: encoding, lineEnd: .lf)
            try writer.write(["€Šé"])
            return try writer.finish().bytes
        }
        #expect(try written(.windows1252) == [0x80, 0x8A, 0xE9, 0x0A])
        #expect(try written(.utf8) == Array("€Šé\n".utf8))
        #expect(throws: UnencodableCharacter.self) { _ = try written(.iso8859_1) }
    }

    @Test("an unencodable character names line, field and position, never the text")
    func unencodable() throws {
        var writer = try DelimitedWriter(sink: MemoryByteSink(), columns: ["TRN", "Name"], encoding: .windows1252, lineEnd: .lf)
        try writer.write(["1", "€ ok"])
        do {
            try writer.write(["2", "Wiśniewska"])
            Issue.record("ś is not in windows-1252")
        } catch let error as UnencodableCharacter {
            #expect(error == UnencodableCharacter(line: 3, field: "Name", position: 3, codePoint: 0x015B, encoding: .windows1252))
            #expect(error.description == "line 3, field Name, character 3: U+015B cannot be written in windows-1252 (encoding-error)")
        }
        #expect(try writer.finish().bytes == Array("TRN,Name\n1,".utf8) + [0x80] + Array(" ok\n".utf8))
    }

    @Test("RFC 4180: quotes only where needed, doubled inside; quote-all; no final newline when asked")
    func delimitedQuoting() throws {
        var minimal = try DelimitedWriter(sink: MemoryByteSink(), columns: ["a", "b,c"], finalNewline: false)
        try minimal.write(["plain", "say \"hi\""])
        try minimal.write(["two\nlines", " padded"])
        #expect(
            String(decoding: try minimal.finish().bytes, as: UTF8.self)
                == "a,\"b,c\"\r\nplain,\"say \"\"hi\"\"\"\r\n\"two\nlines\",\" padded\"")
        var all = try DelimitedWriter(sink: MemoryByteSink(), columns: ["a"], header: false, delimiter: ";", quoting: .all, lineEnd: .lf)
        try all.write(["x;y"])
        try all.write([""])
        #expect(String(decoding: try all.finish().bytes, as: UTF8.self) == "\"x;y\"\n\"\"\n")
    }

    @Test("what the delimited writer writes, the delimited reader reads back the same", arguments: [Quoting.minimal, .all])
    func delimitedRoundTrip(_ quoting: Quoting) throws {
        let rows = [["1", "a,b", "q\"uote"], ["2", "line\r\nbreak", ""], ["3", "Ünïcödé", "€"]]
        var writer = try DelimitedWriter(sink: MemoryByteSink(), columns: ["id", "x", "y"], quoting: quoting)
        for row in rows { try writer.write(row) }
        let read = readDelimited(try writer.finish().bytes, delimited { $0.trim = false })
        #expect(read.refusal == nil)
        #expect(read.header == ["id", "x", "y"])
        #expect(read.rows == rows)
    }

    @Test("the file sink writes through a fixed buffer and refuses to replace a file")
    func fileSink() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("writer-\(UUID().uuidString).txt").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var writer = try DelimitedWriter(sink: try FileByteSink(path: path, bufferSize: 16), columns: ["n"], header: false, lineEnd: .lf)
        var expected = ""
        for n in 0..<5000 {
            try writer.write([String(n)])
            expected += "\(n)\n"
        }
        let sink = try writer.finish()
        #expect(sink.buffer.capacity < 1024, "the buffer stays its size, whatever the file's")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == expected)
        #expect(throws: ByteSourceError.self) { _ = try FileByteSink(path: path) }
    }
}
