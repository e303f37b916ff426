import Foundation
import Testing

@testable import FeedMapping

/// Each kind of mistake in an outbound mapping fails to load, located by file, line and key.
@Suite("Outbound mapping checks")
struct OutboundLintTests {
    static let mapping = try! String(contentsOf: repositoryRoot.appendingPathComponent("mappings/capita-export-new.yaml"), encoding: .utf8)
    static let csvMapping = try! String(contentsOf: repositoryRoot.appendingPathComponent("mappings/prohibitions-ewc.yaml"), encoding: .utf8)

    /// (what, text replaced, replacement, text of the line the error names (nil: the replaced line), message part)
    static let mistakes: [(name: String, original: String, mistake: String, located: String?, message: String)] = [
        ("unknown key", "emptyFile: skip", "emptyFiles: skip", nil, "unknown key 'emptyFiles'"),
        ("unknown kind", "kinds: [person.created]", "kinds: [person.create]", nil, "unknown kind 'person.create'"),
        (
            "unknown field", "25-41: {field: after.lastName,", "25-41: {field: after.surname,", nil,
            "unknown field 'after.surname' for kind person.created"
        ),
        (
            "unknown item field", "1-7: {field: trn}\n        8:", "1-7: {field: teacher}\n        8:", "1-7: {field: teacher}",
            "unknown field 'teacher'"
        ),
        ("overlapping columns", "        24: blank\n", "        23-24: blank\n", "23-24: blank", "columns 23-24 overlap the columns before them"),
        ("missing columns", "        78: blank\n", "", "79-86: {value: \"1018Z981\"}", "columns 78 are not declared"),
        ("past the line length", "79-86: {value: \"2018Z981\"}", "79-87: {value: \"2018Z981\"}", nil, "columns 79-87 go past the line length 86"),
        ("bad file name pattern", "{HHmmss}_New.txt", "{HHmmsz}_New.txt", nil, "unknown token {HHmmsz}"),
        ("unknown destination kind", "  sftp: capita/outbound", "  s3: capita/outbound", nil, "unknown key 's3'"),
        ("bad date layout", "date: ddMMyy,", "date: ddMMqq,", nil, "unknown date layout"),
        (
            "unknown lookup", "lookup: genderCode}\n        9-17", "lookup: genderCodes}\n        9-17",
            "8: {field: after.gender, lookup: genderCodes}", "unknown lookup 'genderCodes'"
        ),
        (
            "personal data not marked", "{field: after.dateOfBirth, date: ddMMyy, pii: true}", "{field: after.dateOfBirth, date: ddMMyy}", nil,
            "needs pii: true"
        ),
        ("unknown schedule", "  daily: \"03:00\"", "  daily: \"3am\"", nil, "must be a time of day HH:mm"),
        ("bad direction", "direction: outbound", "direction: sideways", nil, "direction: must be inbound or outbound"),
    ]

    @Test("each mistake is refused at its line", arguments: 0..<mistakes.count)
    func mistake(_ index: Int) throws {
        let mistake = Self.mistakes[index]
        #expect(Self.mapping.contains(mistake.original), "the mapping changed: update \(mistake.name)")
        let text = Self.mapping.replacingOccurrences(of: mistake.original, with: mistake.mistake)
        let located = mistake.located ?? mistake.mistake.components(separatedBy: "\n")[0]
        let expectedLine = line(of: located, in: text)
        do {
            _ = try LoadedMapping.parse(text, file: "/mappings/capita-export-new.yaml")
            Issue.record("\(mistake.name): loaded")
        } catch {
            #expect(error.line == expectedLine, "\(mistake.name): \(error)")
            #expect(error.message.contains(mistake.message), "\(mistake.name): \(error)")
            #expect(error.description.hasPrefix("/mappings/capita-export-new.yaml:\(expectedLine): "))
        }
    }

    @Test("delimited layouts: unknown quoting and fixed-width keys are refused")
    func delimitedMistakes() {
        for (original, mistake, message) in [
            ("quoting: minimal", "quoting: some", "layout.quoting: must be minimal or all"),
            ("  header: true", "  lineLength: 86", "layout.lineLength: a delimited layout declares its columns under columns"),
            ("  encoding: utf-8", "  encoding: ebcdic", "layout.encoding: must be one of"),
            ("  lineEnd: crlf", "  lineEnd: cr", "layout.lineEnd: must be crlf or lf"),
        ] {
            let text = Self.csvMapping.replacingOccurrences(of: original, with: mistake)
            do {
                _ = try LoadedMapping.parse(text, file: "/mappings/prohibitions-ewc.yaml")
                Issue.record("\(mistake): loaded")
            } catch {
                #expect(error.line == line(of: mistake, in: text), "\(error)")
                #expect(error.message.contains(message), "\(error)")
            }
        }
    }

    @Test("an outbound feed naming an inbound feed no mapping defines is refused by the catalog")
    func unknownInboundFeed() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("outbound-lint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("mappings/tps-workforce-problems.yaml"), encoding: .utf8)
        try Data(text.utf8).write(to: folder.appendingPathComponent("tps-workforce-problems.yaml"))
        do {
            _ = try FeedCatalog.load(directory: folder.path)
            Issue.record("loaded without tps-workforce")
        } catch {
            #expect(error.errors.map(\.message) == ["names the inbound feed 'tps-workforce', which no mapping defines"])
        }
    }

    @Test("an inbound mapping may say direction: inbound; check's own-feed load skips an outbound mapping")
    func directions() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("outbound-dir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let inbound = try String(contentsOf: repositoryRoot.appendingPathComponent("mappings/ewc-induction.yaml"), encoding: .utf8)
        try Data(inbound.replacingOccurrences(of: "\nstatus:", with: "\ndirection: inbound\nstatus:").utf8)
            .write(to: folder.appendingPathComponent("ewc-induction.yaml"))
        try Data(Self.mapping.utf8).write(to: folder.appendingPathComponent("capita-export-new.yaml"))
        let catalog = try FeedCatalog.load(directory: folder.path)
        #expect(catalog.feeds.map(\.id) == ["ewc-induction"] && catalog.outboundFeeds.map(\.id) == ["capita-export-new"])
        #expect(try FeedCatalog.loadFeed(id: "capita-export-new", directory: folder.path) == nil)
        #expect(try FeedCatalog.loadFeed(id: "ewc-induction", directory: folder.path)?.id == "ewc-induction")
    }
}
