import DQTModel
import Foundation

extension RunReport {
    /// An outbound export the run planned or worked on: which range of which feed, the file and where it went.
    public struct Export: Sendable {
        public var id: Int64
        public var feed: String
        public var fileName: String
        /// The range as `(after, upTo]`.
        public var range: String
        public var records: Int?
        public var size: Int64?
        public var sha256: String?
        public var state: String
        public var destination: String
        public var attempts: Int
        public var resendOf: Int64?
        public var failureReason: String?

        public init(
            id: Int64, feed: String, fileName: String, range: String, records: Int?, size: Int64?, sha256: String?, state: String,
            destination: String, attempts: Int, resendOf: Int64?, failureReason: String?
        ) {
            self.id = id
            self.feed = feed
            self.fileName = fileName
            self.range = range
            self.records = records
            self.size = size
            self.sha256 = sha256
            self.state = state
            self.destination = destination
            self.attempts = attempts
            self.resendOf = resendOf
            self.failureReason = failureReason
        }

        var json: JSONValue {
            .object([
                ("id", .int(Int(id))), ("feed", .string(feed)), ("fileName", .string(fileName)), ("range", .string(range)),
                ("records", records.map(JSONValue.int) ?? .null), ("size", size.map { .int(Int($0)) } ?? .null), ("sha256", JSONValue(sha256)),
                ("state", .string(state)), ("destination", .string(destination)), ("attempts", .int(attempts)),
                ("resendOf", resendOf.map { .int(Int($0)) } ?? .null), ("failureReason", JSONValue(failureReason)),
            ])
        }
    }

    /// The exports section of the HTML page (counts and hashes only: an export's content is never shown).
    var exportsHTML: String {
        guard !exports.isEmpty else { return "" }
        var html =
            "<section><h2>Exports</h2><table><tr><th>id</th><th>feed</th><th>file</th><th>range</th><th>records</th><th>state</th><th>where / why</th></tr>"
        for export in exports {
            var notes = [escape(export.destination)]
            if let original = export.resendOf { notes.append("resend of \(original)") }
            if export.attempts > 1 { notes.append("\(export.attempts) attempts") }
            if let reason = export.failureReason { notes.append("failed: " + escape(reason)) }
            let rowClass = export.state == "delivered" ? "" : " class=\"error\""
            html +=
                "<tr\(rowClass)><td>\(export.id)</td><td>\(escape(export.feed))</td><td><code>\(escape(export.fileName))</code>\(export.sha256.map { "<br><small>sha256 \($0.prefix(16))...</small>" } ?? "")</td><td><code>\(escape(export.range))</code></td><td>\(export.records.map(String.init) ?? "")</td><td>\(escape(export.state))</td><td>\(notes.joined(separator: "<br>"))</td></tr>"
        }
        return html + "</table></section>"
    }
}
