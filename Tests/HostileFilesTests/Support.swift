import DQTModel
import DQTTesting
import FeedMapping
import FileSources
import Foundation
import Testing

let checkDay = "2026-11-21"

/// Runs `dqt-bridge` and measures its peak memory, with colours off and the repository's mappings.
func runBridge(_ arguments: [String], in directory: String = repositoryRoot.path) throws -> ChildProcessResult {
    var environment = ProcessInfo.processInfo.environment
    environment["NO_COLOR"] = "1"
    if environment["DQT_BRIDGE_MAPPINGS"] == nil {
        environment["DQT_BRIDGE_MAPPINGS"] = repositoryRoot.appendingPathComponent("mappings").path
    }
    return try ChildProcess.run(try bridgeBinary(), arguments, in: directory, environment: environment, measuringPeakMemory: true)
}

/// The feeds as `dqt-bridge` loads them.
let catalog: FeedCatalog = {
    do { return try FeedCatalog.load(directory: repositoryRoot.appendingPathComponent("mappings").path) } catch {
        fatalError("the mappings do not load: \(error)")
    }
}()

/// Every fixture of a feed (good and malformed).
func fixtures(of feed: String) -> [URL] {
    var result: [URL] = []
    for kind in ["good", "malformed"] {
        let folder = repositoryRoot.appendingPathComponent("fixtures/\(feed)/\(kind)")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
        result += names.filter { !$0.hasPrefix(".") }.map { folder.appendingPathComponent($0) }
    }
    return result
}

/// What `dqt-bridge check` gives the checker: for an email feed, the email as the mail intake read it (its
/// attachments extracted into `folder`), else the file itself.
func checkInput(_ path: String, for feed: FeedDefinition, attachments folder: String) -> CheckInput {
    feed.email == nil
        ? .file(path: path) : .email(Result { try MailIntake.read(emlPath: path, into: folder, pinned: feed.email?.trust.smimeCertificates ?? []) })
}

/// A sink that counts, checks keys are unique, and keeps the rejected rows' reasons.
struct CountingSink: CheckSink {
    var wantsCalls: Bool { true }
    var wantsRejectedValues: Bool { true }
    var unmasked: Bool { false }
    var calls = 0
    var rejectedRows = 0
    var keys: Set<String> = []
    var duplicateKeys = 0
    var reasons: [String: Int] = [:]
    mutating func accepted(_ call: PlannedCall) throws {
        calls += 1
        if !keys.insert(call.key).inserted { duplicateKeys += 1 }
    }
    mutating func rejected(_ row: RejectedRow) throws {
        rejectedRows += 1
        for problem in row.problems where problem.severity == .error { reasons[problem.code, default: 0] += 1 }
    }
}

/// Characters that must never reach a terminal or an HTML page raw: C0 controls other than tab and line feed, DEL,
/// C1 controls.
func controlCharacters(in text: String) -> [UInt32] {
    text.unicodeScalars.filter { ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || (0x7F...0x9F).contains($0.value) }.map(\.value)
}

func record(
    _ scenario: String, runs: Int, expected: Int, applied: Int, lost: Int = 0, duplicated: Int = 0, refused: Int = 0,
    reasons: String = "", ok: Bool
) {
    SuiteTable.append(
        SuiteRow(
            suite: "hostile-files", scenario: scenario, runs: runs, expected: expected, applied: applied, lost: lost,
            duplicated: duplicated, refused: refused, reasons: reasons, ok: ok))
}
