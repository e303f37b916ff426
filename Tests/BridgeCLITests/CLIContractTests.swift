import DQTTesting
import Foundation
import Testing

/// The `dqt-bridge` command-line contract that operators and scripts rely on: feed resolution, exit statuses, `feeds`,
/// `mappings lint`, idempotency keys, and no personal data on the terminal.
@Suite("dqt-bridge command-line contract")
struct CLIContractTests {
    let goodInduction = repositoryRoot.appendingPathComponent("fixtures/ewc-induction/good/IND_20261120_0800.csv")

    /// A temp copy of `mappings/`, with `edit` applied to one mapping's text.
    func mappingsCopy(editing file: String? = nil, _ edit: (String) -> String = { $0 }) throws -> TemporaryFolder {
        let folder = try TemporaryFolder()
        let source = repositoryRoot.appendingPathComponent("mappings")
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) where name.hasSuffix(".yaml") {
            var text = try String(contentsOf: source.appendingPathComponent(name), encoding: .utf8)
            if name == file { text = edit(text) }
            try Data(text.utf8).write(to: folder.url.appendingPathComponent(name))
        }
        try FileManager.default.copyItem(at: source.appendingPathComponent("estate"), to: folder.url.appendingPathComponent("estate"))
        return folder
    }

    @Test("the feed is found from the file name, case-insensitively")
    func feedFromFileName() throws {
        let folder = try TemporaryFolder()
        let copy = folder.path("ind_20261120.CSV")
        try FileManager.default.copyItem(atPath: goodInduction.path, toPath: copy)
        let run = try runBridge(["check", copy, "--today", checkDay])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.hasPrefix("ewc-induction ind_20261120.CSV:"), "\(run.stdout)")
    }

    @Test("a name no feed matches exits 2 naming the candidates")
    func noFeedMatches() throws {
        let folder = try TemporaryFolder()
        let copy = folder.path("unknown-exchange.csv")
        try FileManager.default.copyItem(atPath: goodInduction.path, toPath: copy)
        let run = try runBridge(["check", copy, "--today", checkDay])
        #expect(run.status == 2)
        #expect(run.stderr.contains("unknown-exchange.csv"), "\(run.stderr)")
        for feed in feedIDs { #expect(run.stderr.contains(feed), "the message should name \(feed): \(run.stderr)") }
    }

    @Test("a name several feeds match exits 2 naming them")
    func severalFeedsMatch() throws {
        let mappings = try mappingsCopy(editing: "ewc-qts.yaml") {
            $0.replacingOccurrences(of: #"files: ["QTS*.csv"]"#, with: #"files: ["QTS*.csv", "IND_*.csv"]"#)
        }
        let run = try runBridge(["check", goodInduction.path, "--today", checkDay, "--mappings", mappings.url.path])
        #expect(run.status == 2)
        #expect(run.stderr.contains("several feeds"), "\(run.stderr)")
        #expect(run.stderr.contains("ewc-induction") && run.stderr.contains("ewc-qts"), "\(run.stderr)")
        #expect(!run.stderr.contains("tps-workforce"), "only the matching feeds are candidates: \(run.stderr)")
    }

    @Test("--feed overrides the file name; an unknown feed exits 2")
    func feedOption() throws {
        let folder = try TemporaryFolder()
        let copy = folder.path("induction-outcomes.dat")
        try FileManager.default.copyItem(atPath: goodInduction.path, toPath: copy)
        let run = try runBridge(["check", copy, "--feed", "ewc-induction", "--today", checkDay])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        // Even a name that matches another feed is read as the named feed.
        let qtsNamed = folder.path("QTS_misnamed.csv")
        try FileManager.default.copyItem(atPath: goodInduction.path, toPath: qtsNamed)
        let forced = try runBridge(["check", qtsNamed, "--feed", "ewc-induction", "--today", checkDay])
        #expect(forced.status == 0 && forced.stdout.hasPrefix("ewc-induction "), "\(forced.stdout)\(forced.stderr)")
        let unknown = try runBridge(["check", copy, "--feed", "no-such-feed", "--today", checkDay])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("no-such-feed"))
    }

    @Test("exit 1 when some rows are rejected, 2 when the file is refused, 2 for a wrong call")
    func exitStatuses() throws {
        let partial = try runBridge(["check", "fixtures/ewc-induction/malformed/IND_unknown_status.csv", "--today", checkDay])
        #expect(partial.status == 1, "\(partial.stdout)")
        let refused = try runBridge(["check", "fixtures/ewc-induction/malformed/IND_missing_column.csv", "--today", checkDay])
        #expect(refused.status == 2, "\(refused.stdout)")
        #expect(refused.stdout.contains("missing-label"))
        let binary = try runBridge(["check", "fixtures/ewc-induction/malformed/IND_binary.csv", "--today", checkDay])
        #expect(binary.status == 2)
        let missing = try runBridge(["check", "fixtures/ewc-induction/good/no-such-file-IND.csv"])
        #expect(missing.status == 2)
        let badDay = try runBridge(["check", goodInduction.path, "--today", "21/11/2026"])
        #expect(badDay.status == 2)
        let badReport = try runBridge(["check", goodInduction.path, "--report", "/tmp/report.txt"])
        #expect(badReport.status == 2)
        let unknownOption = try runBridge(["check", goodInduction.path, "--no-such-option"])
        #expect(unknownOption.status == 2)
    }

    @Test("feeds lists every feed of mappings/ with status and partner")
    func feedsCommand() throws {
        let run = try runBridge(["feeds"])
        #expect(run.status == 0)
        let lines = run.stdout.split(separator: "\n")
        let all = feedIDs + outboundFeedIDs
        #expect(lines.count == all.count + 1, "a header and \(all.count) feeds:\n\(run.stdout)")
        for feed in all { #expect(lines.contains { $0.hasPrefix(feed + " ") }, "feeds does not list \(feed)") }
        #expect(lines.contains { $0.contains("out:Reg01_DTR_{yyyyMMdd}_{HHmmss}_New.txt") }, "an outbound feed shows the name it writes")
        #expect(run.stdout.contains("live") && run.stdout.contains("shadow") && run.stdout.contains("retired"))
        #expect(run.stdout.contains("Education Workforce Council (Wales)"))
    }

    @Test("mappings lint passes on the committed mappings")
    func lintPasses() throws {
        let run = try runBridge(["mappings", "lint"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(!outboundFeedIDs.isEmpty)
        #expect(
            run.stdout.contains("\(feedIDs.count + outboundFeedIDs.count) mappings OK (\(feedIDs.count) inbound, \(outboundFeedIDs.count) outbound)"))
    }

    /// One mistake each; lint must exit 1 and name the file and the mistake's line.
    /// (what, text replaced, replacement, the text on the line the error must name: nil for the replaced line)
    static let lintMistakes: [(name: String, original: String, mistake: String, located: String?)] = [
        (
            "unknown field", "  trn: {column: REFERENCE_NO, type: trn, required: true}",
            "  teacherNumber: {column: REFERENCE_NO, type: trn, required: true}", nil
        ),
        ("unknown type", "  startDate: {column: START_DATE, type: date,", "  startDate: {column: START_DATE, type: calendar-date,", nil),
        ("unknown lookup", "type: enum, lookup: inductionStatus, required: true}", "type: enum, lookup: inductionStatuses, required: true}", nil),
        // A rule's mistake is located at the rule (its `- id:` line).
        (
            "unknown rule field", "requiredWhen: {field: passDate, when: {status: Pass}}", "requiredWhen: {field: passedOn, when: {status: Pass}}",
            "- id: pass-date-for-pass"
        ),
    ]

    @Test("mappings lint exits 1 naming file:line", arguments: 0..<4)
    func lintFindsMistake(_ index: Int) throws {
        let mistake = Self.lintMistakes[index]
        let original = try String(contentsOf: repositoryRoot.appendingPathComponent("mappings/ewc-induction.yaml"), encoding: .utf8)
        #expect(original.contains(mistake.original), "the mapping changed: update this test's mistake \(mistake.name)")
        let lineNumber = (original.components(separatedBy: "\n").firstIndex { $0.contains(mistake.located ?? mistake.original) } ?? -1) + 1
        let mappings = try mappingsCopy(editing: "ewc-induction.yaml") { $0.replacingOccurrences(of: mistake.original, with: mistake.mistake) }
        let run = try runBridge(["mappings", "lint", "--mappings", mappings.url.path])
        #expect(run.status == 1, "\(mistake.name): \(run.stdout)\(run.stderr)")
        let located = "\(mappings.url.path)/ewc-induction.yaml:\(lineNumber):"
        #expect(run.stdout.contains(located), "\(mistake.name): expected \(located) in:\n\(run.stdout)")
        #expect(run.stdout.split(separator: "\n").count == 1, "\(mistake.name): only the broken mapping is reported:\n\(run.stdout)")
        // check and feeds refuse to run on a broken mapping folder.
        let check = try runBridge(["check", goodInduction.path, "--mappings", mappings.url.path])
        #expect(check.status == 2)
    }

    @Test("mappings lint names an outbound mapping's mistake by file:line and key")
    func lintFindsOutboundMistake() throws {
        let original = "        25-41: {field: after.lastName, truncate: true, pii: true}"
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("mappings/capita-export-new.yaml"), encoding: .utf8)
        #expect(text.contains(original), "the mapping changed: update this test")
        let lineNumber = (text.components(separatedBy: "\n").firstIndex { $0 == original } ?? -1) + 1
        let mappings = try mappingsCopy(editing: "capita-export-new.yaml") {
            $0.replacingOccurrences(of: original, with: "        25-41: {field: after.surname, truncate: true, pii: true}")
        }
        let run = try runBridge(["mappings", "lint", "--mappings", mappings.url.path])
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        let located = "\(mappings.url.path)/capita-export-new.yaml:\(lineNumber): "
        #expect(run.stdout.contains(located + "layout.records[0].columns.25-41: unknown field 'after.surname'"), "\(run.stdout)")
        #expect(run.stdout.split(separator: "\n").count == 1, "only the broken mapping is reported:\n\(run.stdout)")
    }

    @Test("record keys: the same on every run, different for other content, <= 100 chars of [0-9a-z-]")
    func idempotencyKeys() throws {
        let first = try checkFixture(goodInduction.path)
        let second = try checkFixture(goodInduction.path)
        func keys(_ records: String) -> [String] {
            records.split(separator: "\n").compactMap { jsonObject(String($0))?["key"] as? String }
        }
        #expect(!keys(first.records).isEmpty)
        #expect(keys(first.records) == keys(second.records))
        #expect(first.records == second.records)
        #expect(Set(keys(first.records)).count == keys(first.records).count, "keys are unique within a file")
        // Same rows, one byte changed in the last row (same line numbers): every key changes.
        let folder = try TemporaryFolder()
        var bytes = try Data(contentsOf: goodInduction)
        let index = bytes.lastIndex(of: UInt8(ascii: "l"))!  // "fail" -> "faiL" in the last row
        bytes[index] = UInt8(ascii: "L")
        let changed = folder.path("IND_20261120_0800.csv")
        try bytes.write(to: URL(fileURLWithPath: changed))
        let other = try checkFixture(changed)
        #expect(keys(other.records).count == keys(first.records).count)
        #expect(Set(keys(other.records)).isDisjoint(with: Set(keys(first.records))))
        // The same content under another name and folder keeps its keys.
        let renamed = folder.path("IND_copy.csv")
        try FileManager.default.copyItem(atPath: goodInduction.path, toPath: renamed)
        #expect(keys(try checkFixture(renamed).records) == keys(first.records))
        for key in keys(first.records) + keys(other.records) {
            #expect(key.count <= 100 && key.allSatisfy { ("0"..."9").contains($0) || ("a"..."z").contains($0) || $0 == "-" })
        }
    }

    @Test("emailed records are keyed by their attachment: a resent notice, or the same CSV attached twice, keeps its keys")
    func emailedRecordKeysFollowTheAttachment() throws {
        let original = repositoryRoot.appendingPathComponent("fixtures/prohibition-notices/good/ewc-notices-20261120-base64.eml")
        let text = try String(contentsOf: original, encoding: .utf8)
        func keys(_ records: String) -> [String] {
            records.split(separator: "\n").compactMap { jsonObject(String($0))?["key"] as? String }
        }
        let first = keys(try checkFixture(original.path).records)
        #expect(!first.isEmpty && Set(first).count == first.count)

        let folder = try TemporaryFolder()
        // Another email (new date and message id) carrying the same attachment.
        let resent = folder.path("ewc-notices-resent.eml")
        try text.replacingOccurrences(of: "Date: Fri, 20 Nov 2026 09:15:00 +0000", with: "Date: Mon, 23 Nov 2026 08:00:00 +0000")
            .replacingOccurrences(of: "<fixture@mail.example>", with: "<resent@mail.example>")
            .write(toFile: resent, atomically: true, encoding: .utf8)
        #expect(keys(try checkFixture(resent).records) == first)

        // One email carrying the same CSV twice, under two names: the second copy's records repeat the first's keys.
        let part = try #require(text.range(of: "--=_bnd_1\r\nContent-Type: text/csv") ?? text.range(of: "--=_bnd_1\nContent-Type: text/csv"))
        let end = try #require(text.range(of: "--=_bnd_1--"))
        let attachment = String(text[part.lowerBound..<end.lowerBound])
        let twice = folder.path("ewc-notices-twice.eml")
        try text.replacingCharacters(
            in: end.lowerBound..<end.lowerBound,
            with: attachment.replacingOccurrences(of: "prohibitions.csv", with: "prohibitions-copy.csv")
        )
        .write(toFile: twice, atomically: true, encoding: .utf8)
        let doubled = keys(try checkFixture(twice).records)
        #expect(doubled == first + first)
    }

    @Test("no personal data on the terminal, even with the rejected rows unmasked")
    func noPersonalDataOnTheTerminal() throws {
        for fixture in allFixtures {
            let folder = try TemporaryFolder()
            let run = try runBridge(["check", fixture.url.path, "--today", checkDay, "--unmask", "--rejects", folder.path("R.csv")])
            let leaked = personalDataFound(in: run.stdout + run.stderr)
            #expect(leaked.isEmpty, "\(fixture): \(leaked.count) personal value(s) printed")
        }
        for arguments in [["feeds"], ["mappings", "lint"], ["check", "--help"]] {
            let run = try runBridge(arguments)
            #expect(personalDataFound(in: run.stdout + run.stderr).isEmpty)
        }
    }

    @Test("the rejected-rows CSV masks personal data unless --unmask")
    func rejectsMasking() throws {
        let masked = try checkFixture("fixtures/ewc-induction/malformed/IND_rule_violations.csv")
        #expect(masked.rejects.hasPrefix("line,codes,fields,messages,values\r\n"))
        #expect(masked.rejects.contains("***"))
        #expect(personalDataFound(in: masked.rejects, includingDates: true).isEmpty)
        let unmasked = try checkFixture("fixtures/ewc-induction/malformed/IND_rule_violations.csv", extra: ["--unmask"])
        #expect(unmasked.rejects.contains("Siâneg"), "--unmask leaves the names in the export")
    }
}
