import Foundation
import Logging

/// One JSON object per line on standard output: `ts`, `level`, `label`, `msg` and the metadata. Callers keep
/// personal data out of messages and metadata (the request log carries method, path, status, duration, key name).
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "{\"ts\":" + JSONText.string(Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
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
