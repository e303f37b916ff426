import DQTModel
import Foundation
public import Logging
import Synchronization

/// One JSON object per line on standard error (or any sink): `{"ts","level","logger","msg",...metadata}`, the log
/// format of both `dqt-bridge` and `dqt-api`.
///
/// Callers keep personal data out of messages and metadata: the bridge logs ids, counts, codes, feed and file names
/// and the mapping's problem messages, never a value read from a file; the API's request log carries method, path,
/// status, duration, correlation id and key name.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let sink: @Sendable (String) -> Void

    public init(label: String, level: Logger.Level = .info, sink: @escaping @Sendable (String) -> Void = JSONLogHandler.standardError) {
        self.label = label
        self.logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out.append(contentsOf: #"{"ts":"#.utf8)
        JSONValue.writeString(Self.timestamp(), to: &out)
        out.append(contentsOf: #","level":"#.utf8)
        JSONValue.writeString(event.level.rawValue, to: &out)
        out.append(contentsOf: #","logger":"#.utf8)
        JSONValue.writeString(label, to: &out)
        out.append(contentsOf: #","msg":"#.utf8)
        JSONValue.writeString(event.message.description, to: &out)
        for key in merged.keys.sorted() {
            out.append(UInt8(ascii: ","))
            JSONValue.writeString(key, to: &out)
            out.append(UInt8(ascii: ":"))
            Self.write(merged[key]!, to: &out)
        }
        out.append(contentsOf: "}\n".utf8)
        sink(String(decoding: out, as: UTF8.self))
    }

    static func write(_ value: Logger.MetadataValue, to out: inout [UInt8]) {
        switch value {
        case .string(let text):
            if let number = Int(text), String(number) == text { out.append(contentsOf: text.utf8) } else { JSONValue.writeString(text, to: &out) }
        case .stringConvertible(let value): JSONValue.writeString(value.description, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .dictionary(let members):
            out.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                write(members[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var time = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &time)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(time.tm_year) + 1900, Int(time.tm_mon) + 1, Int(time.tm_mday),
            Int(time.tm_hour), Int(time.tm_min), Int(time.tm_sec), Int(now.tv_nsec / 1_000_000))
    }

    private static let lock = Mutex(())

    /// Whole lines, never interleaved across threads.
    public static let standardError: @Sendable (String) -> Void = { line in
        lock.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
    }

    public static let standardOutput: @Sendable (String) -> Void = { line in
        lock.withLock { _ in FileHandle.standardOutput.write(Data(line.utf8)) }
    }
}
