import BridgeReport
import Foundation
import Testing

@testable import FeedMapping

@Suite("Rejected-rows CSV: safe in a spreadsheet, correctly quoted")
struct RejectedRowsCSVTests {
    @Test(
        "cells that a spreadsheet would run as a formula are neutralised",
        arguments: [
            ("=1+1", "'=1+1"),
            ("+44 20 7946 0000", "'+44 20 7946 0000"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
            ("\tcmd", "'\tcmd"),
            ("\r=1+1", "\"'\r=1+1\""),
            ("=HYPERLINK(\"http://x.example\",\"click\")", "\"'=HYPERLINK(\"\"http://x.example\"\",\"\"click\"\")\""),
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ])
    func formulaNeutralised(_ input: String, _ expected: String) {
        #expect(RejectedRowsCSV.cell(input) == expected)
    }

    @Test(
        "ordinary cells are left alone or quoted per RFC 4180",
        arguments: [
            ("1000001", "1000001"),
            ("Llŷnffug", "Llŷnffug"),
            ("", ""),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("two\nlines", "\"two\nlines\""),
            ("two\r\nlines", "\"two\r\nlines\""),
            ("1=1", "1=1"),
            ("a-b", "a-b"),
            ("***", "***"),
        ])
    func ordinaryCells(_ input: String, _ expected: String) {
        #expect(RejectedRowsCSV.cell(input) == expected)
    }

    @Test("the export: header, one line per rejected row, every cell neutralised, CRLF")
    func export() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rejects-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("rejects.csv").path
        var outputs = try CheckOutputs(recordsPath: nil, rejectsPath: path, unmasked: false)
        try outputs.rejected(
            RejectedRow(
                line: 7,
                problems: [
                    Problem(
                        line: 7, field: "status", column: "IND_STATUS_NAME", code: "constraint-error",
                        message: "the code has no entry in lookup inductionStatus"),
                    Problem(
                        line: 7, field: "passDate", column: "PASS_DATE", code: "rule-error",
                        message: "pass-after-start: the pass date is before the start date"),
                ],
                values: ["1000002", "***", "=1+1", "-5", "@x", "a,b", "\"q\""], text: nil
            ))
        try outputs.rejected(RejectedRow(line: 9, problems: [Problem(line: 9, code: "encoding-error", message: "bad bytes")], values: nil, text: nil))
        try outputs.finish()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(
            text == """
                line,codes,fields,messages,values\r
                7,constraint-error; rule-error,status; passDate,the code has no entry in lookup inductionStatus; pass-after-start: the pass date is before the start date,1000002,***,'=1+1,'-5,'@x,"a,b",\"""q\"""\r
                9,encoding-error,,bad bytes,(row not shown: it could not be split into values)\r

                """)
    }
}
