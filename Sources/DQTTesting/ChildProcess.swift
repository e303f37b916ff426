import Foundation

/// The repository's root, found from this source file (`Sources/DQTTesting/ChildProcess.swift`), so tests read
/// `mappings/` and `fixtures/` as the tools do in daily use.
public let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The path of an executable product built beside the test bundle (`swift build --build-tests` puts both in
/// `<scratch>/<config>/`), or the one the environment variable `override` names.
public func builtProduct(_ name: String, override: String) -> String? {
    if let path = ProcessInfo.processInfo.environment[override], FileManager.default.isExecutableFile(atPath: path) {
        return path
    }
    var folders: [URL] = []
    if let first = CommandLine.arguments.first {
        folders.append(URL(fileURLWithPath: first).resolvingSymlinksInPath().deletingLastPathComponent())
    }
    folders.append(Bundle.main.bundleURL)
    folders.append(Bundle.main.bundleURL.deletingLastPathComponent())
    for folder in folders {
        var candidate = folder
        // The bundle may be a directory (`X.xctest/Contents/MacOS/...`): walk up to the build folder.
        for _ in 0..<4 {
            let binary = candidate.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: binary) { return binary }
            candidate.deleteLastPathComponent()
        }
    }
    return nil
}

/// A product the tests need was not found beside them.
public struct ProductNotBuilt: Error, CustomStringConvertible {
    public let name: String
    public let override: String
    public init(name: String, override: String) {
        self.name = name
        self.override = override
    }
    public var description: String {
        "\(name) is not built beside the tests: run swift build --build-tests (or set \(override))"
    }
}

/// `dqt-bridge` built beside the tests, or the one `DQT_BRIDGE_BINARY` names.
public func bridgeBinary() throws -> String {
    guard let path = builtProduct("dqt-bridge", override: "DQT_BRIDGE_BINARY") else {
        throw ProductNotBuilt(name: "dqt-bridge", override: "DQT_BRIDGE_BINARY")
    }
    return path
}

/// A folder under the system's temporary directory, removed when the value goes away.
public final class TemporaryFolder: @unchecked Sendable {
    public let url: URL

    public init(_ prefix: String = "dqt-tests") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// Adopts an existing folder (it is removed with the value all the same).
    public init(at url: URL) { self.url = url }

    public var path: String { url.path }
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    @discardableResult
    public func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = self.path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// One finished child process: its exit status (or the signal that ended it), output, time and, when measured, its
/// peak memory.
public struct ChildProcessResult: CustomStringConvertible, Sendable {
    public var status: Int32
    /// The signal that killed it, if any (a crash).
    public var signal: Int32?
    public var stdout: String
    public var stderr: String
    /// The program's peak resident set size in bytes (0 when not measured).
    public var peakRSS: Int
    public var elapsed: Duration

    public var description: String {
        "exit \(status)\(signal.map { " signal \($0)" } ?? "") rss \(peakRSS >> 20) MB in \(elapsed)\n"
            + "stdout: \(stdout.prefix(800))\nstderr: \(stderr.prefix(800))"
    }
}

/// Runs a program to its end with no standard input, its output kept in files (a pipe could fill and block it).
///
/// With `measuringPeakMemory`, a small Python parent runs the program and reports its peak RSS: Linux records, at
/// `exec`, the high-water RSS of the address space being replaced, and posix_spawn from this (large) test process
/// shares its address space until the exec, so wait4 here would report the test runner's own peak. Python's
/// RUSAGE_CHILDREN peak is the program's own (or Python's, about 10 MB, if larger).
public func runChildProcess(
    _ executable: String, _ arguments: [String], in directory: String = repositoryRoot.path,
    environment: [String: String]? = nil, measuringPeakMemory: Bool = false
) throws -> ChildProcessResult {
    let scratch = try TemporaryFolder("child-process")
    let out = scratch.path("stdout")
    let err = scratch.path("stderr")
    let usageFile = scratch.path("usage")
    let process = Process()
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    if measuringPeakMemory {
        let script = """
            import resource, subprocess, sys
            usage, program = sys.argv[1], sys.argv[2:]
            code = subprocess.call(program)
            with open(usage, "w") as f:
                f.write("%d %d" % (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code))
            """
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, usageFile, executable] + arguments
    } else {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
    }
    if let environment { process.environment = environment }
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
    let stdout = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
    let stderr = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
    var status = process.terminationStatus
    var signal: Int32? = process.terminationReason == .uncaughtSignal ? process.terminationStatus : nil
    var peakRSS = 0
    if measuringPeakMemory {
        let usage = ((try? String(contentsOfFile: usageFile, encoding: .utf8)) ?? "").split(separator: " ").compactMap { Int($0) }
        guard usage.count == 2 else {
            throw POSIXError(.ECHILD, userInfo: [NSLocalizedDescriptionKey: "the measuring parent failed: \(stderr)"])
        }
        // subprocess.call gives -N for a child killed by signal N.
        let code = Int32(usage[1])
        status = code < 0 ? -1 : code
        signal = code < 0 ? -code : nil
        peakRSS = usage[0] * 1024
    }
    return ChildProcessResult(
        status: status, signal: signal, stdout: stdout, stderr: stderr, peakRSS: peakRSS, elapsed: elapsed)
}
