public import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A program the tests run as a child process, and the one way they run one: to its end with its output captured
/// (``run(_:_:in:environment:measuringPeakMemory:)``), or started and left running (a service, a run to kill) to be
/// waited for, signalled and stopped.
///
/// Started with posix_spawn, with no standard input and its output in files (a pipe nobody reads could fill and
/// block it); waited for with waitpid, on a dispatch thread when awaited (a blocked cooperative thread could starve
/// the in-process API the child is calling). Every child is reaped: by a wait, or, if nobody waited, killed
/// (SIGKILL) and reaped when the value goes away, so a test that throws leaves neither a running process nor a
/// zombie. (Foundation's `Process` was seen never to return from `waitUntilExit` for a quick child, leaving a zombie.)
public final class ChildProcess: Sendable {
    public let pid: pid_t
    /// The file that receives standard output (and standard error, unless it has its own).
    public let outputPath: String
    public let errorPath: String
    /// The executable's file name, for messages.
    public let program: String
    private let started = ContinuousClock.now
    /// Exit status, or minus the signal that ended it; nil until reaped.
    private let ended = Mutex<Int32?>(nil)

    /// Starts `executable` (a path) with `arguments`, in `directory` (the test's own by default); standard output
    /// to the file `output` (created or emptied), standard error to `errors`, or to `output` too when nil.
    public init(
        _ executable: String, _ arguments: [String], in directory: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment, output: String, errors: String? = nil
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if let errors {
            posix_spawn_file_actions_addopen(&actions, 2, errors, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        // In another directory through `env -C` (which then executes the program in its place): Swift's Glibc does
        // not offer posix_spawn_file_actions_addchdir_np.
        let command = directory.map { ["/usr/bin/env", "-C", $0, "--", executable] } ?? [executable]
        let argv: [UnsafeMutablePointer<CChar>?] = (command + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        // Signals as a shell would give them: none blocked, none ignored (the test runner blocks or ignores some,
        // SIGTERM among them, and a child inherits both across exec).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid = pid_t()
        let result = posix_spawn(&pid, command[0], &actions, &attributes, argv, envp)
        guard result == 0 else { throw ChildProcessFailure(program: executable, reason: String(cString: strerror(result))) }
        self.pid = pid
        outputPath = output
        errorPath = errors ?? output
        program = (executable as NSString).lastPathComponent
    }

    /// What it has written to its output file so far.
    public var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// Its exit status (minus the signal that ended it), once it has ended; nil while it runs.
    public var status: Int32? { reap(blocking: false) }

    public var isRunning: Bool { status == nil }

    /// Blocks until it ends; its exit status, or minus the signal that ended it.
    @discardableResult
    public func waitBlocking() -> Int32 { reap(blocking: true)! }

    /// Waits for the end on a dispatch thread; its exit status, or minus the signal that ended it.
    @discardableResult
    public func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: self.waitBlocking()) }
        }
    }

    /// Polls `isReady` every 50 ms until it says yes; throws when the process ends first or `limit` passes. A
    /// readiness wait, not a timing assertion: the limit is generous because a debug build starting while every
    /// suite runs at once on two cores has taken over a minute, and a ready service ends the wait at once.
    public func waitUntilReady(limit: Duration = .seconds(300), _ isReady: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + limit
        while isRunning {
            if await isReady() { return }
            guard ContinuousClock.now < deadline else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let why = isRunning ? "not ready within \(limit)" : "ended with status \(status ?? 0) before it was ready"
        throw ChildProcessFailure(program: program, reason: "\(why): \(output.suffix(1000))")
    }

    /// Sends `signal` (SIGCONT to resume one stopped at a fail point, for example) unless it has ended.
    public func send(_ signal: Int32) {
        ended.withLock { ended in
            if ended == nil { _ = kill(pid, signal) }
        }
    }

    /// Sends `signal`, waits up to `grace` for the end, then kills it; always reaps it.
    public func stop(_ signal: Int32 = SIGTERM, grace: Duration = .seconds(30)) async {
        guard isRunning else { return }
        send(signal)
        let deadline = ContinuousClock.now + grace
        while isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        send(SIGKILL)
        await wait()
    }

    deinit {
        // Nobody waited (the test threw first): no process and no zombie may outlive the test.
        if status == nil {
            kill(pid, SIGKILL)
            waitBlocking()
        }
    }

    /// The end, reaped under the lock (so `send` never signals a reaped, perhaps reused, pid); a blocking caller
    /// first waits outside the lock without reaping, so `send` and `status` stay free meanwhile.
    private func reap(blocking: Bool) -> Int32? {
        if blocking {
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
        }
        return ended.withLock { ended in
            if let ended { return ended }
            var raw: Int32 = 0
            var result: pid_t
            repeat { result = waitpid(pid, &raw, WNOHANG) } while result < 0 && errno == EINTR
            guard result == pid else { return nil }
            ended = raw & 0x7f == 0 ? (raw >> 8) & 0xff : -(raw & 0x7f)
            return ended
        }
    }

    // MARK: Run to the end

    /// Runs a program to its end and returns its status, output (standard output and error apart), time and, with
    /// `measuringPeakMemory`, its peak resident memory. Blocks the calling thread: async code uses the async overload.
    ///
    /// The peak is measured by GNU time as the program's parent. wait4 here cannot give it: Linux carries the
    /// high-water RSS of the address space an exec replaces into the new program's, and a child spawned from this
    /// (large) test process starts in a copy or share of its address space, so the figure would be the test runner's
    /// own peak. Under GNU time the program starts from time's small address space (about 1 MB).
    public static func run(
        _ executable: String, _ arguments: [String], in directory: String = repositoryRoot.path,
        environment: [String: String] = ProcessInfo.processInfo.environment, measuringPeakMemory: Bool = false
    ) throws -> ChildProcessResult {
        let scratch = try TemporaryFolder("child-process")
        let usage = scratch.path("usage")
        let child =
            try measuringPeakMemory
            ? ChildProcess(
                "/usr/bin/time", ["-o", usage, "-f", "%M", "--", executable] + arguments, in: directory,
                environment: environment, output: scratch.path("stdout"), errors: scratch.path("stderr"))
            : ChildProcess(
                executable, arguments, in: directory, environment: environment, output: scratch.path("stdout"),
                errors: scratch.path("stderr"))
        var status = child.waitBlocking()
        let elapsed = ContinuousClock.now - child.started
        let stdout = (try? String(contentsOfFile: child.outputPath, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: child.errorPath, encoding: .utf8)) ?? ""
        var peakRSS = 0
        if measuringPeakMemory {
            // "%M" (KB) on the last line, after "Command terminated by signal N" when a signal ended the program.
            let lines = ((try? String(contentsOfFile: usage, encoding: .utf8)) ?? "").split(separator: "\n")
            guard status >= 0, let kilobytes = lines.last.flatMap({ Int($0) }) else {
                throw ChildProcessFailure(program: executable, reason: "GNU time did not report (status \(status)): \(stderr.suffix(800))")
            }
            peakRSS = kilobytes * 1024
            if let line = lines.first(where: { $0.hasPrefix("Command terminated by signal ") }),
                let signal = Int32(line.split(separator: " ").last ?? "")
            {
                status = -signal
            }
        }
        return ChildProcessResult(program: executable, status: status, stdout: stdout, stderr: stderr, peakRSS: peakRSS, elapsed: elapsed)
    }

    /// ``run(_:_:in:environment:measuringPeakMemory:)`` waiting on a dispatch thread.
    public static func run(
        _ executable: String, _ arguments: [String], in directory: String = repositoryRoot.path,
        environment: [String: String] = ProcessInfo.processInfo.environment, measuringPeakMemory: Bool = false
    ) async throws -> ChildProcessResult {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(
                    with: Result {
                        try run(executable, arguments, in: directory, environment: environment, measuringPeakMemory: measuringPeakMemory)
                    })
            }
        }
    }
}

/// One finished child process: its exit status (or the signal that ended it), output, time and, when measured, its
/// peak memory.
public struct ChildProcessResult: CustomStringConvertible, Sendable {
    public var program: String
    /// The exit status, or minus the signal that ended it.
    public var status: Int32
    public var stdout: String
    public var stderr: String
    /// The program's peak resident set size in bytes (0 when not measured).
    public var peakRSS: Int
    public var elapsed: Duration

    /// The signal that killed it, if any (a crash).
    public var signal: Int32? { status < 0 ? -status : nil }

    /// Its standard output; throws, with both outputs, unless it exited 0.
    public func checkedOutput() throws -> String {
        guard status == 0 else { throw ChildProcessFailure(program: program, reason: "\(self)") }
        return stdout
    }

    public var description: String {
        "exit \(status)\(signal.map { " signal \($0)" } ?? "") rss \(peakRSS >> 20) MB in \(elapsed)\n"
            + "stdout: \(stdout.prefix(800))\nstderr: \(stderr.prefix(800))"
    }
}

/// A child process could not be started or measured, or ended other than it must.
public struct ChildProcessFailure: Error, CustomStringConvertible {
    public let program: String
    public let reason: String
    public init(program: String, reason: String) {
        self.program = program
        self.reason = reason
    }
    public var description: String { "\((program as NSString).lastPathComponent): \(reason)" }
}
