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
