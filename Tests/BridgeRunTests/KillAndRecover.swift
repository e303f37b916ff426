import DQTTesting
import Testing

/// The crash suites' scenario: a process killed (SIGKILL) at a fail point, then run again, without the fail point,
/// until the work is done: at least once more (that run finds what the killed one left), at most `maxRuns` in all.
struct KillAndRecover {
    /// The status of the killed run (-9 when the fail point was reached) and how many runs there were in all.
    var killed: Int32
    var runs: Int
    /// Whether `isDone` said yes before the runs ran out.
    var done: Bool

    /// `start(environment, log)` starts one run with `environment` added and its output in the file `log`; a run
    /// after the kill must exit with one of `statuses`.
    static func run(
        at point: String, maxRuns: Int, statuses: Set<Int32> = [0, 1],
        start: (_ environment: [String: String], _ log: String) throws -> ChildProcess, isDone: () throws -> Bool
    ) async throws -> KillAndRecover {
        let killed = try await start(["DQT_BRIDGE_FAILPOINT": point], "killed.log").wait()
        #expect(killed == -9, "the run was not killed at \(point) (status \(killed))")
        var runs = 1
        repeat {
            runs += 1
            let process = try start([:], "run-\(runs).log")
            let status = await process.wait()
            #expect(statuses.contains(status), "run \(runs) after the kill at \(point) exited \(status): \(process.output.suffix(2000))")
        } while try runs < maxRuns && !isDone()
        return KillAndRecover(killed: killed, runs: runs, done: try isDone())
    }
}
