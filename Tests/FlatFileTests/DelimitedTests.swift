import Testing

@testable import FlatFile

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Delimited reader")
struct DelimitedTests {
    @Test(arguments: chunkSizes)
    func headerAndRowsWithEveryLineEnd(chunk: Int) {
        for eol in ["\n", "\r\n", "\r"] {
            let text = ["a,b,c", "1,2,3", "4,5,6"].joined(separator: eol) + eol
            let c = readDelimited(text, delimited(), chunk: chunk)
            #expect(c.refusal == nil)
            #expect(c.header == ["a", "b", "c"])
            #expect(c.rows == [["1", "2", "3"], ["4", "5", "6"]])
            #expect(c.records.map(\.line) == [2, 3])
            #expect(c.records.map(\.byteOffset) == [6 + eol.utf8.count - 1, 12 + 2 * (eol.utf8.count - 1)])
            #expect(c.issues.isEmpty)
        }
    }

    @Test(arguments: chunkSizes)
    func mixedLineEndsAndNoFinalLineEnd(chunk: Int) {
        let c = readDelimited("h\r\n1\r2\n3\r\n\r4", delimited(), chunk: chunk)
        #expect(c.rows == [["1"], ["2"], ["3"], ["4"]])
        // The empty line between 3 and 4 (CRLF then CR) is line 5.
        #expect(c.records.map(\.line) == [2, 3, 4, 6])
    }

    @Test(arguments: chunkSizes)
    func byteOrderMarkIsStripped(chunk: Int) {
        let c = readDelimited([0xEF, 0xBB, 0xBF] + bytes("TRN,Name\n1,x\n"), delimited(), chunk: chunk)
        #expect(c.header == ["TRN", "Name"])
        #expect(c.records.first?.byteOffset == 12)
    }

    @Test(arguments: chunkSizes)
    func quotesDoubledQuotesAndNewlinesInsideQuotes(chunk: Int) {
        let text = "id,text,n\n1,\"a, b\",x\n2,\"say \"\"hi\"\"\",y\n3,\"two\nlines\r\nthree\",z\n4,\"\",w\n5,last,v"
        let c = readDelimited(text, delimited(), chunk: chunk)
        #expect(c.refusal == nil)
        #expect(
            c.rows == [
                ["1", "a, b", "x"], ["2", "say \"hi\"", "y"], ["3", "two\nlines\r\nthree", "z"],
                ["4", "", "w"], ["5", "last", "v"],
            ])
        #expect(c.records.map(\.line) == [2, 3, 4, 7, 8])
        #expect(c.records.map(\.lineCount) == [1, 1, 3, 1, 1])
        #expect(c.records[2].text == "3,\"two\nlines\r\nthree\",z")
    }

    @Test(arguments: chunkSizes)
    func quoteRules(chunk: Int) {
        // A quote inside an unquoted field is literal; text after a closing quote is kept; spaces around quotes trimmed.
        let c = readDelimited("a,b\nab\"c,  \"q\"  \n\"x\"y,\" z \"\n", delimited(), chunk: chunk)
        #expect(c.rows == [["ab\"c", "q"], ["xy", " z "]])
        let noQuote = readDelimited("a,b\n\"x\",y\n", delimited { $0.quote = nil }, chunk: chunk)
        #expect(noQuote.rows == [["\"x\"", "y"]])
    }

    @Test(arguments: chunkSizes)
    func anyDelimiterNoHeaderAndTrimming(chunk: Int) {
        let capita = readDelimited(
            "0001234 ; 1;Smith ; Jane Ann ;;19800101\n\n 0007654;2;Jones;Bob;;19790505 \n",
            delimited {
                $0.delimiter = UInt8(ascii: ";")
                $0.hasHeader = false
            }, chunk: chunk)
        #expect(capita.header == nil)
        #expect(
            capita.rows == [
                ["0001234", "1", "Smith", "Jane Ann", "", "19800101"],
                ["0007654", "2", "Jones", "Bob", "", "19790505"],
            ])
        #expect(capita.records.map(\.line) == [1, 3])
        let tabs = readDelimited(
            "a\tb\n 1 \t\t2\n",
            delimited {
                $0.delimiter = 9
                $0.trim = false
            }, chunk: chunk)
        #expect(tabs.rows == [[" 1 ", "", "2"]])
        // Trimming never eats a delimiter: empty fields of a tab- or space-separated file survive.
        let tsv = readDelimited("a\tb\tc\n 1 \t\t 2\n", delimited { $0.delimiter = 9 }, chunk: chunk)
        #expect(tsv.rows == [["1", "", "2"]])
        let ssv = readDelimited("a b c\n1  \t2\t\n", delimited { $0.delimiter = 32 }, chunk: chunk)
        #expect(ssv.rows == [["1", "", "2"]])
        let pipes = readDelimited("x|y\n a | \"b\" \n", delimited { $0.delimiter = UInt8(ascii: "|") }, chunk: chunk)
        #expect(pipes.rows == [["a", "b"]])
        let untrimmed = readDelimited("x,y\n a , \"b\" \n", delimited { $0.trim = false }, chunk: chunk)
        #expect(untrimmed.rows == [[" a ", " \"b\" "]])
    }

    @Test func trailingDelimiterAndMissingFields() {
        let c = readDelimited("a,b,c\n1,2,\n1\n", delimited())
        #expect(c.rows == [["1", "2", ""], ["1"]])
        #expect(c.records[1].count == 1)
        // An index past the end is an empty buffer.
        #expect(c.records[1].withBytes(5) { $0.count } == 0)
        #expect(c.records[1].string(-1) == "")
        #expect(!c.records[1].isNull(9))
    }

    @Test(arguments: chunkSizes)
    func preambleLinesAndMatching(chunk: Int) {
        let tps =
            (1...7).map { "RESTRICTED - OFFICIAL SENSITIVE line \($0)" }.joined(separator: "\r\n")
            + "\r\nTRN,NINO\r\n0001234,AB123456C\r\n"
        let c = readDelimited(tps, delimited { $0.preamble = .matching("RESTRICTED") }, chunk: chunk)
        #expect(c.header == ["TRN", "NINO"])
        #expect(c.rows == [["0001234", "AB123456C"]])
        #expect(c.records.first?.line == 9)
        let n = readDelimited("junk \"quote\nmore junk\nh1,h2\nx,y\n", delimited { $0.preamble = .lines(2) }, chunk: chunk)
        #expect(n.header == ["h1", "h2"])
        #expect(n.records.first?.line == 4)
        let none = readDelimited("h\nRESTRICTED\n", delimited { $0.preamble = .matching("RESTRICTED") }, chunk: chunk)
        #expect(none.header == ["h"])
        #expect(none.rows == [["RESTRICTED"]])
    }

    @Test func duplicateHeaderNamesAreKept() {
        let c = readDelimited("QTS_REF_NO,ITT Course Length,X,ITT Course Length\n1,2,3,4\n", delimited())
        #expect(c.header == ["QTS_REF_NO", "ITT Course Length", "X", "ITT Course Length"])
        #expect(c.rows == [["1", "2", "3", "4"]])
    }

    @Test(arguments: chunkSizes)
    func nullLiteral(chunk: Int) {
        let c = readDelimited("a,b,c,d\nNULL, NULL ,\"NULL\",NULLX\n", delimited { $0.nullLiteral = "NULL" }, chunk: chunk)
        let r = c.records[0]
        #expect((0..<4).map { r.isNull($0) } == [true, true, false, false])
        #expect(r.string(0) == "NULL")
        let none = readDelimited("a\nNULL\n", delimited())
        #expect(none.records[0].isNull(0) == false)
        // An empty null literal: empty unquoted fields are null, "" is an empty string.
        let empty = readDelimited("a,b,c\n,\"\", x\n", delimited { $0.nullLiteral = "" }, chunk: chunk)
        #expect((0..<3).map { empty.records[0].isNull($0) } == [true, false, false])
    }

    @Test(arguments: chunkSizes)
    func blankLinesSkippedOrReported(chunk: Int) {
        let text = "a,b\n1,2\n\n   \n3,4\r\n\r\n"
        let skipped = readDelimited(text, delimited(), chunk: chunk)
        #expect(skipped.rows == [["1", "2"], ["3", "4"]])
        #expect(skipped.issues.isEmpty)
        let reported = readDelimited(text, delimited { $0.blankLines = .report }, chunk: chunk)
        #expect(reported.rows == [["1", "2"], ["3", "4"]])
        #expect(reported.codes == ["blank-row", "blank-row", "blank-row"])
        #expect(reported.issues.map(\.line) == [3, 4, 6])
        // A quoted empty field is not blank; without trimming, spaces are data.
        let quoted = readDelimited("a\n\"\"\n", delimited { $0.blankLines = .report })
        #expect(quoted.rows == [[""]])
        let spaces = readDelimited(
            "a\n  \n",
            delimited {
                $0.trim = false
                $0.blankLines = .report
            })
        #expect(spaces.rows == [["  "]])
    }

    @Test(arguments: chunkSizes)
    func windows1252AndLatin1AreTranscoded(chunk: Int) {
        // "Hervé" "€5" "’" in Windows-1252, then ISO-8859-1 where 0x80 is U+0080.
        let cp = bytes("name,x\n") + [0x48, 0x65, 0x72, 0x76, 0xE9, 0x2C, 0x80, 0x35, 0x92] + bytes("\n\"") + [0xD4] + bytes("\"")
        let c = readDelimited(cp, delimited { $0.encoding = .windows1252 }, chunk: chunk)
        #expect(c.rows == [["Hervé", "€5’"], ["Ô"]])
        #expect(c.records[0].text == "Hervé,€5’")
        let latin = readDelimited(bytes("a\n") + [0xE9, 0x80, 0xFF], delimited { $0.encoding = .iso8859_1 }, chunk: chunk)
        #expect(latin.rows == [["é\u{80}ÿ"]])
        // Windows-1252's undefined bytes are encoding errors.
        for bad: UInt8 in [0x81, 0x8D, 0x8F, 0x90, 0x9D] {
            let e = readDelimited(bytes("a,b\nok,fine\nx,y") + [bad] + bytes("\nz,w\n"), delimited { $0.encoding = .windows1252 }, chunk: chunk)
            #expect(e.rows == [["ok", "fine"], ["z", "w"]])
            #expect(e.codes == ["encoding-error"])
            #expect(e.issues.first?.line == 3)
            #expect(e.issues.first?.byteOffset == 15)
            #expect(e.issues.first?.field == 1)
        }
        // A null literal with a non-ASCII character matches in a single-byte encoding too.
        let n = readDelimited(
            bytes("a\n") + [0xD8] + bytes("\n"),
            delimited {
                $0.encoding = .iso8859_1
                $0.nullLiteral = "Ø"
            })
        #expect(n.records.first?.isNull(0) == true)
        #expect(n.records.first?.string(0) == "Ø")
    }

    @Test(arguments: chunkSizes)
    func invalidUTF8IsReportedWithLineAndByteOffset(chunk: Int) {
        let input = bytes("a,b\n1,Zoë\n2,") + [0x5A, 0xC3, 0x28] + bytes("\n\"3\",\"multi\nline ") + [0xFF] + bytes("\"\n4,ok\n")
        let c = readDelimited(input, delimited(), chunk: chunk)
        #expect(c.rows == [["1", "Zoë"], ["4", "ok"]])
        #expect(c.codes == ["encoding-error", "encoding-error"])
        #expect(c.issues[0].line == 3)
        #expect(c.issues[0].byteOffset == 14)
        #expect(c.issues[0].field == 1)
        #expect(c.issues[0].column == 4)
        // The bad byte of the multi-line record is on its second physical line.
        #expect(c.issues[1].line == 5)
        #expect(c.issues[1].byteOffset == 33)
        #expect(c.issues[1].field == 1)
        #expect(!c.issues[0].message.contains("Z"))
        // Overlong, surrogate and truncated sequences are invalid too.
        for bad: [UInt8] in [[0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]] {
            let e = readDelimited(bytes("a\n") + bad + bytes("\n"), delimited(), chunk: chunk)
            #expect(e.codes == ["encoding-error"])
        }
        let ok = readDelimited(bytes("a\n€ 𝄞 é\n"), delimited(), chunk: chunk)
        #expect(ok.rows == [["€ 𝄞 é"]])
    }

    @Test(arguments: chunkSizes)
    func lineNumbersAfterMultiLineRecords(chunk: Int) {
        let text = "h1,h2\n\"a\nb\nc\",1\n\"d\r\ne\",2\n\n3,3\n"
        let c = readDelimited(text, delimited { $0.blankLines = .report }, chunk: chunk)
        #expect(c.records.map(\.line) == [2, 5, 8])
        #expect(c.records.map(\.lineCount) == [3, 2, 1])
        #expect(c.issues.map(\.line) == [7])
    }

    @Test(arguments: chunkSizes)
    func trailerGoodMismatchedAndMissing(chunk: Int) {
        let trailer = DelimitedTrailer(prefix: "TRL", countField: 1, sumField: 2, sumOfField: 1)
        let layout = delimited { $0.trailer = trailer }
        let good = readDelimited("id,amount\n1,10.50\n2,5\n3,-0.5\nTRL,3,15.00\n", layout, chunk: chunk)
        #expect(good.refusal == nil)
        #expect(good.rows == [["1", "10.50"], ["2", "5"], ["3", "-0.5"]])
        let badCount = readDelimited("id,amount\n1,10.50\n2,5\nTRL,3,15.50\n", layout, chunk: chunk)
        #expect(badCount.refusal?.code == .controlTotalMismatch)
        #expect(badCount.refusal?.line == 4)
        #expect(badCount.rows.count == 2)
        let badSum = readDelimited("id,amount\n1,10.50\n2,5\nTRL,2,15.00\n", layout, chunk: chunk)
        #expect(badSum.refusal?.code == .controlTotalMismatch)
        let missing = readDelimited("id,amount\n1,10.50\n", layout, chunk: chunk)
        #expect(missing.refusal?.code == .missingTrailer)
        // Rows that are issues still count; a prefix line followed by data is data.
        let issues = readDelimited(bytes("id,amount\n1,1\n") + [0xFF] + bytes(",2\nTRL1,3\nTRL,3,4\n\n"), layout, chunk: chunk)
        #expect(issues.refusal == nil)
        #expect(issues.rows == [["1", "1"], ["TRL1", "3"]])
        #expect(issues.codes == ["encoding-error"])
        let countOnly = readDelimited(
            "a\nx\nT;1\n",
            delimited {
                $0.trailer = DelimitedTrailer(prefix: "T;", countField: 1)
                $0.delimiter = UInt8(ascii: ";")
            })
        #expect(countOnly.refusal == nil)
    }

    @Test(arguments: chunkSizes)
    func recordTooLongIsSkippedToTheNextLine(chunk: Int) {
        let long = String(repeating: "x", count: 300)
        let c = readDelimited("a,b\n1,2\n\(long),y\n3,4\n", delimited { $0.maxRecordBytes = 100 }, chunk: chunk)
        #expect(c.rows == [["1", "2"], ["3", "4"]])
        #expect(c.codes == ["record-too-long"])
        #expect(c.issues[0].line == 3)
        #expect(c.records.map(\.line) == [2, 4])
        // An unclosed quote running past the limit: one issue, then reading resumes on the next line.
        let rows = (1...50).map { "\($0),v" }.joined(separator: "\n")
        let q = readDelimited("a,b\n1,\"open\n\(rows)\n", delimited { $0.maxRecordBytes = 64 }, chunk: chunk)
        #expect(q.codes == ["record-too-long"])
        #expect(q.records.count == 50)
        #expect(q.records.first?.line == 3)
    }

    @Test(arguments: chunkSizes)
    func unclosedQuoteAtEndOfInput(chunk: Int) {
        let c = readDelimited("a,b\n1,2\n3,\"never closed\n4,5\n", delimited(), chunk: chunk)
        #expect(c.rows == [["1", "2"], ["4", "5"]])
        #expect(c.codes == ["unclosed-quote"])
        #expect(c.issues[0].line == 3)
        let end = readDelimited("a\n\"", delimited(), chunk: chunk)
        #expect(end.codes == ["unclosed-quote"])
    }

    @Test func binaryFilesAreRefused() {
        let samples: [[UInt8]] = [
            [0x50, 0x4B, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00],
            [0x1F, 0x8B, 0x08, 0x00],
            bytes("%PDF-1.7\n"),
            bytes("a,b\n1,2\0\n"),
            [0xFF, 0xFE, 0x61, 0x00, 0x2C, 0x00],
        ]
        for s in samples {
            let c = readDelimited(s, delimited())
            #expect(c.refusal?.code == .binaryFile)
            let f = readFixed(s, fixedLayout())
            #expect(f.refusal?.code == .binaryFile)
        }
    }

    @Test func emptyFileHasNoHeader() {
        #expect(readDelimited("", delimited()).refusal?.code == .missingHeader)
        #expect(readDelimited("\n\n", delimited()).refusal?.code == .missingHeader)
        let noHeader = readDelimited("", delimited { $0.hasHeader = false })
        #expect(noHeader.refusal == nil && noHeader.items.isEmpty)
        #expect(readDelimited(bytes("\u{FF}x\n"), delimited()).refusal == nil)  // ÿ is valid UTF-8 text
        #expect(readDelimited([0xFF, 0x0A], delimited()).refusal?.code == .encodingError)
    }

    @Test func layoutErrors() {
        #expect(readDelimited("a", delimited { $0.delimiter = 10 }).refusal?.code == .layoutError)
        #expect(readDelimited("a", delimited { $0.quote = UInt8(ascii: ",") }).refusal?.code == .layoutError)
        #expect(readDelimited("a", delimited { $0.trailer = DelimitedTrailer(prefix: "", countField: 0) }).refusal?.code == .layoutError)
    }

    @Test func recordsStayValidAndBuffersAreReused() throws {
        let text = "a,b\n" + (0..<100).map { "row\($0),\"q\"\"\($0)\"" }.joined(separator: "\n") + "\n"
        // Kept records keep their values.
        let c = readDelimited(text, delimited())
        #expect(c.records.count == 100)
        #expect(c.records[7].strings == ["row7", "q\"7"])
        #expect(c.records[99].string(1) == "q\"99")
        // Dropped records give their buffers back: the same storage serves every record.
        var reader = try DelimitedReader(source: BytesByteSource(text), layout: delimited())
        var addresses = Set<UInt>()
        while let item = try reader.next() {
            if case .record(let r) = item {
                r.withBytes(0) { _ = addresses.insert(UInt(bitPattern: $0.baseAddress! - (Int(r._spans[0])))) }
            }
        }
        #expect(addresses.count <= 2)
    }

    @Test func fileByteSourceReadsAFile() throws {
        let path = "/tmp/flatfile-test-\(getpid()).csv"
        let f = fopen(path, "w")!
        fputs("TRN,Name\r\n0001234,Zoë\r\n", f)
        fclose(f)
        defer { unlink(path) }
        var reader = try DelimitedReader(source: try FileByteSource(path: path), layout: delimited())
        let c = collect(&reader)
        #expect(c.rows == [["0001234", "Zoë"]])
        #expect(throws: ByteSourceError.self) { _ = try FileByteSource(path: "/nonexistent/x.csv") }
    }

    @Test func failingSourceIsAnIOError() {
        struct Failing: ByteSource {
            var calls = 0
            mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
                calls += 1
                if calls > 1 { throw ByteSourceError(operation: "read", errno: EIO) }
                buffer[0] = UInt8(ascii: "a")
                buffer[1] = 10
                return 2
            }
        }
        do {
            var r = try DelimitedReader(source: Failing(), layout: delimited())
            _ = collect(&r)
            Issue.record("expected a refusal")
        } catch {
            #expect(error.code == .ioError)
        }
    }

    @Test func columnRanges() {
        #expect(ColumnRange(parsing: "1-7") == ColumnRange(first: 1, last: 7))
        #expect(ColumnRange(parsing: "42")?.width == 1)
        #expect(ColumnRange(parsing: " 79 - 86 ")?.width == 8)
        for bad in ["", "0", "7-1", "a-b", "1-", "-3", "1-2-3", "99999999999"] { #expect(ColumnRange(parsing: bad) == nil) }
    }

    @Test(arguments: chunkSizes)
    func batchesHoldWhatRecordByRecordReadingGives(chunk: Int) throws {
        // Plain rows (read in place unless a null literal is set), quoted and doubled quotes, a null literal, a blank
        // row and bad UTF-8.
        let text = bytes("a,b,c\n1,2,3\n\"x\"\"y\",NULL,z\n\n4,  5 ,6\n") + [0x37, 0xFF, 0x2C, 0x38, 0x0A] + bytes("9,10,11\n")
        for layout in [
            delimited { $0.blankLines = .report },
            delimited {
                $0.nullLiteral = "NULL"
                $0.blankLines = .report
            },
        ] {
            try expectBatchesMatchRecords(text, layout, chunk: chunk)
        }
    }

    private func expectBatchesMatchRecords(_ text: [UInt8], _ layout: DelimitedLayout, chunk: Int) throws {
        typealias Entry = (line: Int, fields: [String], nulls: [Bool], issue: String?)
        var expected: [Entry] = []
        for item in readDelimited(text, layout, chunk: chunk).items {
            switch item {
            case .record(let r): expected.append((r.line, r.strings, (0..<r.count).map(r.isNull), nil))
            case .issue(let i): expected.append((i.line, [], [], i.code.rawValue))
            }
        }
        var reader = try DelimitedReader(source: ChunkedSource(text, chunk: chunk), layout: layout)
        var batch = RecordBatch()
        var batched: [Entry] = []
        while try reader.read(into: &batch, maxItems: 2, maxBytes: 1 << 20) {
            batch.withView { view in
                for index in 0..<view.count {
                    if let r = view.record(index) {
                        batched.append((r.line, (0..<r.count).map(r.string), (0..<r.count).map(r.isNull), nil))
                    } else if let i = view.issue(index) {
                        batched.append((i.line, [], [], i.code.rawValue))
                    }
                }
            }
            batch.removeAll()
        }
        #expect(expected.count == 6)
        #expect(batched.map(\.line) == expected.map(\.line))
        #expect(batched.map(\.fields) == expected.map(\.fields))
        #expect(batched.map(\.nulls) == expected.map(\.nulls))
        #expect(batched.map(\.issue) == expected.map(\.issue))
    }
}
