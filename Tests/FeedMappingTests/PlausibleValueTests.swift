import DQTModel
import DQTTesting
import Foundation
import Testing

@testable import FeedMapping

/// The API's plausibility rules applied where a feed carries the field: the row is refused with its own code
/// before anything is sent. Each rule is one row of the hostile-input table.
@Suite("Plausible values in the mappings")
struct PlausibleValueTests {
    static let text = FieldType.text(TextConstraints())
    static let date = FieldType.date(DatePattern(validating: "dd/MM/yyyy")!, DateBounds())

    @Test("names: control characters and bidirectional overrides are refused, the rest is stored in NFC")
    func names() {
        var refused: [String: Int] = [:]
        for value in ["Fic\u{8}tiona", "Fic\u{85}tiona", "Fic\u{7F}tiona", "Fic\ttiona", "Fic\u{202E}tiona", "\u{2066}Fictiona\u{2069}"] {
            let converted = Self.text.convert(value)
            #expect(converted == .failure(code: "character-error"), "\(value.unicodeScalars.map { $0.value })")
            if case .failure(let code) = converted { refused[code, default: 0] += 1 }
        }
        // Swift's == treats canonically equivalent strings as equal: compare the code points.
        if case .text(let stored) = Self.text.value("Zoe\u{301}") {
            #expect(Array(stored.unicodeScalars) == Array("Zo\u{E9}".unicodeScalars))
        } else {
            Issue.record("a decomposed name was refused")
        }
        #expect(Self.text.value("Sampleby") == .text("Sampleby"))
        var multiline = TextConstraints()
        multiline.multiline = true
        #expect(FieldType.text(multiline).value("line one\r\nline\ttwo") == .text("line one\r\nline\ttwo"))
        #expect(FieldType.text(multiline).convert("bell\u{7}") == .failure(code: "character-error"))
        #expect(FieldType.text(multiline).convert("\u{202D}x") == .failure(code: "character-error"))
        SuiteTable.append(
            SuiteRow(
                suite: "hostile", scenario: "mapping text fields: control characters and bidi overrides", runs: 1, expected: 0,
                applied: 0, refused: refused.values.reduce(0, +), reasons: SuiteTable.reasons(refused), ok: refused.values.reduce(0, +) == 6))
    }

    @Test("dates: outside 1900-01-01...2099-12-31 refused with date-range-error")
    func dates() {
        var refused: [String: Int] = [:]
        for value in ["01/01/0001", "31/12/1899", "01/01/2100", "31/12/9999"] {
            let converted = Self.date.convert(value)
            #expect(converted == .failure(code: "date-range-error"), "\(value)")
            if case .failure(let code) = converted { refused[code, default: 0] += 1 }
        }
        #expect(Self.date.value("01/01/1900") == .date(LocalDate(year: 1900, month: 1, day: 1)!))
        #expect(Self.date.value("31/12/2099") == .date(LocalDate(year: 2099, month: 12, day: 31)!))
        SuiteTable.append(
            SuiteRow(
                suite: "hostile", scenario: "mapping date fields: implausible years (0001, 1899, 2100, 9999)", runs: 1, expected: 0,
                applied: 0, refused: refused.values.reduce(0, +), reasons: SuiteTable.reasons(refused), ok: refused.values.reduce(0, +) == 4))
    }

    @Test("a misspelt mapping key names the nearest valid one")
    func nearestKey() throws {
        let text = baseMapping.replacingOccurrences(of: "required: true, past: true", with: "requird: true, past: true")
        do {
            _ = try loadMapping(text)
            Issue.record("the mapping loaded")
        } catch {
            #expect(error.message.contains("unknown key 'requird'"))
            #expect(error.message.contains("did you mean 'required'?"))
            #expect(error.line == line(of: "requird", in: text))
        }
        #expect(NearestName.suggestion(for: "reportFolder", among: ["reportsFolder", "workFolder", "mappings"]) == "reportsFolder")
        #expect(NearestName.suggestion(for: "zzzzzz", among: ["reportsFolder", "workFolder"]) == nil)
    }

    @Test("a broken mapping is set aside when isolating; the others load; strict loading still fails")
    func brokenMappingIsolated() throws {
        let folder = try TemporaryFolder("catalog-isolating")
        try Data(baseMapping.replacingOccurrences(of: "id: test-feed", with: "id: good-feed").utf8).write(
            to: URL(fileURLWithPath: folder.path("good-feed.yaml")))
        let broken = baseMapping.replacingOccurrences(of: "id: test-feed", with: "id: bad-feed").replacingOccurrences(
            of: "type: trn,", with: "type: tnr,")
        try Data(broken.utf8).write(to: URL(fileURLWithPath: folder.path("bad-feed.yaml")))
        let catalog = try FeedCatalog.load(directory: folder.path, isolatingBroken: true)
        #expect(catalog.feeds.map(\.id) == ["good-feed"])
        #expect(catalog.broken.map(\.feed) == ["bad-feed"])
        #expect(catalog.broken.first?.summary.contains("bad-feed.yaml:\(line(of: "type: tnr", in: broken))") == true)
        #expect(throws: MappingErrors.self) { try FeedCatalog.load(directory: folder.path) }
    }
}
