import Testing

@testable import FlatFile

func pad(_ s: String, _ n: Int) -> String {
    let c = s.unicodeScalars.count
    return c >= n ? String(String.UnicodeScalarView(s.unicodeScalars.prefix(n))) : s + String(repeating: " ", count: n - c)
}

func col(_ a: Int, _ b: Int) -> ColumnRange { ColumnRange(first: a, last: b) }

/// The Capita register: type 1 (current name), type 2 (previous surname), two amendment types.
func capitaLayout() -> FixedWidthLayout {
    var l = FixedWidthLayout()
    l.lineLength = 86
    l.discriminator = col(79, 86)
    l.recordTypes = [
        FixedWidthRecordType(
            code: "1018Z981", role: .data,
            fields: [
                FixedWidthField(name: "trn", columns: col(1, 7)),
                FixedWidthField(name: "gender", columns: col(8, 8)),
                FixedWidthField(name: "dob", columns: col(18, 23)),
                FixedWidthField(name: "surname", columns: col(25, 41)),
                FixedWidthField(name: "flag", columns: col(42, 42)),
                FixedWidthField(name: "names", columns: col(43, 77)),
            ], continuation: Continuation(flag: col(42, 42), flagValue: "1", typeCode: "2018Z981", matchFields: ["trn"])),
        FixedWidthRecordType(
            code: "2018Z981", role: .continuation,
            fields: [
                FixedWidthField(name: "trn", columns: col(1, 7)),
                FixedWidthField(name: "gender", columns: col(8, 8)),
                FixedWidthField(name: "previousSurname", columns: col(18, 71)),
            ]),
        FixedWidthRecordType(
            code: " 321ZE2*", role: .data,
            fields: [
                FixedWidthField(name: "trn", columns: col(1, 7)),
                FixedWidthField(name: "ni", columns: col(26, 34)),
            ]),
        FixedWidthRecordType(
            code: "1211ZE1*", role: .data,
            fields: [
                FixedWidthField(name: "trn", columns: col(1, 7)),
                FixedWidthField(name: "dob", columns: col(18, 24)),
            ]),
    ]
    return l
}

func type1(_ trn: String, _ gender: String, _ dob: String, _ surname: String, flag: Bool, _ names: String) -> String {
    pad(trn, 7) + pad(gender, 1) + String(repeating: " ", count: 9) + pad(dob, 6) + " " + pad(surname, 17)
        + (flag ? "1" : " ") + pad(names, 35) + " " + "1018Z981"
}

func type2(_ trn: String, _ gender: String, _ previous: String) -> String {
    pad(trn, 7) + pad(gender, 1) + String(repeating: " ", count: 9) + pad(previous, 54) + String(repeating: " ", count: 7) + "2018Z981"
}

func amendNI(_ trn: String, _ ni: String) -> String {
    pad(trn, 7) + "1" + "//" + "SMITHX" + " " + String(repeating: " ", count: 7) + " " + pad(ni, 9) + String(repeating: " ", count: 44) + " 321ZE2*"
}

func amendDOB(_ trn: String, _ dob: String) -> String {
    pad(trn, 7) + "2" + "//" + "JONESX" + " " + pad(dob, 7) + " " + String(repeating: " ", count: 9) + String(repeating: " ", count: 44) + "1211ZE1*"
}

/// A single-type layout for simple cases.
func fixedLayout(_ configure: (inout FixedWidthLayout) -> Void = { _ in }) -> FixedWidthLayout {
    var l = FixedWidthLayout()
    l.recordTypes = [
        FixedWidthRecordType(
            code: "", role: .data,
            fields: [
                FixedWidthField(name: "id", columns: col(1, 3)),
                FixedWidthField(name: "name", columns: col(4, 8)),
                FixedWidthField(name: "amount", columns: col(9, 12)),
            ])
    ]
    configure(&l)
    return l
}

@Suite("Fixed-width reader")
struct FixedWidthTests {
    @Test func capitaHelpersMakeEightySixCharacters() {
        for l in [
            type1("0001234", "1", "010180", "Smith", flag: true, "Jane Ann"), type2("0001234", "1", "Jones"),
            amendNI("0001234", "AB123456C"), amendDOB("0001234", "010180*"),
        ] {
            #expect(l.count == 86)
        }
    }

    @Test(arguments: chunkSizes)
    func continuationFormsOneRecord(chunk: Int) {
        let lines = [
            type1("0001234", "2", "010180", "Smith", flag: true, "Jane Ann"),
            type2("0001234", "2", "Jones"),
            type1("0007654", "1", "", "Brown", flag: false, "Bob"),
            amendNI("0007654", "AB123456C"),
            amendDOB("0001111", "311299*"),
        ]
        let c = readFixed(lines.joined(separator: "\r\n") + "\r\n", capitaLayout(), chunk: chunk)
        #expect(c.refusal == nil)
        #expect(c.issues.isEmpty)
        #expect(c.records.count == 4)
        let r = c.records[0]
        #expect(r.line == 1 && r.lineCount == 2 && r.typeCode == "1018Z981")
        #expect(r.strings == ["0001234", "2", "010180", "Smith", "1", "Jane Ann", "0001234", "2", "Jones"])
        #expect(c.records[1].strings == ["0007654", "1", "", "Brown", "", "Bob"])
        #expect(c.records.map(\.line) == [1, 3, 4, 5])
        #expect(c.records[2].typeCode == " 321ZE2*")
        #expect(c.records[2].strings == ["0007654", "AB123456C"])
        #expect(c.records[3].strings == ["0001111", "311299*"])
        #expect(c.records[1].byteOffset == 2 * 88)
        #expect(r.text == lines[0] + "\n" + lines[1])
    }

    @Test(arguments: chunkSizes)
    func missingContinuation(chunk: Int) {
        let lines = [
            type1("0001234", "2", "010180", "Smith", flag: true, "Jane Ann"),
            type1("0007654", "1", "", "Brown", flag: false, "Bob"),
            type1("0005555", "1", "", "Green", flag: true, "Al"),
        ]
        let c = readFixed(lines.joined(separator: "\n"), capitaLayout(), chunk: chunk)
        #expect(c.codes == ["missing-continuation", "missing-continuation"])
        #expect(c.issues.map(\.line) == [1, 3])
        #expect(c.issues[0].column == 42)
        #expect(c.records.map(\.line) == [2])
        #expect(c.records[0].strings.first == "0007654")
        // Continuation for another TRN: the flagged line is missing its continuation, and the other is an orphan.
        let other = [type1("0001234", "2", "010180", "Smith", flag: true, "Jane"), type2("0009999", "2", "Jones")]
        let o = readFixed(other.joined(separator: "\n") + "\n", capitaLayout(), chunk: chunk)
        #expect(o.codes == ["missing-continuation", "orphan-continuation"])
        #expect(o.issues.map(\.line) == [1, 2])
        #expect(o.records.isEmpty)
    }

    @Test(arguments: chunkSizes)
    func orphanContinuation(chunk: Int) {
        let lines = [type2("0001234", "2", "Jones"), type1("0007654", "1", "", "Brown", flag: false, "Bob")]
        let c = readFixed(lines.joined(separator: "\n") + "\n", capitaLayout(), chunk: chunk)
        #expect(c.codes == ["orphan-continuation"])
        #expect(c.issues[0].line == 1)
        #expect(c.records.map(\.line) == [2])
    }

    @Test(arguments: chunkSizes)
    func unknownTypeAndLineLength(chunk: Int) {
        let good = type1("0007654", "1", "", "Brown", flag: false, "Bob")
        let unknown = String(good.dropLast(8)) + "9999Z999"
        let short = String(good.dropFirst())
        let long = good + "X"
        let c = readFixed([good, unknown, short, long, good].joined(separator: "\n"), capitaLayout(), chunk: chunk)
        #expect(c.codes == ["unknown-record-type", "line-length-error", "line-length-error"])
        #expect(c.issues.map(\.line) == [2, 3, 4])
        #expect(c.issues[0].message.contains("9999Z999"))
        #expect(c.issues[0].message.contains("line 2"))
        #expect(c.issues[1].message.contains("85") && c.issues[1].message.contains("86"))
        #expect(c.records.map(\.line) == [1, 5])
    }

    @Test(arguments: chunkSizes)
    func raggedRightPadsShortLines(chunk: Int) {
        let layout = fixedLayout {
            $0.lineLength = 12
            $0.strictLength = false
        }
        let c = readFixed("001Alice  12\n002Bob\n003\n004Carol 1234X\n", layout, chunk: chunk)
        #expect(c.rows == [["001", "Alice", "12"], ["002", "Bob", ""], ["003", "", ""]])
        #expect(c.codes == ["line-length-error"])
        let untrimmed = readFixed(
            "002Bob\n",
            fixedLayout {
                $0.lineLength = 12
                $0.strictLength = false
                $0.trim = false
            }, chunk: chunk)
        #expect(untrimmed.rows == [["002", "Bob  ", "    "]])
        let strict = readFixed("001Alice  12\n002Bob\n", fixedLayout { $0.lineLength = 12 }, chunk: chunk)
        #expect(strict.rows == [["001", "Alice", "12"]])
        #expect(strict.codes == ["line-length-error"])
        let unchecked = readFixed("002Bob\n", fixedLayout(), chunk: chunk)
        #expect(unchecked.rows == [["002", "Bob", ""]])
    }

    @Test(arguments: chunkSizes)
    func columnsAreCharacters(chunk: Int) {
        // "Zoë" and "Hervé": one column per character, in UTF-8 and in Windows-1252.
        let utf = readFixed("001Zoë    10\n002Hervé  20\n", fixedLayout { $0.lineLength = 12 }, chunk: chunk)
        #expect(utf.rows == [["001", "Zoë", "10"], ["002", "Hervé", "20"]])
        let cp: [UInt8] = bytes("001Zo") + [0xEB] + bytes("    10\r\n002Herv") + [0xE9] + bytes("  \u{7F}0\r\n")
        let w = readFixed(
            cp,
            fixedLayout {
                $0.lineLength = 12
                $0.encoding = .windows1252
            }, chunk: chunk)
        #expect(w.rows == [["001", "Zoë", "10"], ["002", "Hervé", "\u{7F}0"]])
        let bad = readFixed(
            bytes("001Zo") + [0x81] + bytes("    10\n") + bytes("001Zo") + [0xEB] + bytes("    10\n"),
            fixedLayout {
                $0.lineLength = 12
                $0.encoding = .windows1252
            }, chunk: chunk)
        #expect(bad.codes == ["encoding-error"])
        #expect(bad.issues[0].byteOffset == 5 && bad.issues[0].column == 6)
        #expect(bad.rows == [["001", "Zoë", "10"]])
        let utfBad = readFixed(bytes("001Zo") + [0xC3] + bytes("    10\n002ok      1\n"), fixedLayout { $0.lineLength = 12 }, chunk: chunk)
        #expect(utfBad.codes == ["encoding-error"])
        #expect(utfBad.issues[0].line == 1 && utfBad.issues[0].byteOffset == 5)
        #expect(utfBad.records.map(\.line) == [2])
    }

    @Test(arguments: chunkSizes)
    func byteOrderMarkAndLatin1(chunk: Int) {
        let c = readFixed([0xEF, 0xBB, 0xBF] + bytes("001Zoë    10\r\n002Bob    20"), fixedLayout { $0.lineLength = 12 }, chunk: chunk)
        #expect(c.rows == [["001", "Zoë", "10"], ["002", "Bob", "20"]])
        #expect(c.records.map(\.byteOffset) == [3, 18])
        // ISO-8859-1: every byte is a character (0x80 included).
        let l = readFixed(
            bytes("001Zo") + [0xEB, 0x80] + bytes("   10\n"),
            fixedLayout {
                $0.lineLength = 12
                $0.encoding = .iso8859_1
            }, chunk: chunk)
        #expect(l.rows == [["001", "Zoë\u{80}", "10"]])
    }

    func totalsLayout() -> FixedWidthLayout {
        var l = FixedWidthLayout()
        l.discriminator = col(1, 1)
        l.recordTypes = [
            FixedWidthRecordType(code: "H", role: .header, fields: [FixedWidthField(name: "date", columns: col(2, 9))]),
            FixedWidthRecordType(
                code: "D", role: .data,
                fields: [
                    FixedWidthField(name: "id", columns: col(2, 4)), FixedWidthField(name: "amount", columns: col(5, 10)),
                ]),
            FixedWidthRecordType(
                code: "T", role: .trailer,
                fields: [
                    FixedWidthField(name: "count", columns: col(2, 7)), FixedWidthField(name: "total", columns: col(8, 16)),
                ]),
        ]
        l.controlTotals = ControlTotals(countField: "count", sumField: "total", sumOfField: "amount")
        return l
    }

    @Test(arguments: chunkSizes)
    func headerTrailerAndControlTotals(chunk: Int) throws {
        let good = "H20260101\nD001 10.50\nD002  5.25\nD003     0\n\nT000003    15.75\n"
        let c = readFixed(good, totalsLayout(), chunk: chunk)
        #expect(c.refusal == nil)
        #expect(c.rows == [["001", "10.50"], ["002", "5.25"], ["003", "0"]])
        #expect(c.records.map(\.line) == [2, 3, 4])
        var reader = try FixedWidthReader(source: ChunkedSource(bytes(good), chunk: chunk), layout: totalsLayout())
        _ = collect(&reader)
        #expect(reader.headerRecord?.string(0) == "20260101")
        #expect(reader.trailerRecord?.string(0) == "000003")
        #expect(reader.fieldNames == ["id", "amount"])

        let badCount = readFixed("H20260101\nD001 10.50\nT000002    10.50\n", totalsLayout(), chunk: chunk)
        #expect(badCount.refusal?.code == .controlTotalMismatch)
        #expect(badCount.refusal?.line == 3)
        let badSum = readFixed("H20260101\nD001 10.50\nT000001    10.51\n", totalsLayout(), chunk: chunk)
        #expect(badSum.refusal?.code == .controlTotalMismatch)
        let missing = readFixed("H20260101\nD001 10.50\n", totalsLayout(), chunk: chunk)
        #expect(missing.refusal?.code == .missingTrailer)
        #expect(missing.rows.count == 1)
        let noHeader = readFixed("D001 10.50\nT000001    10.50\n", totalsLayout(), chunk: chunk)
        #expect(noHeader.refusal?.code == .missingHeader)
        // Issue rows count as data records: the trailer counts what the sender wrote.
        let withIssues = readFixed("H20260101\nD001 10.50\nX999\nD002 1\u{FF}\nT000003    10.50\n", totalsLayout(), chunk: chunk)
        #expect(withIssues.refusal == nil)
        #expect(withIssues.codes == ["unknown-record-type"])
    }

    @Test(arguments: chunkSizes)
    func blankAndTooLongLines(chunk: Int) {
        let layout = fixedLayout {
            $0.blankLines = .report
            $0.maxRecordBytes = 64
        }
        let c = readFixed("001Alice  12\n\n   \n" + String(repeating: "y", count: 500) + "\n002Bob     3\n", layout, chunk: chunk)
        #expect(c.codes == ["blank-row", "blank-row", "record-too-long"])
        #expect(c.issues.map(\.line) == [2, 3, 4])
        #expect(c.records.map(\.line) == [1, 5])
        // A too-long line where a continuation is expected: the flagged line misses it.
        var capita = capitaLayout()
        capita.maxRecordBytes = 100
        let t1 = type1("0001234", "2", "010180", "Smith", flag: true, "Jane")
        let m = readFixed(t1 + "\n" + String(repeating: "z", count: 300) + "\n" + type2("0001234", "2", "Jones") + "\n", capita, chunk: chunk)
        #expect(m.codes == ["missing-continuation", "record-too-long", "orphan-continuation"])
    }

    @Test func layoutErrorsAreRefused() {
        var l = capitaLayout()
        l.recordTypes[0].continuation?.typeCode = "NOPE0000"
        #expect(readFixed("x", l).refusal?.code == .layoutError)
        l = capitaLayout()
        l.recordTypes[0].continuation?.matchFields = ["nothing"]
        #expect(readFixed("x", l).refusal?.code == .layoutError)
        l = capitaLayout()
        l.discriminator = nil
        #expect(readFixed("x", l).refusal?.code == .layoutError)
        l = capitaLayout()
        l.recordTypes[1].code = "SHORT"
        #expect(readFixed("x", l).refusal?.code == .layoutError)
        l = capitaLayout()
        l.controlTotals = ControlTotals(countField: "n")
        #expect(readFixed("x", l).refusal?.code == .layoutError)
        #expect(readFixed("x", FixedWidthLayout()).refusal?.code == .layoutError)
    }

    @Test func fieldNames() throws {
        let r = try FixedWidthReader(source: BytesByteSource(""), layout: capitaLayout())
        #expect(r.fieldNames == nil)
        #expect(r.fieldNames(forType: "1018Z981") == ["trn", "gender", "dob", "surname", "flag", "names", "trn", "gender", "previousSurname"])
        #expect(r.fieldNames(forType: " 321ZE2*") == ["trn", "ni"])
        let single = try FixedWidthReader(source: BytesByteSource(""), layout: fixedLayout())
        #expect(single.fieldNames == ["id", "name", "amount"])
        #expect(single.header == nil)
    }
}
