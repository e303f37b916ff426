import Foundation
import Synchronization

/// Named places in a run where a crash test can kill the process (SIGKILL, as `kill -9` would), to prove that the
/// next run resumes with nothing lost and nothing applied twice. Inert unless the environment asks:
///
///     DQT_BRIDGE_FAILPOINT=<name>[:<n>][:stop]   kill the process the n-th time (default 1st) the point is reached;
///                                               with `stop`, stop it instead (SIGSTOP), for a test to break something
///                                               underneath it (sshd, PostgreSQL) and continue it (SIGCONT)
///     DQT_BRIDGE_FAILPOINT_TRACE=<file>          append `<name>:<n>` to the file each time a point is reached, so a
///                                               test can choose its kill points from what a real run passes
///
/// Points: `listed` (a folder listed), `discovered` (a file's row written, before fetching), `fetching` (after each
/// chunk of a download), `fetched` (download complete, before the ledger knows), `staging` (after each record
/// written inside the staging transaction), `staged` (after the staging commit), `batch-answered` (the API answered
/// a batch, before the ledger records it), `batch-recorded` (after it), `published` (file marked published, before
/// archiving), `archive-planned` (target written, before the move), `archived` (moved, before the ledger knows),
/// `run-finishing` (before the run row is closed). The outbound export's points are listed by ``ExportFailPoint``.
public enum FailPoint {
    private struct Plan {
        let name: String
        let pass: Int
        let stops: Bool
    }

    private static let plan: Plan? = {
        guard let value = ProcessInfo.processInfo.environment["DQT_BRIDGE_FAILPOINT"], !value.isEmpty else { return nil }
        var parts = value.split(separator: ":").map(String.init)
        let stops = parts.count > 1 && parts.last == "stop"
        if stops { parts.removeLast() }
        return Plan(name: parts[0], pass: parts.count > 1 ? max(1, Int(parts[1]) ?? 1) : 1, stops: stops)
    }()

    private static let traceDescriptor: Int32? = {
        guard let path = ProcessInfo.processInfo.environment["DQT_BRIDGE_FAILPOINT_TRACE"], !path.isEmpty else { return nil }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        return descriptor >= 0 ? descriptor : nil
    }()

    private static let passes = Mutex<[String: Int]>([:])

    /// Whether any fail point is configured or traced (so hot paths can skip the call).
    public static let isArmed = plan != nil || traceDescriptor != nil

    /// Kills (or stops) the process here if this is the configured point and pass; notes the pass when tracing.
    public static func hit(_ name: String) {
        guard isArmed else { return }
        let pass = passes.withLock { counts -> Int in
            counts[name, default: 0] += 1
            return counts[name]!
        }
        if let traceDescriptor {
            // One write per line with O_APPEND: a line is never torn, even when the process is killed right after.
            let line = Array("\(name):\(pass)\n".utf8)
            _ = line.withUnsafeBytes { write(traceDescriptor, $0.baseAddress, $0.count) }
        }
        guard let plan, plan.name == name, plan.pass == pass else { return }
        let action = plan.stops ? "stopping" : "killing"
        FileHandle.standardError.write(Data("dqt-bridge: fail point \(name) reached (pass \(pass)): \(action) the process\n".utf8))
        kill(getpid(), plan.stops ? SIGSTOP : SIGKILL)
    }
}
