public import Logging
import Synchronization

/// Log lines a test captured, to check what an operator would read or what must never be logged.
///
/// ```swift
/// let logs = LogLines()
/// let connection = try SFTPConnection(configuration: configuration, logger: logs.logger(level: .warning))
/// #expect(logs.all.contains { $0.contains("fewer streams") })
/// ```
public final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])

    public init() {}

    public func append(_ line: String) { lines.withLock { $0.append(line) } }

    public var all: [String] { lines.withLock { $0 } }

    /// A logger that appends `"<level> <message> <metadata>"` here for every message at `level` or above (the
    /// logger's metadata merged with the message's).
    public func logger(label: String = "dqt-test", level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { _ in Handler(lines: self) }
        logger.logLevel = level
        return logger
    }

    private struct Handler: LogHandler {
        let lines: LogLines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            lines.append("\(event.level) \(event.message) \(metadata.merging(event.metadata ?? [:]) { $1 })")
        }
    }
}
