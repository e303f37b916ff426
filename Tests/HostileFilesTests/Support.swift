import DQTTesting
import FeedMapping
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

let checkDay = "2026-11-21"

/// The `dqt-bridge` binary built beside the test bundle (`swift build --build-tests`); `DQT_BRIDGE_BINARY` overrides.
let bridgeBinary: String? = {
    let environment = ProcessInfo.processInfo.environment
    if let path = environment["DQT_BRIDGE_BINARY"], FileManager.default.isExecutableFile(atPath: path) { return path }
    var folders: [URL] = []
    if let first = CommandLine.arguments.first {
        folders.append(URL(fileURLWithPath: first).resolvingSymlinksInPath().deletingLastPathComponent())
    }
    folders.append(Bundle.main.bundleURL)
    folders.append(Bundle.main.bundleURL.deletingLastPathComponent())
    for folder in folders {
        var candidate = folder
        for _ in 0..<4 {
            let binary = candidate.appendingPathComponent("dqt-bridge").path
            if FileManager.default.isExecutableFile(atPath: binary) { return binary }
            candidate.deleteLastPathComponent()
        }
    }
    return nil
}()

struct BinaryNotBuilt: Error, CustomStringConvertible {
    var description: String { "dqt-bridge is not built beside the tests: run swift build --build-tests (or set DQT_BRIDGE_BINARY)" }
}

/// One finished child process: exit status (or the signal that ended it), output, peak memory and time.
struct Finished: CustomStringConvertible {
    var status: Int32
    /// The signal that killed it, if any (a crash).
    var signal: Int32?
    var stdout: String
    var stderr: String
    /// The program's peak resident set size in bytes.
    var peakRSS: Int
    var elapsed: Duration
    var description: String {
        "exit \(status)\(signal.map { " signal \($0)" } ?? "") rss \(peakRSS >> 20) MB in \(elapsed)\nstdout: \(stdout.prefix(800))\nstderr: \(stderr.prefix(800))"
    }
}

/// Runs a program and reports its exit status (or signal), output, peak memory and time.
///
/// The peak is measured by a small Python parent (python3 is in scripts/setup.sh): Linux records, at `exec`, the
/// high-water RSS of the address space being replaced, and posix_spawn from this (large) test process shares its
/// address space until the exec, so wait4 here would report the test runner's own peak. Python's
/// RUSAGE_CHILDREN peak is the program's own (or Python's, about 10 MB, if larger).
func spawn(_ executable: String, _ arguments: [String], in directory: String = repositoryRoot.path) throws -> Finished {
    let scratch = try TemporaryFolder()
    let out = scratch.path("stdout")
    let err = scratch.path("stderr")
    let usageFile = scratch.path("usage")
    let script = """
        import os, resource, subprocess, sys
        usage, directory, program = sys.argv[1], sys.argv[2], sys.argv[3:]
        os.chdir(directory)
        code = subprocess.call(program)
        with open(usage, "w") as f:
            f.write("%d %d" % (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code))
        """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    process.arguments = ["-c", script, usageFile, directory, executable] + arguments
    var environment = ProcessInfo.processInfo.environment
    environment["NO_COLOR"] = "1"
    if environment["DQT_BRIDGE_MAPPINGS"] == nil { environment["DQT_BRIDGE_MAPPINGS"] = repositoryRoot.appendingPathComponent("mappings").path }
    process.environment = environment
    _ = FileManager.default.createFile(atPath: out, contents: nil)
    _ = FileManager.default.createFile(atPath: err, contents: nil)
    let outHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
    let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
    process.standardOutput = outHandle
    process.standardError = errHandle
    process.standardInput = FileHandle.nullDevice
    let start = ContinuousClock.now
    try process.run()
    process.waitUntilExit()
    let elapsed = ContinuousClock.now - start
    try outHandle.close()
    try errHandle.close()
    let usage = ((try? String(contentsOfFile: usageFile, encoding: .utf8)) ?? "").split(separator: " ").compactMap { Int($0) }
    let stderr = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
    guard usage.count == 2 else {
        throw POSIXError(.ECHILD, userInfo: [NSLocalizedDescriptionKey: "the measuring parent failed: \(stderr)"])
    }
    let code = Int32(usage[1])
    return Finished(
        status: code < 0 ? -1 : code, signal: code < 0 ? -code : nil,
        stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "", stderr: stderr,
        peakRSS: usage[0] * 1024, elapsed: elapsed)
}

func runBridge(_ arguments: [String], in directory: String = repositoryRoot.path) throws -> Finished {
    guard let binary = bridgeBinary else { throw BinaryNotBuilt() }
    return try spawn(binary, arguments, in: directory)
}

/// A folder under the system's temporary directory, removed when the value goes away.
final class TemporaryFolder: @unchecked Sendable {
    let url: URL
    init(_ prefix: String = "hostile-files") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    init(at url: URL) { self.url = url }
    var path: String { url.path }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = self.path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
    deinit { try? FileManager.default.removeItem(at: url) }
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

func record(_ scenario: String, runs: Int, expected: Int, applied: Int, lost: Int = 0, duplicated: Int = 0, refused: Int = 0,
            reasons: String = "", ok: Bool) {
    SuiteTable.append(SuiteRow(
        suite: "hostile-files", scenario: scenario, runs: runs, expected: expected, applied: applied, lost: lost,
        duplicated: duplicated, refused: refused, reasons: reasons, ok: ok))
}
