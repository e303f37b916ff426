import Foundation
import Testing

@testable import FeedMapping

/// A small valid mapping; each test breaks one thing in it.
let baseMapping = """
    # a test mapping
    id: test-feed
    title: Test feed
    partner: Nobody
    replaces: "nothing"
    status: shadow
    record: WelshInductionOutcome
    files: ["IND*.csv"]
    format:
      kind: delimited
      encoding: utf-8
      header: true
    fields:
      trn: {column: REFERENCE_NO, type: trn, required: true}
      dateOfBirth: {column: DATE_OF_BIRTH, type: date, format: dd/MM/yyyy, required: true, past: true, pii: true}
      startDate: {column: START_DATE, type: date, format: dd/MM/yyyy, required: true}
      passDate: {column: PASS_DATE, type: date, format: dd/MM/yyyy}
      failDate: {column: FAIL_DATE, type: date, format: dd/MM/yyyy}
      status: {column: IND_STATUS_NAME, type: enum, lookup: inductionStatus, required: true}
    lookups:
      inductionStatus:
        caseInsensitive: true
        entries: {Pass: Pass, Fail: Fail}
    rules:
      - id: pass-date-for-pass
        message: a Pass needs a PASS_DATE
        requiredWhen: {field: passDate, when: {status: Pass}}
      - id: pass-after-start
        message: the pass date is before the start date
        notBefore: {field: passDate, other: startDate}
    operation:
      method: PUT
      path: /v3/persons/{trn}/welsh-induction

    """

@Suite("Mapping loader: every mistake is located by file and line")
struct LoaderTests {
    @Test("the base mapping loads")
    func baseLoads() throws {
        let feed = try loadMapping(baseMapping)
        #expect(feed.id == "test-feed")
        #expect(feed.fields.map(\.name) == ["trn", "dateOfBirth", "startDate", "passDate", "failDate", "status"])
        #expect(feed.rules.map(\.id) == ["pass-date-for-pass", "pass-after-start"])
        #expect(feed.fields.first { $0.name == "dateOfBirth" }?.pii == true)
        #expect(feed.operation.placeholders == ["trn"])
    }

    @Test("every committed mapping loads")
    func committedMappingsLoad() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let mappings = root.appendingPathComponent("mappings").path
        let catalog = try FeedCatalog.load(directory: mappings)
        let files = try FileManager.default.contentsOfDirectory(atPath: mappings).filter { $0.hasSuffix(".yaml") }
        #expect(!files.isEmpty)
        #expect((catalog.feeds.map(\.id) + catalog.outboundFeeds.map(\.id)).sorted() == files.map { String($0.dropLast(".yaml".count)) }.sorted())
        #expect(catalog.feeds(matching: "ind_2026.CSV").map(\.id) == ["ewc-induction"])
        #expect(catalog.feeds(matching: "Reg01_DTR_20261120_030000_Amend.txt").map(\.id) == ["capita-register"])
        #expect(catalog.feeds(matching: "/some/folder/Workforce-Dataset-2-20261025-1329.csv").map(\.id) == ["tps-workforce"])
        #expect(catalog.feeds(matching: "report.pdf").isEmpty)
    }

    /// (what is wrong, text replaced, replacement, the text on the line the error must name, words the message must have)
    static let mistakes: [(String, String, String, String, String)] = [
        ("unknown field", "  trn: {column: REFERENCE_NO", "  teacherRef: {column: REFERENCE_NO", "teacherRef:", "unknown field 'teacherRef'"),
        (
            "unknown type", "startDate: {column: START_DATE, type: date,", "startDate: {column: START_DATE, type: when,", "type: when",
            "unknown type 'when'"
        ),
        (
            "unknown lookup", "lookup: inductionStatus,", "lookup: inductionStatusCodes,", "lookup: inductionStatusCodes",
            "unknown lookup 'inductionStatusCodes'"
        ),
        ("unknown rule field", "requiredWhen: {field: passDate,", "requiredWhen: {field: passedDate,", "- id: pass-date-for-pass", "passedDate"),
        ("unknown condition field", "when: {status: Pass}", "when: {outcome: Pass}", "- id: pass-date-for-pass", "outcome"),
        (
            "notBefore on a non-date", "notBefore: {field: passDate, other: startDate}", "notBefore: {field: passDate, other: status}", "notBefore:",
            "not a date field"
        ),
        ("unknown top-level key", "partner: Nobody", "partnr: Nobody", "partnr:", "unknown key 'partnr'"),
        ("unknown field option", "type: trn, required: true}", "type: trn, requird: true}", "  trn:", "unknown key 'requird'"),
        ("unknown record type", "record: WelshInductionOutcome", "record: WelshInduction", "record:", "unknown record type"),
        ("unknown status", "status: shadow", "status: paused", "status: paused", "status must be one of"),
        ("id and file name differ", "id: test-feed", "id: other-feed", "id: other-feed", "must equal the file's name"),
        (
            "wrong kind of type", "passDate: {column: PASS_DATE, type: date, format: dd/MM/yyyy}", "passDate: {column: PASS_DATE, type: text}",
            "type: text", "holds a date value"
        ),
        (
            "bad date format", "failDate: {column: FAIL_DATE, type: date, format: dd/MM/yyyy}",
            "failDate: {column: FAIL_DATE, type: date, format: dd/QQ/yyyy}", "format: dd/QQ/yyyy", "format must use"
        ),
        (
            "lookup output the record refuses", "entries: {Pass: Pass, Fail: Fail}", "entries: {Pass: Passed, Fail: Fail}", "lookup: inductionStatus",
            "does not accept"
        ),
        (
            "unknown path placeholder", "path: /v3/persons/{trn}/welsh-induction", "path: /v3/persons/{teacher}/welsh-induction",
            "path: /v3/persons/{teacher}", "cannot fill '{teacher}'"
        ),
        ("unknown encoding", "encoding: utf-8", "encoding: ebcdic", "encoding: ebcdic", "encoding must be one of"),
        (
            "position in a header mapping twice", "  failDate: {column: FAIL_DATE,", "  failDate: {column: FAIL_DATE, position: 6,", "failDate:",
            "not both"
        ),
        (
            "a field mapped twice", "  failDate: {column: FAIL_DATE, type: date, format: dd/MM/yyyy}",
            "  failDate: {column: FAIL_DATE, type: date, format: dd/MM/yyyy}\n  failDate: {column: PASS_DATE, type: date, format: dd/MM/yyyy}",
            "  failDate: {column: PASS_DATE", "failDate"
        ),
        ("a rule without a kind", "notBefore: {field: passDate, other: startDate}", "severity: high", "severity: high", "unknown key 'severity'"),
    ]

    @Test("a mistake names the file and its line", arguments: 0..<19)
    func locatedMistake(_ index: Int) throws {
        let (what, original, replacement, lineText, words) = Self.mistakes[index]
        #expect(baseMapping.contains(original), "\(what): the base mapping changed")
        let text = baseMapping.replacingOccurrences(of: original, with: replacement)
        let error = try #require(mappingError(text), "\(what): the mapping loaded")
        #expect(error.file == "/mappings/test-feed.yaml", "\(what)")
        if what == "a field mapped twice" {
            // YAML itself refuses the duplicate key: either occurrence is a fair location, line 0 is not.
            #expect([line(of: lineText, in: text) - 1, line(of: lineText, in: text)].contains(error.line), "\(what): \(error)")
        } else {
            #expect(error.line == line(of: lineText, in: text), "\(what): \(error)")
        }
        #expect(error.message.contains(words), "\(what): \(error.message)")
        #expect(error.description.hasPrefix("/mappings/test-feed.yaml:\(error.line): "))
    }

    @Test("a record's mandatory field must be mapped")
    func mandatoryField() throws {
        let text = baseMapping.replacingOccurrences(
            of: "  startDate: {column: START_DATE, type: date, format: dd/MM/yyyy, required: true}\n", with: "")
        let error = try #require(mappingError(text))
        #expect(error.message.contains("startDate"), "\(error)")
        #expect(error.line >= 1)
    }

    @Test("YAML that does not parse is located")
    func invalidYAML() throws {
        let text = baseMapping.replacingOccurrences(of: "title: Test feed", with: "title: [Test feed")
        let error = try #require(mappingError(text))
        #expect(error.message.contains("not valid YAML"))
        #expect(error.line > 0)
    }

    @Test("fixed width: columns past the line length and continuations that name no type are located")
    func fixedWidthMistakes() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let original = try String(contentsOf: root.appendingPathComponent("mappings/capita-register.yaml"), encoding: .utf8)
        _ = try loadMapping(original, id: "capita-register")
        let tooLong = original.replacingOccurrences(of: "forenames: {columns: 43-77", with: "forenames: {columns: 43-97")
        let error = try #require(mappingError(tooLong, id: "capita-register"))
        #expect(error.message.contains("past the line length"), "\(error)")
        let noType = original.replacingOccurrences(
            of: "continuation: {flag: 42, value: \"1\", type: \"2018Z981\"", with: "continuation: {flag: 42, value: \"1\", type: \"2018Z982\"")
        let error2 = try #require(mappingError(noType, id: "capita-register"))
        #expect(error2.line == line(of: "continuation: {flag: 42", in: noType), "\(error2)")
        let badWidth = original.replacingOccurrences(of: "- code: \"1211ZE1*\"", with: "- code: \"1211ZE1\"")
        let error3 = try #require(mappingError(badWidth, id: "capita-register"))
        #expect(error3.line == line(of: "- code: \"1211ZE1\"", in: badWidth), "\(error3)")
        #expect(error3.message.contains("8 characters"))
    }

    @Test("a catalog reports every broken mapping, not just the first")
    func catalogCollectsErrors() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("catalog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for id in ["first-feed", "second-feed"] {
            let text = baseMapping.replacingOccurrences(of: "id: test-feed", with: "id: \(id)").replacingOccurrences(
                of: "type: trn,", with: "type: tnr,")
            try Data(text.utf8).write(to: folder.appendingPathComponent("\(id).yaml"))
        }
        do {
            _ = try FeedCatalog.load(directory: folder.path)
            Issue.record("the catalog loaded")
        } catch {
            #expect(error.errors.count == 2)
            #expect(
                error.errors.allSatisfy {
                    $0.line == line(of: "type: tnr", in: baseMapping.replacingOccurrences(of: "type: trn,", with: "type: tnr,"))
                })
        }
    }
}
