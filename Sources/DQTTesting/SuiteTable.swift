import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One line of the fault, crash, hostile-file and security suites' results table.
///
/// Columns: scenario, runs, records expected, applied, lost, duplicated, refused with reason. What a "record" is
/// depends on the scenario and is said in its name or reason: a row of a file, a write request, a batch operation.
/// `lost` and `duplicated` must be 0 for every scenario; `outcome` is the test's own verdict (`ok` or `FAIL`).
public struct SuiteRow: Sendable, Equatable {
    public var suite: String
    public var scenario: String
    public var runs: Int
    public var expected: Int
    public var applied: Int
    public var lost: Int
    public var duplicated: Int
    public var refused: Int
    /// The reasons for the refusals (codes or statuses, with counts), short.
    public var reasons: String
    public var outcome: String

    public init(
        suite: String, scenario: String, runs: Int, expected: Int, applied: Int, lost: Int = 0, duplicated: Int = 0,
        refused: Int = 0, reasons: String = "", ok: Bool
    ) {
        self.suite = suite
        self.scenario = scenario
        self.runs = runs
        self.expected = expected
        self.applied = applied
        self.lost = lost
        self.duplicated = duplicated
        self.refused = refused
        self.reasons = reasons
        self.outcome = ok && lost == 0 && duplicated == 0 ? "ok" : "FAIL"
    }

    /// The TSV line: epoch seconds, suite, scenario, runs, expected, applied, lost, duplicated, refused, reasons,
    /// outcome. Tabs and line breaks in text become spaces.
    public var tsv: String {
        func clean(_ text: String) -> String {
            String(text.unicodeScalars.map { $0 == "\t" || $0 == "\n" || $0 == "\r" ? " " : Character($0) })
        }
        let time = String(format: "%.3f", Date().timeIntervalSince1970)
        return [
            time, clean(suite), clean(scenario), "\(runs)", "\(expected)", "\(applied)", "\(lost)", "\(duplicated)",
            "\(refused)", clean(reasons), outcome,
        ].joined(separator: "\t")
    }
}

/// Appends the suites' rows to `out/suite-results.tsv` (or `$DQT_SUITE_RESULTS`), one `write` per row with
/// `O_APPEND`, so rows from tests running in parallel never interleave. `scripts/print-suite-results.sh` prints
/// them as one table.
public enum SuiteTable {
    public static let header = "time\tsuite\tscenario\truns\texpected\tapplied\tlost\tduplicated\trefused\treasons\toutcome"

    /// The results file: `$DQT_SUITE_RESULTS`, else `out/suite-results.tsv` in the repository.
    public static var path: String {
        if let path = ProcessInfo.processInfo.environment["DQT_SUITE_RESULTS"], !path.isEmpty { return path }
        // This file is Sources/DQTTesting/SuiteTable.swift.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent("out/suite-results.tsv").path
    }

    /// Appends `row`, creating the file (with its header) and its folder when needed. Failures to write are
    /// reported on standard error, never thrown: the table is a report, not the test.
    public static func append(_ row: SuiteRow) {
        let path = self.path
        let folder = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else {
            FileHandle.standardError.write(Data("SuiteTable: cannot open \(path): \(String(cString: strerror(errno)))\n".utf8))
            return
        }
        defer { close(fd) }
        var line = row.tsv + "\n"
        var info = stat()
        if fstat(fd, &info) == 0, info.st_size == 0 { line = header + "\n" + line }
        let bytes = Array(line.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        print(
            "suite-results: \(row.suite) | \(row.scenario) | runs \(row.runs) | expected \(row.expected) | applied \(row.applied) | lost \(row.lost) | duplicated \(row.duplicated) | refused \(row.refused) \(row.reasons) | \(row.outcome)"
        )
    }

    /// Counts as `code x3, other x1`, most frequent first.
    public static func reasons(_ counts: [String: Int], limit: Int = 6) -> String {
        let sorted = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        var text = sorted.prefix(limit).map { "\($0.key) x\($0.value)" }.joined(separator: ", ")
        if sorted.count > limit { text += ", +\(sorted.count - limit) more" }
        return text
    }
}
