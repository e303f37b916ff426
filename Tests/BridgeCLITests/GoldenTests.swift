import DQTTesting
import Foundation
import Testing

/// Every fixture through the built `dqt-bridge check`, compared with the golden files in
/// `fixtures/<feed>/expected/<fixture>.{records.ndjson,report.json,exit}`. `DQT_UPDATE_GOLDEN=1` rewrites them;
/// they are the specification, so review every change by eye.
@Suite("Golden files: every fixture of every feed")
struct GoldenTests {
    @Test("every feed has good and malformed fixtures")
    func everyFeedHasFixtures() {
        #expect(!feedIDs.isEmpty, "no mappings/*.yaml found")
        for feed in feedIDs {
            #expect(allFixtures.contains { $0.feed == feed && $0.kind == "good" }, "\(feed) has no good fixture")
            #expect(allFixtures.filter { $0.feed == feed && $0.kind == "malformed" }.count >= 3, "\(feed) needs several malformed fixtures")
        }
    }

    @Test("check output matches the golden files", arguments: allFixtures)
    func golden(_ fixture: Fixture) throws {
        // An email's feed follows from its sender, which a forged fixture does not prove: its folder names the feed.
        let result = try checkFixture(fixture.url.path, extra: fixture.name.hasSuffix(".eml") ? ["--feed", fixture.feed] : [])
        let run = result.run
        #expect(run.status == 0 || run.status == 1 || run.status == 2, "\(fixture): exit \(run.status)\n\(run.stderr)")
        try expectGolden("\(run.status)\n", fixture.expected("exit"), fixture)
        try expectGolden(result.records, fixture.expected("records.ndjson"), fixture)
        try expectGolden(indentedJSON(result.reportJSON), fixture.expected("report.json"), fixture)

        // What holds whatever the golden files say.
        let report = try #require(jsonObject(result.reportJSON), "\(fixture): the JSON report does not parse")
        #expect(report["feed"] as? String == fixture.feed, "\(fixture): the feed was not found from the file name")
        #expect(report["file"] as? String == fixture.name, "\(fixture): the report's file must be the base name")
        #expect(result.reportHTML.hasPrefix("<!doctype html>"), "\(fixture): no HTML report")
        let rows = report["rows"] as? [String: Any] ?? [:]
        let accepted = rows["accepted"] as? Int ?? -1
        let recordLines = result.records.split(separator: "\n").count
        #expect(recordLines == accepted, "\(fixture): \(recordLines) NDJSON records for \(accepted) accepted rows")
        if fixture.kind == "good" {
            #expect(run.status == 0, "\(fixture): a good file must be fully accepted\n\(run.stdout)\(run.stderr)")
            #expect(rows["rejected"] as? Int == 0 && report["refusal"] is NSNull, "\(fixture): a good file must have no rejected rows")
            #expect(accepted > 0, "\(fixture): a good file must give records")
        } else {
            let warned = (report["warningCount"] as? Int ?? 0) > 0
            #expect(run.status != 0 || warned, "\(fixture): a malformed fixture must be refused, reject rows or warn")
            let errors = report["errors"] as? [[String: Any]] ?? []
            for error in errors {
                #expect(error["line"] is Int, "\(fixture): an error without a line: \(error)")
                #expect((error["code"] as? String)?.isEmpty == false, "\(fixture): an error without a code")
            }
        }
        for line in result.records.split(separator: "\n") {
            let record = try #require(jsonObject(String(line)), "\(fixture): a records line is not JSON")
            for member in ["feed", "line", "key", "method", "path", "body"] {
                #expect(record[member] != nil, "\(fixture): a record without '\(member)'")
            }
            let key = record["key"] as? String ?? ""
            #expect(
                key.count <= 100 && !key.isEmpty && key.allSatisfy { ("0"..."9").contains($0) || ("a"..."z").contains($0) || $0 == "-" },
                "\(fixture): key '\(key)' is not at most 100 characters of [0-9a-z-]")
            #expect(record["feed"] as? String == fixture.feed)
        }

        // No name, date of birth or NI number from the input in what the command prints.
        let leaked = personalDataFound(in: run.stdout + run.stderr)
        #expect(leaked.isEmpty, "\(fixture): personal data on stdout/stderr: \(leaked.count) value(s)")
        // Nor names or NI numbers in the reports and the (masked) rejected-rows export.
        let leakedInReports = personalDataFound(in: result.reportJSON + result.reportHTML + result.rejects, includingDates: false)
        #expect(leakedInReports.isEmpty, "\(fixture): names or NI numbers in the report or the rejected rows: \(leakedInReports.count) value(s)")
    }

    @Test("no stray golden files")
    func noStrayGoldenFiles() throws {
        for feed in feedIDs {
            let folder = repositoryRoot.appendingPathComponent("fixtures/\(feed)/expected").path
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            let known = Set(
                allFixtures.filter { $0.feed == feed }.flatMap { f in ["exit", "records.ndjson", "report.json"].map { "\(f.name).\($0)" } })
            for name in names where !known.contains(name) {
                Issue.record("fixtures/\(feed)/expected/\(name) belongs to no fixture")
            }
        }
    }
}
