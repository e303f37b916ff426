import DQTModel
import Foundation
import Testing

@testable import FeedMapping

@Suite("Drafting a mapping from a sample file")
struct MappingDraftTests {
    /// Writes `bytes` as `name` in a fresh folder, runs `body` with its path.
    func withSample<T>(_ name: String, _ bytes: [UInt8], _ body: (String) throws -> T) throws -> T {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("draft-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return try body(path)
    }

    @Test("delimiter, encoding, types, date formats and personal data guessed; the draft loads and checks its sample")
    func draftsAndLoads() throws {
        var text = "Teacher Ref;Surname;Date of Birth;NI Number;Outcome;Outcome Date;Hours;Notes\r\n"
        let outcomes = ["Pass", "Fail", "Pass", "Extended"]
        for index in 0..<40 {
            let day = String(format: "%02d", index % 28 + 1)
            text +=
                "\(1_000_100 + index);Synth\(index);\(day)/03/1985;AB12\(String(format: "%04d", index))C;\(outcomes[index % 4]);2026-07-\(day);\(index * 3)"
            text += ";note \(index) caf\u{E9}\r\n"
        }
        // Windows-1252: the é is one byte 0xE9, not valid UTF-8.
        let bytes = Array(text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) })
        let yaml = try withSample("RESULTS_20261120.csv", bytes) { path in
            try MappingDraft.make(id: "test-feed", samplePath: path, method: nil, path: nil).yaml
        }
        #expect(yaml.contains("encoding: windows-1252"))
        #expect(yaml.contains(#"delimiter: ";""#))
        #expect(yaml.contains(#"files: ["RESULTS_*.csv"]"#))
        #expect(yaml.contains(#"trn: {column: "Teacher Ref", type: trn, required: true}"#), "\(yaml)")
        #expect(yaml.contains(#"surname: {column: "Surname", type: text, maxLength: 7, required: true, pii: true}"#), "\(yaml)")
        #expect(
            yaml.contains(#"dateOfBirth: {column: "Date of Birth", type: date, format: "dd/MM/yyyy", past: true, required: true, pii: true}"#),
            "\(yaml)")
        #expect(yaml.contains(#"niNumber: {column: "NI Number", type: nino, required: true, pii: true}"#), "\(yaml)")
        #expect(yaml.contains(#"outcome: {column: "Outcome", type: enum, lookup: outcomeCodes, required: true}"#), "\(yaml)")
        #expect(yaml.contains(#"entries: {"Pass": "Pass", "Fail": "Fail", "Extended": "Extended"}"#), "\(yaml)")
        #expect(yaml.contains(#"outcomeDate: {column: "Outcome Date", type: date, format: "yyyy-MM-dd", required: true}"#), "\(yaml)")
        #expect(yaml.contains(#"hours: {column: "Hours", type: integer, required: true}"#), "\(yaml)")
        #expect(yaml.contains("status: legacy"))

        let feed = try loadMapping(yaml)
        #expect(feed.record == nil && feed.operation.path == "/v3/persons/{trn}")
        let (result, sink) = try check(mapping: yaml, content: bytes, name: "RESULTS_20261120.csv")
        #expect(result.refusal == nil && result.rejected == 0, "\(result.errors)")
        #expect(sink.calls.count == 40 && sink.calls.first?.path == "/v3/persons/1000100")
    }

    @Test("a UTF-8 byte-order mark, a pipe delimiter, quoted cells, timestamps and an operation with a body")
    func draftsABody() throws {
        var text = "\u{FEFF}trn|status|start date|updated|email\n"
        for index in 0..<6 {
            text +=
                "\(1_000_200 + index)|\(index % 2 == 0 ? "IP" : "RTC")|\"2026-09-0\(index + 1)\"|2026-11-20 16:45:0\(index)|a\(index)@example.org\n"
        }
        let yaml = try withSample("hub.txt", Array(text.utf8)) { path in
            try MappingDraft.make(id: "test-feed", samplePath: path, method: "PUT", path: "/v3/persons/{trn}/cpd-induction").yaml
        }
        #expect(yaml.contains("encoding: utf-8  # a byte-order mark was found"))
        #expect(yaml.contains(#"delimiter: "|""#))
        #expect(yaml.contains(#"updated: {column: "updated", type: timestamp, format: "yyyy-MM-dd HH:mm:ss", required: true}"#), "\(yaml)")
        #expect(yaml.contains(#"email: {column: "email", type: text, maxLength: 14, required: true, pii: true}"#), "\(yaml)")
        #expect(yaml.contains("    status: status  # check (required)"), "\(yaml)")
        #expect(yaml.contains("    # modifiedOn: FIELD  (required)"), "\(yaml)")
        // The analyst's part: the status codes and the time of change are not the contract's yet, so lint says what.
        let error = try #require(mappingError(yaml))
        #expect(error.code == "body-enum-error", "\(error)")
    }

    @Test("personal data is never listed: a name column with few values stays text")
    func personalDataNotListed() throws {
        var text = "trn,Last Name,Contact\n"
        for index in 0..<20 { text += "\(1_000_400 + index),\(index % 2 == 0 ? "Rowe" : "Pryce"),x\(index % 2)@example.org\n" }
        let yaml = try withSample("people.csv", Array(text.utf8)) { path in
            try MappingDraft.make(id: "test-feed", samplePath: path, method: nil, path: nil).yaml
        }
        #expect(yaml.contains(#"lastName: {column: "Last Name", type: text, maxLength: 5, required: true, pii: true}"#), "\(yaml)")
        #expect(yaml.contains(#"contact: {column: "Contact", type: text, maxLength: 14, required: true, pii: true}"#), "\(yaml)")
        #expect(!yaml.contains("Rowe") && !yaml.contains("example.org"))
    }

    @Test("an operation whose properties match no column: the body is left to the analyst, and loading asks for it")
    func unmatchedBody() throws {
        let yaml = try withSample("deaths.csv", Array("trn,when\n1000001,2026-01-01\n1000002,2026-01-02\n".utf8)) { path in
            try MappingDraft.make(id: "test-feed", samplePath: path, method: "PUT", path: "/v3/persons/deceased/{trn}").yaml
        }
        #expect(yaml.contains("  # body:") && yaml.contains("    # dateOfDeath: FIELD  (required)"), "\(yaml)")
        #expect(mappingError(yaml)?.code == "body-missing")
    }

    @Test("no TRN column and no operation: refused with what to do")
    func needsAnOperation() throws {
        let text = "name,code\nA,1\nB,2\n"
        #expect(throws: DraftError.self) {
            try withSample("x.csv", Array(text.utf8)) { path in try MappingDraft.make(id: "x", samplePath: path, method: nil, path: nil) }
        }
    }

    @Test("only the first rows are read")
    func capsRows() throws {
        var text = "trn,value\n"
        for index in 0..<5000 { text += "\(1_000_000 + index),\(index)\n" }
        let table = try withSample("big.csv", Array(text.utf8)) { path in try SampleTable.read(path: path, maxRows: 1000) }
        #expect(table.rows.count == 1000 && table.truncated)
    }
}
