import BridgeReport
import DQTModel
import DQTTesting
import FeedMapping
import Foundation
import Testing

/// Parses RFC 4180 CSV (quoted cells, doubled quotes, CRLF) into rows of cells.
func parseCSV(_ text: String) -> [[String]] {
    var rows: [[String]] = []
    var row: [String] = []
    var cell = ""
    var quoted = false
    var scalars = Array(text.unicodeScalars)[...]
    while let c = scalars.popFirst() {
        if quoted {
            if c == "\"" {
                if scalars.first == "\"" {
                    cell.unicodeScalars.append("\"")
                    scalars.removeFirst()
                } else {
                    quoted = false
                }
            } else {
                cell.unicodeScalars.append(c)
            }
        } else if c == "\"" && cell.isEmpty {
            quoted = true
        } else if c == "," {
            row.append(cell)
            cell = ""
        } else if c == "\r" && scalars.first == "\n" {
            scalars.removeFirst()
            row.append(cell)
            rows.append(row)
            row = []
            cell = ""
        } else if c == "\n" {
            row.append(cell)
            rows.append(row)
            row = []
            cell = ""
        } else {
            cell.unicodeScalars.append(c)
        }
    }
    if !cell.isEmpty || !row.isEmpty {
        row.append(cell)
        rows.append(row)
    }
    return rows
}

@Suite("hostile files: rejected-rows CSV and mutated fixtures", .timeLimit(.minutes(10)))
struct RejectsAndMutationTests {
    /// Rows that are rejected (unknown status) and carry formula-like cells in every column a spreadsheet would run.
    static let malformed =
        [
            #"REFERENCE_NO,FIRST_NAME,LAST_NAME,DATE_OF_BIRTH,START_DATE,PASS_DATE,FAIL_DATE,EMPLOYER_NAME,EMPLOYER_CODE,IND_STATUS_NAME"#,
            #"1000002,=HYPERLINK("http://evil.example","open"),Llŷnffug,07/03/1974,01/09/2024,18/07/2025,,=cmd|' /C calc'!A0,+6612001,Bogus"#,
            #"1000003,+SUM(1;2),-2+3,10/04/1981,02/09/2024,17/07/2025,,@SUM(A1:A9),-6612001,=1+1"#,
            "1000004,\"\tTabbed\",\"\r=CR\",13/05/1988,03/09/2024,16/07/2025,,\"\t=tab\",@x,+Pass2",
            #"=1000005,Plain,Name,16/06/1960,01/01/2025,,31/10/2026,"-=-",6612001,Fail"#,
            #"1000006,Quoted,"=""quoted""",16/06/1960,01/01/2025,,31/10/2026,"# + "\"\r\n=multi\",6612001,@Fail",
        ].joined(separator: "\r\n") + "\r\n"

    @Test("the rejected-rows CSV of a real malformed file neutralises =, +, -, @, tab and CR cells, masked or not")
    func rejectsNeutraliseFormulas() throws {
        let folder = try TemporaryFolder()
        let path = try folder.write("IND_formulas.csv", Array(Self.malformed.utf8))
        var wrong: [String] = []
        var neutralised = 0
        var rejectedRows = 0
        for unmask in [false, true] {
            let rejects = folder.path("rejects-\(unmask).csv")
            let run = try runBridge(["check", path, "--today", checkDay, "--rejects", rejects] + (unmask ? ["--unmask"] : []))
            #expect(run.status == 1 && run.signal == nil, "\(run)")
            let text = (try? String(contentsOfFile: rejects, encoding: .utf8)) ?? ""
            let rows = parseCSV(text)
            #expect(rows.count == 6, "header and 5 rejected rows: \(rows.count)")
            rejectedRows += max(0, rows.count - 1)
            for (index, row) in rows.enumerated() {
                for cell in row {
                    if let first = cell.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) {
                        wrong.append("unmask \(unmask) row \(index): cell \(cell.debugDescription) would run as a formula")
                    }
                    if cell.hasPrefix("'") { neutralised += 1 }
                }
            }
            // The dangerous values are exported (neutralised), not dropped.
            #expect(text.contains("'=cmd|' /C calc'!A0") && text.contains("'@SUM(A1:A9)") && text.contains("'+6612001"), "\(text)")
            if unmask { #expect(text.contains("'=HYPERLINK(") && text.contains("'-2+3")) } else { #expect(!text.contains("HYPERLINK")) }
        }
        #expect(wrong.isEmpty, "\(wrong.joined(separator: "\n"))")
        record(
            "rejected-rows CSV of a file full of formulas (=, +, -, @, tab, CR), masked and unmasked", runs: 2, expected: 10,
            applied: 0, refused: rejectedRows, reasons: "\(neutralised) cells neutralised with ', none left runnable", ok: wrong.isEmpty)
    }

    /// A cell holding a CRLF line break must be quoted: `Character` sees "\r\n" as one grapheme, neither "\r" nor
    /// "\n", so a check by Character misses it and the rest of the cell starts a new spreadsheet row, un-neutralised.
    @Test(
        "a cell with a CRLF inside is quoted, so its second line cannot start a row",
        arguments: [
            ("a\r\nb", "\"a\r\nb\""),
            ("\r\n=1+1", "\"'\r\n=1+1\""),
            ("note\r\n@SUM(A1)", "\"note\r\n@SUM(A1)\""),
        ])
    func crlfInsideACell(_ input: String, _ expected: String) {
        #expect(RejectedRowsCSV.cell(input) == expected)
        // By scalar: "\r\n=1+1".hasPrefix("\r") is false, since "\r\n" is one Character.
        #expect(parseCSV(RejectedRowsCSV.cell(input) + "\r\n") == [[input.unicodeScalars.first == "\r" ? "'" + input : input]])
    }

    // MARK: Mutation loop

    static let mutator = ByteMutator(
        tokens: [
            [0], [0xFF], [0xC3], [0xE2, 0x80], [0xEF, 0xBB, 0xBF], [0x0D], [0x0A], [0x0D, 0x0A], [0x22], [0x22, 0x22], [0x2C], [0x3B],
            [0x09], Array("=1+1".utf8), Array("99999999999999999999".utf8), Array("31/02/2024".utf8), Array("--".utf8),
            Array("\r\n--b1--\r\n".utf8), Array("Content-Transfer-Encoding: base64\r\n".utf8), Array("=?UTF-8?B?".utf8), Array("PK\u{3}\u{4}".utf8),
        ],
        allowsNUL: true, maximumEdits: 6)

    static let perFeed = Int(ProcessInfo.processInfo.environment["DQT_MUTATIONS_PER_FEED"] ?? "") ?? 2000

    @Test(
        "2,000 mutated fixture files per feed through the whole FeedChecker pipeline: a result every time, exit 0/1/2",
        arguments: catalog.feeds.map(\.id))
    func mutatedFixtures(feed: String) throws {
        let definition = try #require(catalog.feed(id: feed))
        let seeds = fixtures(of: feed)
        try #require(!seeds.isEmpty, "no fixtures for \(feed)")
        let inputs = try seeds.map { Array(try Data(contentsOf: $0)) }
        let folder = try TemporaryFolder("hostile-mutations")
        var random = SplitMix64(seed: 0xD0_7B21_0000 &+ UInt64(feed.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
        var exits: [Int32: Int] = [:]
        var expected = 0
        var applied = 0
        var rejected = 0
        var lost = 0
        var duplicated = 0
        var refusals: [String: Int] = [:]
        var reasons: [String: Int] = [:]
        var slowest: Duration = .zero
        var wrong: [String] = []
        let checker = FeedChecker(feed: definition, context: CheckContext(today: LocalDateFor.checkDay))
        let start = ContinuousClock.now
        for index in 0..<Self.perFeed {
            let seed = Int.random(in: 0..<inputs.count, using: &random)
            let mutated = Self.mutator.mutate(inputs[seed], seeds: inputs, using: &random)
            let name = seeds[seed].lastPathComponent
            let path = try folder.write(name, mutated)
            let work = folder.path("work-\(index)")
            var sink = CountingSink()
            let began = ContinuousClock.now
            let result = checker.check(
                checkInput(path, for: definition, attachments: work), name: name, sha256: String(format: "%064x", index), sink: &sink)
            slowest = max(slowest, ContinuousClock.now - began)
            try? FileManager.default.removeItem(atPath: work)
            exits[result.exitStatus, default: 0] += 1
            if ![0, 1, 2].contains(result.exitStatus) { wrong.append("\(index): exit \(result.exitStatus)") }
            if result.rowsRead != result.accepted + result.rejected || sink.calls != result.accepted || sink.rejectedRows != result.rejected {
                wrong.append(
                    "\(index) (\(name)): read \(result.rowsRead), accepted \(result.accepted) (\(sink.calls) calls), rejected \(result.rejected) (\(sink.rejectedRows) rows)"
                )
            }
            expected += result.rowsRead
            applied += sink.calls
            rejected += sink.rejectedRows
            lost += max(0, result.rowsRead - sink.calls - sink.rejectedRows)
            duplicated += sink.duplicateKeys
            if let refusal = result.refusal { refusals[refusal.code, default: 0] += 1 }
            for (code, count) in sink.reasons { reasons[code, default: 0] += count }
        }
        let elapsed = ContinuousClock.now - start
        print(
            "mutations \(feed): \(Self.perFeed) files in \(elapsed) (slowest \(slowest)); exits \(exits.sorted { $0.key < $1.key }); refusals \(refusals)"
        )
        #expect(wrong.isEmpty, "\(wrong.prefix(10).joined(separator: "\n"))")
        #expect(duplicated == 0 && lost == 0)
        let refusedFiles = refusals.values.reduce(0, +)
        record(
            "mutated fixtures through FeedChecker: \(feed)",
            runs: Self.perFeed, expected: expected, applied: applied, lost: lost, duplicated: duplicated, refused: rejected,
            reasons:
                "exit 0/1/2 \(exits[0] ?? 0)/\(exits[1] ?? 0)/\(exits[2] ?? 0); rows: \(SuiteTable.reasons(reasons, limit: 3)); files refused \(refusedFiles): \(SuiteTable.reasons(refusals, limit: 3))",
            ok: wrong.isEmpty)
    }

    @Test("a sample of mutated files through the dqt-bridge binary: no crash, exit 0/1/2, JSON report always written")
    func mutatedThroughBinary() throws {
        let folder = try TemporaryFolder("hostile-mutations-cli")
        var random = SplitMix64(seed: 20_261_121)
        var wrong: [String] = []
        var runs = 0
        var exits: [Int32: Int] = [:]
        for feed in catalog.feeds.map(\.id) {
            let seeds = fixtures(of: feed)
            let inputs = try seeds.map { Array(try Data(contentsOf: $0)) }
            for _ in 0..<8 {
                let seed = Int.random(in: 0..<inputs.count, using: &random)
                let path = try folder.write(seeds[seed].lastPathComponent, Self.mutator.mutate(inputs[seed], seeds: inputs, using: &random))
                let report = folder.path("r.json")
                try? FileManager.default.removeItem(atPath: report)
                let run = try runBridge([
                    "check", path, "--feed", feed, "--today", checkDay, "--report", report, "--records", folder.path("r.ndjson"), "--rejects",
                    folder.path("r.csv"),
                ])
                runs += 1
                exits[run.status, default: 0] += 1
                let parsed = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report)))) != nil
                if run.signal != nil || ![0, 1, 2].contains(run.status) || !parsed {
                    wrong.append("\(feed) \(seeds[seed].lastPathComponent): \(run), report \(parsed)")
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.joined(separator: "\n"))")
        record(
            "mutated fixtures through the dqt-bridge binary (8 per feed)", runs: runs, expected: runs, applied: (exits[0] ?? 0) + (exits[1] ?? 0),
            refused: exits[2] ?? 0, reasons: "exit 2 (file refused) x\(exits[2] ?? 0); crashes \(wrong.count)", ok: wrong.isEmpty)
    }
}
