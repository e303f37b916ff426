import DQTTesting
import Foundation
import Testing

/// The day every check in these tests is judged on, so the golden files never change with the calendar.
let checkDay = "2026-11-21"

/// Runs `dqt-bridge` with `arguments` in the repository root (so `mappings/` is found as in daily use).
func runBridge(_ arguments: [String], in directory: URL = repositoryRoot) throws -> ChildProcessResult {
    try ChildProcess.run(try bridgeBinary(), arguments, in: directory.path)
}

/// One fixture file: `fixtures/<feed>/<kind>/<name>`.
struct Fixture: CustomStringConvertible, Sendable {
    let feed: String
    let kind: String
    let name: String
    var url: URL { repositoryRoot.appendingPathComponent("fixtures/\(feed)/\(kind)/\(name)") }
    var expectedFolder: URL { repositoryRoot.appendingPathComponent("fixtures/\(feed)/expected") }
    func expected(_ suffix: String) -> URL { expectedFolder.appendingPathComponent("\(name).\(suffix)") }
    var description: String { "\(feed)/\(kind)/\(name)" }
}

/// Every mapping file's feed id with its direction (a top-level `direction: outbound` line, else inbound).
let mappingIDs: [(id: String, outbound: Bool)] = {
    let folder = repositoryRoot.appendingPathComponent("mappings")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
    return names.filter { $0.hasSuffix(".yaml") }.sorted().map { name in
        let text = (try? String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)) ?? ""
        return (String(name.dropLast(5)), text.split(separator: "\n").contains("direction: outbound"))
    }
}()

/// The inbound feeds (they read fixtures), by mapping file.
let feedIDs: [String] = mappingIDs.filter { !$0.outbound }.map(\.id)

/// The outbound feeds (they write files), by mapping file.
let outboundFeedIDs: [String] = mappingIDs.filter(\.outbound).map(\.id)

/// Every good and malformed fixture of every feed, in a stable order.
let allFixtures: [Fixture] = {
    var result: [Fixture] = []
    for feed in feedIDs {
        for kind in ["good", "malformed"] {
            let folder = repositoryRoot.appendingPathComponent("fixtures/\(feed)/\(kind)").path
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted() where !name.hasPrefix(".") {
                result.append(Fixture(feed: feed, kind: kind, name: name))
            }
        }
    }
    return result
}()

/// What a fixture check produced, with the output files read back.
struct CheckRun {
    let run: ChildProcessResult
    let records: String
    let reportJSON: String
    let reportHTML: String
    let rejects: String
}

/// `dqt-bridge check FILE --today ... --records --report json --report html --rejects` into a temp folder.
func checkFixture(_ path: String, extra: [String] = []) throws -> CheckRun {
    let folder = try TemporaryFolder()
    let run = try runBridge(
        [
            "check", path, "--today", checkDay,
            "--records", folder.path("R.ndjson"), "--report", folder.path("R.json"), "--report", folder.path("R.html"),
            "--rejects", folder.path("R.csv"),
        ] + extra)
    func read(_ name: String) -> String {
        (try? String(contentsOfFile: folder.path(name), encoding: .utf8)) ?? ""
    }
    return CheckRun(run: run, records: read("R.ndjson"), reportJSON: read("R.json"), reportHTML: read("R.html"), rejects: read("R.csv"))
}

/// Personal data of the synthetic persons (fixtures/api/persons.ndjson) in every form the fixtures write it:
/// names (any case), NI numbers (plain and spaced), dates of birth in each legacy layout.
let personalData: [String] = {
    let url = repositoryRoot.appendingPathComponent("fixtures/api/persons.ndjson")
    guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
    var values: Set<String> = []
    for line in text.split(separator: "\n") {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
        for key in ["firstName", "middleName", "lastName"] {
            if let name = object[key] as? String, name.count >= 4 { values.insert(name) }
        }
        if let nino = object["nationalInsuranceNumber"] as? String {
            values.insert(nino)
            let c = Array(nino)
            values.insert("\(c[0])\(c[1]) \(c[2])\(c[3]) \(c[4])\(c[5]) \(c[6])\(c[7]) \(c[8])")
        }
        if let dob = object["dateOfBirth"] as? String {
            let p = dob.split(separator: "-").map(String.init)
            values.insert("\(p[2])/\(p[1])/\(p[0])")  // dd/MM/yyyy
            values.insert("\(p[0])\(p[1])\(p[2])")  // yyyyMMdd
            values.insert("\(p[2])\(p[1])\(p[0].suffix(2))")  // ddMMyy
        }
    }
    return values.sorted()
}()

/// The names and dates of birth found in `text` (case-insensitive for names).
func personalDataFound(in text: String, includingDates: Bool = true) -> [String] {
    let lowered = text.lowercased()
    return personalData.filter { value in
        let isDate = value.allSatisfy { $0.isNumber || $0 == "/" }
        if isDate && !includingDates { return false }
        return lowered.contains(value.lowercased())
    }
}

/// Golden files are rewritten instead of compared when this is set.
var updatingGoldenFiles: Bool { ProcessInfo.processInfo.environment["DQT_UPDATE_GOLDEN"] == "1" }

/// Compares `actual` with the golden file (or rewrites it with DQT_UPDATE_GOLDEN=1).
func expectGolden(_ actual: String, _ url: URL, _ fixture: Fixture, sourceLocation: SourceLocation = #_sourceLocation) throws {
    if updatingGoldenFiles {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(actual.utf8).write(to: url)
        return
    }
    guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
        Issue.record(
            "\(fixture): no golden file \(url.lastPathComponent); run DQT_UPDATE_GOLDEN=1 swift test --filter BridgeCLITests and review it",
            sourceLocation: sourceLocation)
        return
    }
    if expected != actual {
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        let first = zip(e, a).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(e.count, a.count)
        let shownExpected = first < e.count ? String(e[first]) : "(end of file)"
        let shownActual = first < a.count ? String(a[first]) : "(end of file)"
        Issue.record(
            """
            \(fixture): \(url.lastPathComponent) differs from the golden file at line \(first + 1)
              expected: \(shownExpected.prefix(600))
              actual:   \(shownActual.prefix(600))
            """, sourceLocation: sourceLocation)
    }
}

/// The report JSON re-indented, one member per line, keeping its member order and every token as written, so a
/// golden diff points at one field.
func indentedJSON(_ text: String) -> String {
    var out = ""
    var depth = 0
    var inString = false
    var escaped = false
    let characters = Array(text.trimmingCharacters(in: .whitespacesAndNewlines))
    func newline() { out += "\n" + String(repeating: "  ", count: depth) }
    var index = 0
    while index < characters.count {
        let c = characters[index]
        defer { index += 1 }
        if inString {
            out.append(c)
            if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
            continue
        }
        switch c {
        case "\"":
            inString = true
            out.append(c)
        case "{", "[":
            let closer: Character = c == "{" ? "}" : "]"
            if index + 1 < characters.count, characters[index + 1] == closer {
                out.append(c)
                out.append(closer)
                index += 1
            } else {
                out.append(c)
                depth += 1
                newline()
            }
        case "}", "]":
            depth -= 1
            newline()
            out.append(c)
        case ",":
            out.append(c)
            newline()
        case ":": out += ": "
        case " ", "\n", "\r", "\t": break
        default: out.append(c)
        }
    }
    return out + "\n"
}

func jsonObject(_ text: String) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
}

/// True when the test must run even if a tool is missing (it then fails instead of skipping).
var mustRunEverything: Bool { TestServices.isCI }

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
