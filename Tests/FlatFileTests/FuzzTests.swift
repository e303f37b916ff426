import DQTTesting
import Testing

@testable import FlatFile

/// Seeded mutation fuzzing: every input must be read to the end without a crash, with sane positions.
let readerMutator = ByteMutator(
    tokens: [",", ";", "\"", "\r", "\n", "\r\n", "\t", " ", "1"].map { Array($0.utf8) }
        + [[0xEF, 0xBB, 0xBF], [0xC3, 0x80], [0xFF], [0x81]])

/// Reads everything and checks invariants (plain checks here: `#expect` per record would dominate the run);
/// returns a description of the first broken invariant, if any.
@discardableResult
func exercise<R: RecordReader>(_ reader: inout R, inputCount: Int, codes: inout Set<String>) -> String? {
    var items = 0
    var lastLine = 0
    do {
        while let item = try reader.next() {
            items += 1
            // A reader that makes no progress would loop: no input yields more items than bytes (+ slack).
            if items > inputCount + 8 { return "reader does not end: \(items) items from \(inputCount) bytes" }
            switch item {
            case .record(let r):
                guard r.line >= 1, r.lineCount >= 1, r.byteOffset >= 0, r.byteOffset <= inputCount else {
                    return "record position out of range: line \(r.line) offset \(r.byteOffset)"
                }
                guard r.line >= lastLine else { return "line numbers go backwards: \(r.line) after \(lastLine)" }
                lastLine = r.line
                var total = 0
                for f in 0...r.count { total &+= r.withBytes(f) { $0.count } }
                guard total <= r.text.utf8.count * 2 + 16 else { return "fields larger than the record" }
                _ = r.isNull(0)
            case .issue(let i):
                codes.insert(i.code.rawValue)
                guard i.line >= 1, i.byteOffset >= 0, i.byteOffset <= inputCount else {
                    return "issue position out of range: line \(i.line) offset \(i.byteOffset)"
                }
            }
        }
    } catch {
        codes.insert("refused:" + error.code.rawValue)
    }
    return nil
}

@Suite("Fuzzing")
struct FuzzTests {
    static let delimitedSeeds: [[UInt8]] = [
        bytes("a,b,c\n1,2,3\n4,5,6\n"),
        bytes("TRN,Name,Note\r\n0001234,\"Smith, Jane\",\"said \"\"hi\"\"\"\r\n0002345,Zoë,\"multi\nline\"\r\n"),
        [0xEF, 0xBB, 0xBF] + bytes("h1;h2\n x ; NULL \n\n\"q\";\"\"\n"),
        bytes("RESTRICTED 1\nRESTRICTED 2\nid,amount\n1,10.5\n2,3\nTRL,2,13.5\n"),
        bytes("id,v\r1,a\r2,b\r\r3,\"c\r\nd\"\r"),
        bytes("x,y\n") + [0x48, 0xE9, 0x80, 0x92, 0x81] + bytes(",z\n"),
        bytes("\"unclosed,a\nb,c\n"),
    ]

    static let fixedSeeds: [[UInt8]] = [
        bytes(
            [
                type1("0001234", "2", "010180", "Smith", flag: true, "Jane Ann"), type2("0001234", "2", "Jones"),
                type1("0007654", "1", "", "Brown", flag: false, "Bob"), amendNI("0007654", "AB123456C"),
                amendDOB("0001111", "311299*"),
            ].joined(separator: "\r\n") + "\r\n"),
        bytes([type2("0001234", "2", "Jones"), type1("0005555", "1", "", "Green", flag: true, "Al")].joined(separator: "\n")),
        bytes("H20260101\nD001 10.50\nD002  5.25\n\nT000002    15.75\n"),
        bytes("001Zoë    10\n002Hervé  20\r003\r"),
    ]

    func delimitedLayout(_ k: Int) -> DelimitedLayout {
        delimited {
            switch k % 6 {
            case 0: break
            case 1:
                $0.delimiter = UInt8(ascii: ";")
                $0.hasHeader = false
                $0.nullLiteral = "NULL"
            case 2:
                $0.preamble = .matching("RESTRICTED")
                $0.trailer = DelimitedTrailer(prefix: "TRL", countField: 1, sumField: 2, sumOfField: 1)
            case 3:
                $0.encoding = .windows1252
                $0.blankLines = .report
                $0.maxRecordBytes = 24
            case 4:
                $0.encoding = .iso8859_1
                $0.trim = false
                $0.quote = nil
                $0.preamble = .lines(1)
                $0.nullLiteral = ""
            default:
                $0.maxRecordBytes = 16
                $0.blankLines = .report
            }
        }
    }

    func fixedLayoutVariant(_ k: Int) -> FixedWidthLayout {
        switch k % 4 {
        case 0: return capitaLayout()
        case 1:
            var l = capitaLayout()
            l.strictLength = false
            l.trim = false
            l.encoding = .windows1252
            l.maxRecordBytes = 90
            l.blankLines = .report
            return l
        case 2:
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
        default:
            return fixedLayout {
                $0.lineLength = 12
                $0.strictLength = false
                $0.encoding = .iso8859_1
            }
        }
    }

    static let iterations = 100_000

    @Test func mutatedDelimitedInputs() throws {
        var rng = SplitMix64(seed: 0xD5_2026)
        let seeds = Self.delimitedSeeds
        var codes = Set<String>()
        for i in 0..<Self.iterations {
            let input = readerMutator.mutate(seeds[i % seeds.count], seeds: seeds, using: &rng)
            let chunk = [1, 3, 64, 1 << 20][i % 4]
            do {
                var r = try DelimitedReader(source: ChunkedSource(input, chunk: chunk), layout: delimitedLayout(i / 4))
                if let problem = exercise(&r, inputCount: input.count, codes: &codes) {
                    Issue.record("input \(i) \(input): \(problem)")
                    return
                }
            } catch {
                codes.insert("refused:" + error.code.rawValue)
            }
        }
        // The mutations reach every kind of problem.
        for code in [
            "encoding-error", "blank-row", "record-too-long", "unclosed-quote", "refused:binary-file",
            "refused:missing-header", "refused:control-total-mismatch", "refused:missing-trailer",
        ] {
            #expect(codes.contains(code), "no input produced \(code)")
        }
    }

    @Test func mutatedFixedWidthInputs() throws {
        var rng = SplitMix64(seed: 0xF1_2026)
        let seeds = Self.fixedSeeds
        var codes = Set<String>()
        for i in 0..<Self.iterations {
            let input = readerMutator.mutate(seeds[i % seeds.count], seeds: seeds, using: &rng)
            let chunk = [1 << 20, 5, 64, 1][i % 4]
            do {
                var r = try FixedWidthReader(source: ChunkedSource(input, chunk: chunk), layout: fixedLayoutVariant(i / 4))
                if let problem = exercise(&r, inputCount: input.count, codes: &codes) {
                    Issue.record("input \(i) \(input): \(problem)")
                    return
                }
            } catch {
                codes.insert("refused:" + error.code.rawValue)
            }
        }
        for code in [
            "encoding-error", "blank-row", "record-too-long", "line-length-error", "unknown-record-type",
            "missing-continuation", "orphan-continuation", "refused:missing-header",
            "refused:control-total-mismatch", "refused:missing-trailer",
        ] {
            #expect(codes.contains(code), "no input produced \(code)")
        }
    }

    @Test func randomBytes() throws {
        var rng = SplitMix64(seed: 42)
        var codes = Set<String>()
        for i in 0..<20_000 {
            let n = Int.random(in: 0...300, using: &rng)
            // Mostly printable with the structural bytes, sometimes anything at all.
            let alphabet: [UInt8] = i % 3 == 0 ? Array(0...255) : Array(bytes("ab1 ,;\"\r\n\t")) + [0xC3, 0xA9, 0xFF]
            let input = (0..<n).map { _ in alphabet.randomElement(using: &rng)! }
            if var d = try? DelimitedReader(source: ChunkedSource(input, chunk: i % 2 == 0 ? 1 << 20 : 7), layout: delimitedLayout(i)) {
                if let problem = exercise(&d, inputCount: input.count, codes: &codes) {
                    Issue.record("delimited input \(input): \(problem)")
                    return
                }
            }
            if var f = try? FixedWidthReader(source: ChunkedSource(input, chunk: i % 2 == 0 ? 1 << 20 : 7), layout: fixedLayoutVariant(i)) {
                if let problem = exercise(&f, inputCount: input.count, codes: &codes) {
                    Issue.record("fixed-width input \(input): \(problem)")
                    return
                }
            }
        }
    }
}
