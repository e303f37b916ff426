import Foundation
import Synchronization

/// Named places in a run where a crash test can kill the process (SIGKILL, as `kill -9` would), to prove that the
/// next run resumes with nothing lost and nothing applied twice. Inert unless the environment asks:
///
///     DQT_BRIDGE_FAILPOINT=<name>[:<n>]      kill the process the n-th time (default 1st) the point is reached
///
/// Points: `listed` (a folder listed), `discovered` (a file's row written, before fetching), `fetching` (after the
/// first chunk of a download), `fetched` (download complete, before the ledger knows), `staging` (halfway through
/// a file's records, inside the staging transaction), `staged` (after the staging commit), `batch-answered` (the
/// API answered a batch, before the ledger records it), `batch-recorded` (after it), `published` (file marked
/// published, before archiving), `archive-planned` (target written, before the move), `archived` (moved, before
/// the ledger knows), `run-finishing` (before the run row is closed).
public enum FailPoint {
    private static let configured: (name: String, count: Int)? = {
        guard let value = ProcessInfo.processInfo.environment["DQT_BRIDGE_FAILPOINT"], !value.isEmpty else { return nil }
        let parts = value.split(separator: ":", maxSplits: 1).map(String.init)
        return (parts[0], parts.count > 1 ? max(1, Int(parts[1]) ?? 1) : 1)
    }()
    private static let hits = Mutex(0)

    /// Whether any fail point is configured (so hot paths can skip the call).
    public static let isArmed = configured != nil

    /// Kills the process here if this is the configured point and the configured pass.
    public static func hit(_ name: String) {
        guard let configured, configured.name == name else { return }
        let count = hits.withLock { value -> Int in
            value += 1
            return value
        }
        guard count == configured.count else { return }
        FileHandle.standardError.write(Data("dqt-bridge: fail point \(name) reached (pass \(count)): killing the process\n".utf8))
        kill(getpid(), SIGKILL)
    }
}
