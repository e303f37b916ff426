import BridgeReport
import DQTModel
import Foundation
import Testing

/// The run report holds no value from any file: what it shows comes from the ledger (names, states, counts, codes,
/// fields, columns, messages), escaped for HTML, and a file's digest only in part.
@Suite("Run report: its JSON document, and HTML that shows nothing it should not")
struct RunReportTests {
    static let started = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11-18T11:06:40Z
    static let sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    static let hostile = #"<img src=x onerror="alert('x')">&amp;"#

    static func file(
        id: Int64 = 7, state: String = "published", sourcePath: String = "in/ind_2026.csv", reason: String? = nil, sender: String? = nil,
        attachments: [String] = []
    ) -> RunReport.File {
        RunReport.File(
            id: id, feed: "ewc-induction", feedStatus: "live", name: (sourcePath as NSString).lastPathComponent, sourcePath: sourcePath,
            origin: "sftp", state: state, sha256: sha256, size: 120, rowsRead: 3, accepted: 2, rejected: 1, published: 2, failed: 0,
            reason: reason, errorMessage: nil, archivePath: "archive/20261118110640-01234567-ind_2026.csv", duplicateOf: nil,
            sender: sender, attachments: attachments)
    }

    static func report(
        exitStatus: Int? = 1, files: [RunReport.File] = [file()], refused: [RunReport.RefusedRow]? = nil,
        notListed: [Int64: Int] = [:], error: String? = nil
    ) -> RunReport {
        RunReport(
            runID: 42, command: "run", status: "refusals", exitStatus: exitStatus, startedAt: started,
            finishedAt: started.addingTimeInterval(125), host: "bridge-1", pid: 4242, feeds: ["ewc-induction"],
            summary: "1 file, 1 row refused", error: error, files: files,
            refused: refused ?? [
                RunReport.RefusedRow(
                    fileID: 7, line: 3, outcome: "rejected", apiStatus: nil, key: nil,
                    reasons: [RunReport.Reason(code: "rule-error", field: "passDate", column: "PASS_DATE", message: "pass-after-start")])
            ],
            refusedNotListed: notListed)
    }

    @Test("the JSON document: the run, the totals, every file and the refused rows with their reasons, in this order")
    func jsonDocument() {
        #expect(
            Self.report().json.serialized == """
                {"run":{"id":42,"command":"run","status":"refusals","exitStatus":1,"startedAt":"2026-11-18T11:06:40Z",\
                "finishedAt":"2026-11-18T11:08:45Z","host":"bridge-1","pid":4242,"feeds":["ewc-induction"],"error":null,\
                "summary":"1 file, 1 row refused"},\
                "totals":{"files":1,"rowsRead":3,"accepted":2,"rejected":1,"published":2,"failed":0},\
                "files":[{"id":7,"feed":"ewc-induction","feedStatus":"live","name":"ind_2026.csv","sourcePath":"in/ind_2026.csv",\
                "origin":"sftp","state":"published","sha256":"\(Self.sha256)","size":120,"rowsRead":3,"accepted":2,"rejected":1,\
                "published":2,"failed":0,"reason":null,"error":null,"archivePath":"archive/20261118110640-01234567-ind_2026.csv",\
                "duplicateOf":null,"sender":null,"attachments":[],"refusedRowsNotListed":0}],\
                "refusedRows":[{"fileId":7,"line":3,"outcome":"rejected","apiStatus":null,"key":null,\
                "reasons":[{"code":"rule-error","field":"passDate","column":"PASS_DATE","message":"pass-after-start"}]}],"exports":[]}
                """)
    }

    @Test("an export: its range, file, counts, hash, state and destination in the JSON; in the HTML, never its content")
    func exportMembers() {
        var report = Self.report()
        report.exports = [
            RunReport.Export(
                id: 3, feed: "capita-export-new", fileName: "Reg01_DTR_20261206_030000_New.txt", range: "(10.4, 12.9]", records: 2, size: 172,
                sha256: Self.sha256, state: "failed", destination: "sftp://dqt@sftp:22/capita/outbound", attempts: 2, resendOf: nil,
                failureReason: "sftp: connection lost")
        ]
        #expect(
            report.json.serialized.hasSuffix(
                #""exports":[{"id":3,"feed":"capita-export-new","fileName":"Reg01_DTR_20261206_030000_New.txt","range":"(10.4, 12.9]","records":2,"size":172,"sha256":"\#(Self.sha256)","state":"failed","destination":"sftp://dqt@sftp:22/capita/outbound","attempts":2,"resendOf":null,"failureReason":"sftp: connection lost"}]}"#
            ))
        #expect(report.html.contains("<h2>Exports</h2>") && report.html.contains("failed: sftp: connection lost"))
    }

    @Test("a refused row names its line, outcome, status, key and reasons, and nothing else")
    func refusedRowMembers() throws {
        let row = RunReport.RefusedRow(
            fileID: 7, line: 9, outcome: "failed", apiStatus: 422, key: "ewc-induction-00ff",
            reasons: [RunReport.Reason(code: "invalid", field: nil, column: nil, message: "trn is not known")])
        let json = Self.report(refused: [row]).json
        guard case .array(let rows)? = json["refusedRows"], case .object(let members)? = rows.first else {
            Issue.record("no refused row in \(json.serialized)")
            return
        }
        #expect(members.map(\.0) == ["fileId", "line", "outcome", "apiStatus", "key", "reasons"])
        #expect(
            json["refusedRows"]?.serialized == """
                [{"fileId":7,"line":9,"outcome":"failed","apiStatus":422,"key":"ewc-induction-00ff",\
                "reasons":[{"code":"invalid","field":null,"column":null,"message":"trn is not known"}]}]
                """)
    }

    @Test("HTML escapes every text taken from a file or the ledger")
    func htmlEscapesLedgerText() {
        let hostile = Self.hostile
        let file = Self.file(state: "quarantined", sourcePath: "in/\(hostile).csv", reason: hostile, sender: hostile, attachments: [hostile])
        let refused = RunReport.RefusedRow(
            fileID: 7, line: 3, outcome: "rejected", apiStatus: nil, key: nil,
            reasons: [RunReport.Reason(code: hostile, field: hostile, column: hostile, message: hostile)])
        let html = Self.report(exitStatus: 2, files: [file], refused: [refused], error: hostile).html
        #expect(!html.contains("<img"), "markup from the ledger reached the page")
        #expect(!html.contains("onerror=\""))
        #expect(!html.contains("<script"))
        let escaped = "&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;amp;"
        // The path, reason, sender, attachments, the reason's code, field, column and message, and the run's error.
        #expect(html.components(separatedBy: escaped).count - 1 == 9, "\(html)")
    }

    @Test("HTML shows a file's SHA-256 by its first 16 digits only")
    func htmlShortensTheDigest() {
        let html = Self.report().html
        #expect(html.contains("sha256 0123456789abcdef..."))
        #expect(!html.contains(Self.sha256))
        #expect(Self.report().json.serialized.contains(Self.sha256), "the JSON keeps the whole digest for operators")
    }

    @Test("refused rows beyond those listed are counted per file")
    func refusedRowsNotListed() {
        let report = Self.report(notListed: [7: 120])
        #expect(report.json.serialized.contains(#""refusedRowsNotListed":120"#))
        #expect(report.html.contains("File 7: 120 more refused rows not listed"))
    }

    @Test(
        "the verdict follows the exit status",
        arguments: [
            (0 as Int?, "verdict ok\">All good"),
            (1, "verdict partial\">Finished with refused rows or files"),
            (nil, "verdict partial\">Still running or interrupted"),
            (2, "verdict refused\">The run failed"),
        ])
    func verdict(_ exitStatus: Int?, _ expected: String) {
        #expect(Self.report(exitStatus: exitStatus).html.contains(expected))
    }
}
