import Synchronization

/// Log lines a test captured (from a log handler that appends each line it writes), to look for what must not be
/// logged.
public final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])

    public init() {}

    public func append(_ line: String) { lines.withLock { $0.append(line) } }

    public var all: [String] { lines.withLock { $0 } }
}
