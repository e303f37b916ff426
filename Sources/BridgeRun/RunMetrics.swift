import Foundation
import Metrics
public import Publisher
import Synchronization

/// The run's metrics: counted here, mirrored to swift-metrics (whatever backend the process bootstrapped), and
/// written at the end of the run as a Prometheus text file for node_exporter's textfile collector.
public final class RunMetrics: Sendable, PublisherObserver {
    struct Key: Hashable, Comparable {
        let name: String
        let labels: [String]  // "k=v" pairs, sorted
        static func < (a: Key, b: Key) -> Bool { (a.name, a.labels.joined(separator: ",")) < (b.name, b.labels.joined(separator: ",")) }
    }

    private struct State {
        var counters: [Key: Double] = [:]
        var gauges: [Key: Double] = [:]
    }

    private let state = Mutex(State())

    static let help: [String: (type: String, help: String)] = [
        "dqt_bridge_files_total": ("counter", "Files handled in the run, by feed and the state they ended the run in."),
        "dqt_bridge_records_total": ("counter", "Records handled in the run, by feed and outcome."),
        "dqt_bridge_api_retries_total": ("counter", "Batches retried, by reason (timeout, connection, HTTP status)."),
        "dqt_bridge_api_batches_total": ("counter", "Batches acknowledged by the API."),
        "dqt_bridge_bytes_fetched_total": ("counter", "Bytes fetched from the sources, by feed."),
        "dqt_bridge_notices_total": ("counter", "Notices from the mail outbox, by outcome (sent, refused, given-up, held, retried, unknown)."),
        "dqt_bridge_notices_waiting": (
            "gauge", "Notices in each state other than sent after the run (refused, given-up and held wait for an operator)."
        ),
        "dqt_bridge_stage_seconds_total": ("counter", "Seconds spent in each stage (list, fetch, check, publish, archive)."),
        "dqt_bridge_run_duration_seconds": ("gauge", "Wall time of the run."),
        "dqt_bridge_run_exit_status": ("gauge", "The run's exit status: 0 all good, 1 refusals, 2 failed."),
        "dqt_bridge_run_finished_timestamp_seconds": ("gauge", "When the run finished (Unix time)."),
        "dqt_bridge_last_success_timestamp_seconds": ("gauge", "When the last run with exit status 0 or 1 finished (Unix time)."),
        "dqt_bridge_files_unfinished": ("gauge", "Files left in a non-terminal state at the end of the run (resumed next run)."),
        "dqt_bridge_feed_file_late": ("gauge", "1 while a feed's file due by its latest deadline (its mapping's due:) has not arrived, else 0."),
    ]

    public init() {}

    public func increment(_ name: String, _ labels: [String: String] = [:], by amount: Double = 1) {
        let key = Self.key(name, labels)
        state.withLock { $0.counters[key, default: 0] += amount }
        Counter(label: name, dimensions: labels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }).increment(by: Int64(amount))
    }

    public func set(_ name: String, _ labels: [String: String] = [:], _ value: Double) {
        let key = Self.key(name, labels)
        state.withLock { $0.gauges[key] = value }
        Gauge(label: name, dimensions: labels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }).record(value)
    }

    public func counter(_ name: String, _ labels: [String: String] = [:]) -> Double {
        state.withLock { $0.counters[Self.key(name, labels)] ?? 0 }
    }

    public func time<T>(_ stage: String, _ body: () async throws -> T) async rethrows -> T {
        let start = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - start
            increment(
                "dqt_bridge_stage_seconds_total", ["stage": stage],
                by: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        return try await body()
    }

    static func key(_ name: String, _ labels: [String: String]) -> Key {
        Key(name: name, labels: labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
    }

    // MARK: PublisherObserver

    public func retried(reason: String, delay: Double) {
        increment("dqt_bridge_api_retries_total", ["reason": reason])
    }

    public func acknowledged(published: Int, failed: Int, replayed: Int) {
        increment("dqt_bridge_api_batches_total")
    }

    // MARK: Prometheus text

    public func prometheusText() -> String {
        let (counters, gauges) = state.withLock { ($0.counters, $0.gauges) }
        var all: [(Key, Double)] = counters.map { ($0.key, $0.value) } + gauges.map { ($0.key, $0.value) }
        all.sort { $0.0 < $1.0 }
        var out = ""
        var lastName = ""
        for (key, value) in all {
            if key.name != lastName {
                let info = Self.help[key.name] ?? (counters[key] != nil ? "counter" : "gauge", key.name)
                out += "# HELP \(key.name) \(info.help)\n# TYPE \(key.name) \(info.type)\n"
                lastName = key.name
            }
            let labels = key.labels.map { pair -> String in
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                let value = (parts.count > 1 ? parts[1] : "").replacingOccurrences(of: "\\", with: "\\\\")
                    .replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
                return "\(parts[0])=\"\(value)\""
            }
            let formatted = value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.6f", value)
            out += key.name + (labels.isEmpty ? "" : "{" + labels.joined(separator: ",") + "}") + " " + formatted + "\n"
        }
        return out
    }

    /// Writes the text file atomically (temporary file, then rename), as the textfile collector requires.
    public func write(to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let temporary = path + ".tmp-\(getpid())"
        try Data(prometheusText().utf8).write(to: URL(fileURLWithPath: temporary))
        if rename(temporary, path) != 0 {
            unlink(temporary)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }
}
