import DQTTesting
import Foundation
import Testing

/// File-system refusals on the command line: one line naming the path and the reason, exit 2.
@Suite("dqt-bridge file-system errors")
struct FileProblemCLITests {
    @Test("check of a directory named like a feed file, or a missing file: the path and the reason")
    func checkNamesTheReason() throws {
        let folder = try TemporaryFolder()
        let directory = folder.path("IND_20261101.csv")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let run = try runBridge(["check", directory, "--today", checkDay])
        #expect(run.status == 2)
        #expect(run.stderr.contains("cannot read \(directory): is a directory"), "\(run.stderr)")
        #expect(!run.stderr.contains("NSCocoaErrorDomain"))
        let missing = try runBridge(["check", folder.path("IND_20261102.csv"), "--today", checkDay])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("no such file or directory"), "\(missing.stderr)")
    }

    @Test("config check of a configuration with a misspelt key names file, line and the nearest key")
    func configCheckNamesTheKey() throws {
        let folder = try TemporaryFolder()
        let path = folder.path("bridge.yaml")
        try "api: {baseURL: \"http://127.0.0.1:1\", keyEnv: K}\nfolder: {root: /tmp}\nreportFolder: out\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        let run = try runBridge(["config", "check", "--config", path])
        #expect(run.status == 2)
        #expect(run.stderr.contains("\(path):3: unknown key 'reportFolder' in the configuration (did you mean 'reportsFolder'?)"), "\(run.stderr)")
    }
}

/// The API's plausibility rules in a real legacy file: the rows are refused with their own codes, located by line
/// and field, and never become calls.
@Suite("dqt-bridge check: implausible values")
struct ImplausibleValueCLITests {
    @Test("a Capita import with a backspace in a name and a birth in 1890: character-error and date-range-error")
    func implausibleRowsAreRefused() throws {
        let good = repositoryRoot.appendingPathComponent("fixtures/capita-import/good/DQT_TPS_Import_20261120.txt")
        var lines = try String(contentsOf: good, encoding: .isoLatin1).components(separatedBy: "\r\n")
        lines[0] = lines[0].replacingOccurrences(of: ";Testworth;", with: ";Test\u{8}worth;")
        lines[1] = lines[1].replacingOccurrences(of: ";19740715;", with: ";18900715;")
        let folder = try TemporaryFolder()
        let file = folder.path("DQT_TPS_Import_20261121.txt")
        try #require(lines.joined(separator: "\r\n").data(using: .isoLatin1)).write(to: URL(fileURLWithPath: file))
        let records = folder.path("records.ndjson")
        let run = try runBridge(["check", file, "--feed", "capita-import", "--records", records, "--today", checkDay])
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("character-error lastName: 1 (lines 1)"), "\(run.stdout)")
        #expect(run.stdout.contains("date-range-error dateOfBirth: 1 (lines 2)"), "\(run.stdout)")
        let sent = try String(contentsOfFile: records, encoding: .utf8).split(separator: "\n")
        #expect(!sent.contains { $0.contains("\"line\":1,") || $0.contains("\"line\":2,") }, "refused rows never become calls")
        #expect(!run.stdout.contains("Testworth") && !run.stdout.contains("18900715"), "no value from the file in the summary")
    }
}
