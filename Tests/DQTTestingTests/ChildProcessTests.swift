import DQTTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The one way the suites run programs: what they read from a finished child, and that no child outlives its test.
@Suite("ChildProcess")
struct ChildProcessTests {
    @Test("run: exit status, standard output and error apart, in the given directory")
    func runCapturesOutput() throws {
        let folder = try TemporaryFolder()
        let run = try ChildProcess.run("/bin/sh", ["-c", "pwd -P; echo refused >&2; exit 3"], in: folder.path)
        #expect(run.status == 3 && run.signal == nil, "\(run)")
        #expect(run.stdout == folder.url.resolvingSymlinksInPath().path + "\n")
        #expect(run.stderr == "refused\n")
        #expect(throws: ChildProcessFailure.self) { try run.checkedOutput() }
    }

    @Test("a program killed by a signal: the status is minus the signal, measured or not")
    func killedBySignal() throws {
        for measuring in [false, true] {
            let run = try ChildProcess.run("/bin/sh", ["-c", "kill -9 $$"], measuringPeakMemory: measuring)
            #expect(run.status == -SIGKILL && run.signal == SIGKILL, "\(run)")
        }
    }

    @Test("peak memory is the program's own: not the test runner's, and all of the program's")
    func peakMemory() throws {
        // The runner holds more than a shell ever needs: wait4 from here would report the runner's peak.
        let ballast = [UInt8](repeating: 1, count: 128 << 20)
        let small = try ChildProcess.run("/bin/sh", ["-c", "exit 0"], measuringPeakMemory: true)
        #expect(small.status == 0 && small.peakRSS > 0 && small.peakRSS < 32 << 20, "\(small)")
        let large = try ChildProcess.run("/usr/bin/python3", ["-c", "b = bytearray(96 << 20)"], measuringPeakMemory: true)
        #expect(large.status == 0 && large.peakRSS >= 96 << 20 && large.peakRSS < 128 << 20, "\(large)")
        withExtendedLifetime(ballast) {}
    }

    @Test("stop: the signal ends it and it is reaped")
    func stop() async throws {
        let child = try ChildProcess("/bin/sleep", ["600"], output: "/dev/null")
        #expect(child.isRunning)
        await child.stop()
        #expect(child.status == -SIGTERM)
        #expect(kill(child.pid, 0) == -1 && errno == ESRCH, "the stopped child is still there (a zombie?)")
    }

    @Test("a child nobody waited for (the test threw) is killed and reaped when its value goes away")
    func reapedWhenReleased() throws {
        var pid: pid_t = 0
        do {
            let child = try ChildProcess("/bin/sleep", ["600"], output: "/dev/null")
            pid = child.pid
            #expect(child.isRunning)
        }
        #expect(kill(pid, 0) == -1 && errno == ESRCH, "the released child \(pid) is still there (running or a zombie)")
    }
}
