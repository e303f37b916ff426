import Foundation
import Logging
import Synchronization

/// One JSON object per line on standard error (or any sink): `{"ts","level","logger","msg",...metadata}`.
///
/// The bridge never logs a value read from a file: messages and metadata carry ids, counts, codes, feed and file
/// names, and the mapping's problem messages, which are free of personal data by design.
public struct BridgeJSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let sink: @Sendable (String) -> Void

    public init(label: String, level: Logger.Level = .info, sink: @escaping @Sendable (String) -> Void = BridgeJSONLogHandler.standardError) {
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
        Self.writeString(Self.timestamp(), to: &out)
        out.append(contentsOf: #","level":"#.utf8)
        Self.writeString(event.level.rawValue, to: &out)
        out.append(contentsOf: #","logger":"#.utf8)
        Self.writeString(label, to: &out)
        out.append(contentsOf: #","msg":"#.utf8)
        Self.writeString(event.message.description, to: &out)
        for key in merged.keys.sorted() {
            out.append(UInt8(ascii: ","))
            Self.writeString(key, to: &out)
            out.append(UInt8(ascii: ":"))
            Self.write(merged[key]!, to: &out)
        }
        out.append(contentsOf: "}\n".utf8)
        sink(String(decoding: out, as: UTF8.self))
    }

    static func write(_ value: Logger.MetadataValue, to out: inout [UInt8]) {
        switch value {
        case .string(let text):
            if let number = Int(text), String(number) == text { out.append(contentsOf: text.utf8) } else { writeString(text, to: &out) }
        case .stringConvertible(let value): writeString(value.description, to: &out)
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
                writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                write(members[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func writeString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case 0x0A: out.append(contentsOf: #"\n"#.utf8)
            case 0x0D: out.append(contentsOf: #"\r"#.utf8)
            case 0x09: out.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
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

    public static let standardError: @Sendable (String) -> Void = { line in
        lock.withLock { _ in
            FileHandle.standardError.write(Data(line.utf8))
        }
    }
}
