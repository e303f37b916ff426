import BridgeRun
import DQTModel
import DQTTesting
import FeedMapping
import FileSources
import Foundation
import Testing

/// A full run over every live and shadow feed's fixtures (good and malformed), with `dqt-api` as its own process:
/// everything either program writes (the bridge's JSON logs at trace level and its summary, `status` and `report`
/// output, the API's JSON logs) is scanned for every name, date of birth (in every layout the inputs use, and ISO)
/// and NI number found in the input files, and the names, employer name and dates of birth of a synthetic file whose
/// mapping sends them nowhere.
@Suite(
    "security: no personal data in a full run's logs", .serialized,
    .enabled(if: BridgeHarness.binaryAndServicesAvailable))
struct PersonalDataLogTests {
    @Test("a run over every live and shadow feed's fixtures logs no name, date of birth or NI number from them")
    func fullRunLogsNoPersonalData() async throws {
        try await BridgeHarness.with { h in
            let mappings = joinPath(BridgeHarness.repository, "mappings")
            let catalog = try FeedCatalog.load(directory: mappings)
            var placed: [(feed: FeedDefinition, path: String)] = []
            func place(_ source: String, for feed: FeedDefinition) throws {
                guard let folder = feed.source.folder else { return }
                let name = (source as NSString).lastPathComponent
                try h.place(try Data(contentsOf: URL(fileURLWithPath: source)), in: folder, as: name)
                if let marker = feed.source.doneMarkerSuffix { try h.place(Data(), in: folder, as: name + marker) }
                placed.append((feed, source))
            }
            for feed in catalog.feeds where feed.status.isPolled && feed.source.folder != nil {
                for kind in ["good", "malformed"] {
                    let fixtures = joinPath(BridgeHarness.repository, "fixtures", feed.id, kind)
                    for name in ((try? FileManager.default.contentsOfDirectory(atPath: fixtures)) ?? []).sorted() {
                        try place(joinPath(fixtures, name), for: feed)
                    }
                }
            }
            // Files with values found by name rather than through the mapping: the names of accepted ewc-induction
            // rows (sent to the API in no body, so not among the values below), an employer's name, an impossible
            // date of birth in a refused row, a full name in an emailed notice.
            for (feedID, name, content) in [
                ("ewc-induction", "IND_pii.csv", Synthetic.induction(good: 5, bad: 2)),
                ("prohibition-notices", "notice.eml", Synthetic.notices(from: "alerts@ewc.wales.example")),
            ] {
                let source = joinPath(h.scratch, name)
                try content.write(toFile: source, atomically: true, encoding: .utf8)
                try place(source, for: try #require(catalog.feeds.first { $0.id == feedID }))
            }
            var personal = try PersonalData.values(in: placed, scratch: h.scratch)
            #expect(personal.count >= 30, "too few personal values found in the fixtures to mean anything: \(personal.count)")
            for (kind, texts) in [
                ("name", ["Siâneg", "Llŷnffug", "Ffugiâd", "Ffug Person"]), ("employer name", ["Ysgol Ffug"]),
                ("date of birth", ["07/03/1974", "1974-03-07", "31/02/1974"]),
            ] {
                for text in texts { personal.insert(PersonalData.Value(kind: kind, text: text)) }
            }

            let api = try await APIProcess.start(databaseURL: h.apiDatabaseURL, log: joinPath(h.scratch, "dqt-api.log"), httpClient: h.httpClient)
            var configuration = try h.configuration()
            configuration.api.baseURL = api.baseURL
            let config = try h.writeConfigurationFile(configuration)
            let trace = ["DQT_BRIDGE_LOG_LEVEL": "trace"]
            let run = try bridgeProcess(
                ["run", "--config", config, "--today", BridgeHarness.today], harness: h, environment: trace,
                output: joinPath(h.scratch, "run.log"))
            let status = await run.wait()
            var outputs = [("dqt-bridge run", run.output)]
            for command in [["status", "--config", config], ["report", "last", "--config", config]] {
                let process = try bridgeProcess(command, harness: h, environment: trace, output: joinPath(h.scratch, "\(command[0]).log"))
                _ = await process.wait()
                outputs.append(("dqt-bridge \(command[0])", process.output))
            }
            await api.service.stop()
            outputs.append(("dqt-api", api.service.output))
            #expect(status == 1, "the run ends with refusals (malformed fixtures): \(run.output.suffix(2000))")

            let live = placed.filter { $0.feed.status.publishes }.map { file in
                PlacedFile(
                    feed: file.feed.id, folder: "", name: (file.path as NSString).lastPathComponent,
                    content: FileManager.default.contents(atPath: file.path) ?? Data())
            }
            let verdict = try await h.verdict(expected: try await BridgeHarness.expectedWrites(live, scratch: h.scratch), reference: nil)
            #expect(verdict.exact && verdict.applied > 0, "\(verdict)")
            var lines = 0
            var found: [String] = []
            for (origin, text) in outputs {
                for line in text.split(separator: "\n") {
                    lines += 1
                    for value in personal where PersonalData.contains(line, value) {
                        found.append("\(origin): \(value.kind) '\(value.text)' found in: \(line.prefix(400))")
                    }
                }
            }
            #expect(lines > 100, "too few log lines captured: \(lines)")
            #expect(found.isEmpty, "\(found.count) personal values in the logs:\n\(found.prefix(20).joined(separator: "\n"))")
            let refused = try h.refusals()
            SuiteTable.append(
                SuiteRow(
                    suite: "security",
                    scenario: "full run's logs scanned for personal data (\(placed.count) fixture files, \(Set(placed.map(\.feed.id)).count) feeds)",
                    runs: 1, expected: verdict.expected, applied: verdict.applied, lost: verdict.lost, duplicated: verdict.duplicated,
                    refused: refused.rows,
                    reasons: "\(lines) log lines x \(personal.count) names/DOBs/NI numbers: \(found.count) found; "
                        + SuiteTable.reasons(refused.reasons, limit: 4),
                    ok: found.isEmpty && lines > 100 && verdict.exact && verdict.applied > 0))
        }
    }
}

/// The personal values in input files, found through their mappings: the `pii` fields of accepted records (from the
/// request bodies) and of rejected rows (the positions the checker masks), dates of birth in every layout.
enum PersonalData {
    struct Value: Hashable {
        let kind: String
        let text: String
    }

    /// Body members that carry a person's name, date of birth or NI number.
    static let bodyKinds: [String: String] = [
        "firstName": "name", "middleName": "name", "lastName": "name", "previousLastName": "name", "fullName": "name",
        "forenames": "name", "dateOfBirth": "date of birth", "nationalInsuranceNumber": "NI number",
    ]

    static func values(in files: [(feed: FeedDefinition, path: String)], scratch: String) throws -> Set<Value> {
        var values = Set<Value>()
        let context = CheckContext(today: LocalDate(iso: BridgeHarness.today)!)
        for (index, file) in files.enumerated() {
            let work = joinPath(scratch, "pii-\(index)")
            let input: CheckInput =
                file.feed.email == nil
                ? .file(path: file.path) : .email(Result { try MailIntake.read(emlPath: file.path, into: work) })
            let name = (file.path as NSString).lastPathComponent
            var masked = Collector(unmasked: false)
            var plain = Collector(unmasked: true)
            _ = FeedChecker(feed: file.feed, context: context).check(input, name: name, sha256: "", sink: &masked)
            _ = FeedChecker(feed: file.feed, context: context).check(input, name: name, sha256: "", sink: &plain)
            for body in plain.bodies { collect(body, into: &values) }
            for (maskedRow, plainRow) in zip(masked.rejected, plain.rejected) {
                guard let maskedRow, let plainRow else { continue }
                for (shown, value) in zip(maskedRow, plainRow) where shown == "***" && value != "***" {
                    add(value, kind: "personal value", into: &values)
                }
            }
        }
        return values
    }

    static func collect(_ value: Any, into values: inout Set<Value>) {
        if let object = value as? [String: Any] {
            for (name, member) in object {
                if let kind = bodyKinds[name], let text = member as? String {
                    add(text, kind: kind, into: &values)
                } else {
                    collect(member, into: &values)
                }
            }
        } else if let array = value as? [Any] {
            for member in array { collect(member, into: &values) }
        }
    }

    /// The value itself (trimmed) and, for a date, every layout the inputs use and ISO; for an NI number, spaced too.
    static func add(_ raw: String, kind: String, into values: inout Set<Value>) {
        let text = raw.trimmingCharacters(in: .whitespaces)
        guard text.count >= 3 else { return }
        values.insert(Value(kind: kind, text: text))
        // A date of birth is in the past; a later date is a refused value, and its digits are also how file names
        // carry the day they were made (AB_Induction_20261121.csv), which the logs name by right.
        if let (year, month, day) = date(text), String(format: "%04d-%02d-%02d", year, month, day) < BridgeHarness.today {
            let y = String(format: "%04d", year)
            let m = String(format: "%02d", month)
            let d = String(format: "%02d", day)
            for layout in ["\(d)/\(m)/\(y)", "\(y)-\(m)-\(d)", "\(y)\(m)\(d)", "\(d)\(m)\(y.suffix(2))", "\(day)/\(month)/\(y)"] {
                values.insert(Value(kind: "date of birth", text: layout))
            }
        }
        let compact = text.replacingOccurrences(of: " ", with: "").uppercased()
        if compact.count == 9, NationalInsuranceNumber(compact) != nil {
            values.insert(Value(kind: "NI number", text: compact))
            let characters = Array(compact)
            let spaced = [0, 2, 4, 6, 8].map { String(characters[$0..<min($0 + 2, 9)]) }.joined(separator: " ")
            values.insert(Value(kind: "NI number", text: spaced))
        }
    }

    /// A date written dd/MM/yyyy, yyyy-MM-dd (optionally with a time), yyyyMMdd or ddMMyy.
    static func date(_ text: String) -> (Int, Int, Int)? {
        let digits = text.filter(\.isNumber)
        let parts = text.split(whereSeparator: { !$0.isNumber }).map(String.init)
        var result: (Int, Int, Int)?
        if parts.count >= 3, parts[0].count == 4 {
            result = (Int(parts[0])!, Int(parts[1])!, Int(parts[2])!)
        } else if parts.count == 3, parts[2].count == 4 {
            result = (Int(parts[2])!, Int(parts[1])!, Int(parts[0])!)
        } else if parts.count == 1, digits.count == 8 {
            result = (Int(digits.prefix(4))!, Int(digits.dropFirst(4).prefix(2))!, Int(digits.suffix(2))!)
        } else if parts.count == 1, digits.count == 6 {
            let year = Int(digits.suffix(2))!
            result = (year < 30 ? 2000 + year : 1900 + year, Int(digits.dropFirst(2).prefix(2))!, Int(digits.prefix(2))!)
        }
        guard let (year, month, day) = result, (1900...2100).contains(year), (1...12).contains(month), (1...31).contains(day) else { return nil }
        return (year, month, day)
    }

    /// Whether `line` holds `value` as a whole word (not inside a longer run of letters or digits, so a date's
    /// digits inside a hash do not count).
    static func contains(_ line: Substring, _ value: Value) -> Bool {
        var searchFrom = line.startIndex
        while let range = line.range(of: value.text, range: searchFrom..<line.endIndex) {
            let before = range.lowerBound > line.startIndex ? line[line.index(before: range.lowerBound)] : " "
            let after = range.upperBound < line.endIndex ? line[range.upperBound] : " "
            if !(before.isLetter || before.isNumber) && !(after.isLetter || after.isNumber) { return true }
            searchFrom = line.index(after: range.lowerBound)
        }
        return false
    }

    /// Records what a check finds: request bodies and rejected rows' values.
    struct Collector: CheckSink {
        let unmasked: Bool
        var bodies: [Any] = []
        var rejected: [[String]?] = []

        var wantsCalls: Bool { true }
        var wantsRejectedValues: Bool { true }

        mutating func accepted(_ call: PlannedCall) throws {
            if let body = call.body, let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) { bodies.append(object) }
        }

        mutating func rejected(_ row: RejectedRow) throws { rejected.append(row.values) }
    }
}
