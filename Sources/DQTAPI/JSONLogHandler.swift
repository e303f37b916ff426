import Foundation
import Logging
import Synchronization

/// One JSON object per line on standard output: `ts`, `level`, `label`, `msg` and the metadata. Callers keep
/// personal data out of messages and metadata (the request log carries method, path, status, duration, key name).
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String

    public init(label: String) { self.label = label }

    private static let second = Mutex<(Int, String)>((-1, ""))

    /// `2026-01-02T03:04:05.678Z`, formatting the date part once a second.
    static func timestamp() -> String {
        let now = Date().timeIntervalSince1970
        let whole = Int(now)
        let millis = Int((now - Double(whole)) * 1000)
        let prefix = second.withLock { cached -> String in
            if cached.0 != whole {
                cached = (whole, Date(timeIntervalSince1970: Double(whole)).formatted(Date.ISO8601FormatStyle()).replacingOccurrences(of: "Z", with: ""))
            }
            return cached.1
        }
        let padded = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return prefix + "." + padded + "Z"
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "{\"ts\":\"" + Self.timestamp() + "\""
        line += ",\"level\":" + JSONText.string(event.level.rawValue)
        line += ",\"label\":" + JSONText.string(label)
        line += ",\"msg\":" + JSONText.string(event.message.description)
        let all = metadata.isEmpty ? (event.metadata ?? [:]) : metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 })
        for key in all.keys.sorted() {
            line += "," + JSONText.string(key) + ":" + JSONText.string("\(all[key]!)")
        }
        line += "}\n"
        FileHandle.standardOutput.write(Data(line.utf8))
    }
}
