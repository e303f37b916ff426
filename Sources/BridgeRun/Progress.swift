public import Foundation
import Synchronization

/// Progress of long steps (downloads, publishing, replays): a bar redrawn in place on a terminal, a plain line every
/// 10 % (or every 30 s) otherwise. Writes to standard error; never shows file contents.
public final class ProgressDisplay: Sendable {
    public enum Mode: Sendable { case bar, lines, silent }

    public let mode: Mode
    private struct State {
        var label = ""
        var total: Int64?
        var lastPercent = -1
        var lastLine = Date.distantPast
        var lastDraw = Date.distantPast
        var active = false
    }
    private let state = Mutex(State())
    private let write: @Sendable (String) -> Void

    public init(mode: Mode, write: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.mode = mode
        self.write = write
    }

    /// A bar when standard error is a terminal, lines otherwise.
    public static func automatic() -> ProgressDisplay {
        ProgressDisplay(mode: isatty(2) == 1 ? .bar : .lines)
    }

    public func start(_ label: String, total: Int64?) {
        state.withLock { state in
            state = State(label: label, total: total, active: true)
        }
    }

    /// `done` units (bytes or records) of `total` (nil: unknown).
    public func update(_ done: Int64, total: Int64? = nil, unit: Unit) {
        guard mode != .silent else { return }
        let output: String? = state.withLock { state in
            guard state.active else { return nil }
            if let total { state.total = total }
            let now = Date()
            let percent = state.total.map { $0 > 0 ? Int(min(100, done * 100 / $0)) : 100 }
            switch mode {
            case .bar:
                guard now.timeIntervalSince(state.lastDraw) >= 0.1 || percent == 100 else { return nil }
                state.lastDraw = now
                let width = 30
                let filled = percent.map { $0 * width / 100 } ?? 0
                let bar =
                    String(repeating: "=", count: filled) + (filled < width ? ">" : "") + String(repeating: " ", count: max(0, width - filled - 1))
                let amount = state.total.map { "\(unit.format(done))/\(unit.format($0))" } ?? unit.format(done)
                return "\r\(state.label) [\(bar)] \(percent.map { "\($0)%" } ?? "") \(amount)\u{1B}[K"
            case .lines:
                let step = percent.map { $0 / 10 } ?? -1
                guard step > state.lastPercent / 10 || now.timeIntervalSince(state.lastLine) >= 30 else { return nil }
                if let percent { state.lastPercent = percent }
                state.lastLine = now
                let amount = state.total.map { "\(unit.format(done)) of \(unit.format($0))" } ?? unit.format(done)
                return "\(state.label): \(percent.map { "\($0)% " } ?? "")\(amount)\n"
            case .silent:
                return nil
            }
        }
        if let output { write(output) }
    }

    public func finish() {
        let wasBar = state.withLock { state -> Bool in
            defer { state.active = false }
            return state.active && mode == .bar && state.lastDraw != .distantPast
        }
        if wasBar { write("\n") }
    }

    public enum Unit: Sendable {
        case bytes, records
        func format(_ value: Int64) -> String {
            switch self {
            case .records: return "\(value) records"
            case .bytes:
                let units = ["B", "KB", "MB", "GB", "TB"]
                var amount = Double(value)
                var index = 0
                while amount >= 1000, index < units.count - 1 {
                    amount /= 1000
                    index += 1
                }
                return index == 0 ? "\(value) B" : "\(String(format: "%.1f", amount)) \(units[index])"
            }
        }
    }
}

/// Set by a signal handler (SIGTERM, SIGINT) or a caller: the run finishes the file in hand, then stops.
public final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public var isSet: Bool { flag.load(ordering: .acquiring) }
    public func set() { flag.store(true, ordering: .releasing) }
}
