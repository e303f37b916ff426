import BridgeReport
import DQTModel
import DQTTesting
import FeedMapping
import Foundation
import Testing

/// Binary and archive files under text names are refused whole (exit 2, `binary-file`), through the command and
/// through FeedChecker, for delimited, fixed-width and emailed feeds; nothing becomes a record.
@Suite("hostile files: binary and archives named as text", .timeLimit(.minutes(10)))
struct RefusedFilesTests {
    /// A real zip archive holding one CSV, made with Python's zipfile (python3 is in scripts/setup.sh).
    static func zip(containing csv: String, in folder: TemporaryFolder) throws -> [UInt8] {
        let target = folder.path("made.zip")
        let result = try ChildProcess.run(
            "/usr/bin/python3",
            [
                "-c",
                """
                import sys, zipfile
                with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
                    z.writestr("IND_20261120.csv", sys.argv[2])
                """, target, csv,
            ])
        try #require(result.status == 0, "\(result)")
        return Array(try Data(contentsOf: URL(fileURLWithPath: target)))
    }

    static func gzip(_ text: String, in folder: TemporaryFolder) throws -> [UInt8] {
        let target = folder.path("made.gz")
        let result = try ChildProcess.run(
            "/usr/bin/python3", ["-c", "import sys, gzip; open(sys.argv[1], 'wb').write(gzip.compress(sys.argv[2].encode()))", target, text])
        try #require(result.status == 0, "\(result)")
        return Array(try Data(contentsOf: URL(fileURLWithPath: target)))
    }

    @Test("ELF, zip, xlsx-like, gzip, PDF, PNG and NUL-filled files named .csv/.txt: exit 2, binary-file, no records")
    func binaryFilesAreRefused() throws {
        let folder = try TemporaryFolder()
        let good = try String(contentsOf: repositoryRoot.appendingPathComponent("fixtures/ewc-induction/good/IND_20261120_0800.csv"), encoding: .utf8)
        let binary = Array(try Data(contentsOf: URL(fileURLWithPath: try bridgeBinary())).prefix(1 << 20))
        let zip = try Self.zip(containing: good, in: folder)
        let contents: [(String, [UInt8])] = [
            ("elf", binary),
            ("zip", zip),
            ("gzip", try Self.gzip(good, in: folder)),
            ("pdf", Array("%PDF-1.7\n%\u{e2}\u{e3}\n1 0 obj << /Type /Catalog >> endobj\n".utf8) + [0, 1, 2, 3]),
            ("png", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]),
            ("nul-in-header", Array("REFERENCE_NO,FIRST\u{0}NAME\n".utf8) + Array(good.utf8)),
            ("utf-16", [0xFF, 0xFE] + Array(good.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })),
        ]
        var runs = 0
        var refused: [String: Int] = [:]
        var wrong: [String] = []
        for (kind, bytes) in contents {
            for (feed, name) in [
                ("ewc-induction", "IND_\(kind).csv"), ("capita-register", "Reg01_DTR_\(kind)_New.txt"),
                ("capita-import", "DQT_TPS_Import_\(kind).txt"),
            ] {
                runs += 1
                let path = try folder.write(name, bytes)
                let run = try runBridge([
                    "check", path, "--today", checkDay, "--records", folder.path("r.ndjson"),
                    "--report", folder.path("r.json"), "--rejects", folder.path("r.csv"),
                ])
                let records = (try? String(contentsOfFile: folder.path("r.ndjson"), encoding: .utf8)) ?? ""
                let report =
                    (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.path("r.json"))))) as? [String: Any]
                if run.status == 2 && run.signal == nil && run.stdout.contains("binary-file") && records.isEmpty && report != nil {
                    refused["binary-file", default: 0] += 1
                } else {
                    wrong.append("\(feed) \(kind): \(run) records \(records.count) bytes, report \(report == nil ? "missing" : "ok")")
                }
                // The same through FeedChecker.
                var sink = CountingSink()
                let definition = try #require(catalog.feed(id: feed))
                let result = FeedChecker(feed: definition, context: CheckContext(today: LocalDateFor.checkDay))
                    .check(.file(path: path), name: name, sha256: String(repeating: "0", count: 64), sink: &sink)
                if result.refusal?.code != "binary-file" || sink.calls != 0 || result.exitStatus != 2 {
                    wrong.append("\(feed) \(kind) via FeedChecker: refusal \(String(describing: result.refusal)), \(sink.calls) calls")
                }
            }
        }
        // An email whose CSV attachment is really a zip.
        let eml = """
            Authentication-Results: mx.tq.education.gov.example; dkim=pass header.d=ewc.wales.example\r
            From: alerts@ewc.wales.example\r
            To: tq-unit@education.gov.example\r
            Subject: notices\r
            MIME-Version: 1.0\r
            Content-Type: multipart/mixed; boundary="b1"\r
            \r
            --b1\r
            Content-Type: text/csv; name="notices.csv"\r
            Content-Disposition: attachment; filename="notices.csv"\r
            Content-Transfer-Encoding: base64\r
            \r
            \(Data(zip).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed]))\r
            --b1--\r

            """
        let emlPath = try folder.write("zip-attachment.eml", Array(eml.utf8))
        let mail = try runBridge(["check", emlPath, "--today", checkDay])
        runs += 1
        if mail.status == 2 && mail.stdout.contains("binary-file") {
            refused["binary-file", default: 0] += 1
        } else {
            wrong.append("eml with a zip attachment: \(mail)")
        }
        #expect(wrong.isEmpty, "\(wrong.joined(separator: "\n"))")
        record(
            "binary and archive files named .csv/.txt/.eml attachment (\(contents.count) kinds, 3 feeds + email)", runs: runs,
            expected: 0, applied: 0, refused: refused.values.reduce(0, +), reasons: SuiteTable.reasons(refused), ok: wrong.isEmpty)
    }
}

enum LocalDateFor {
    static let checkDay = LocalDate(iso: "2026-11-21")!
}
