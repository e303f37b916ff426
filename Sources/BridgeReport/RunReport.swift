public import DQTModel
public import Foundation

/// The report of one unattended run, for operators and analysts: the run, every file it handled with counts and
/// state, and the refused rows with their reasons (the mapping's problems, or the API's answer). As JSON and as a
/// self-contained HTML page. It holds no value from any file: refusals carry codes, fields, columns and messages.
public struct RunReport: Sendable {
    public struct File: Sendable {
        public var id: Int64
        public var feed: String
        public var feedStatus: String?
        public var name: String
        public var sourcePath: String
        public var origin: String
        public var state: String
        public var sha256: String?
        public var size: Int64?
        public var rowsRead: Int?
        public var accepted: Int?
        public var rejected: Int?
        public var published: Int
        public var failed: Int
        public var reason: String?
        public var errorMessage: String?
        public var archivePath: String?
        public var duplicateOf: Int64?
        public var sender: String?
        public var attachments: [String]
        /// A shadow file's recorded parity: agreement in percent and the report's JSON path (the page is beside it).
        public var parity: (agreementPercent: Double, reportPath: String?)?
        /// A reconciliation feed's file: its report's JSON path (the page is beside it).
        public var reconciliationReport: String?
        public init(
            id: Int64, feed: String, feedStatus: String?, name: String, sourcePath: String, origin: String, state: String,
            sha256: String?, size: Int64?, rowsRead: Int?, accepted: Int?, rejected: Int?, published: Int, failed: Int,
            reason: String?, errorMessage: String?, archivePath: String?, duplicateOf: Int64?, sender: String?, attachments: [String]
        ) {
            self.id = id
            self.feed = feed
            self.feedStatus = feedStatus
            self.name = name
            self.sourcePath = sourcePath
            self.origin = origin
            self.state = state
            self.sha256 = sha256
            self.size = size
            self.rowsRead = rowsRead
            self.accepted = accepted
            self.rejected = rejected
            self.published = published
            self.failed = failed
            self.reason = reason
            self.errorMessage = errorMessage
            self.archivePath = archivePath
            self.duplicateOf = duplicateOf
            self.sender = sender
            self.attachments = attachments
        }
    }

    /// One reason a row was refused.
    public struct Reason: Sendable {
        public var code: String
        public var field: String?
        public var column: String?
        public var message: String
        public init(code: String, field: String?, column: String?, message: String) {
            self.code = code
            self.field = field
            self.column = column
            self.message = message
        }
    }

    public struct RefusedRow: Sendable {
        public var fileID: Int64
        public var line: Int
        /// `rejected` (by the mapping, never sent) or `failed` (refused by the API).
        public var outcome: String
        public var apiStatus: Int?
        public var key: String?
        public var reasons: [Reason]
        public init(fileID: Int64, line: Int, outcome: String, apiStatus: Int?, key: String?, reasons: [Reason]) {
            self.fileID = fileID
            self.line = line
            self.outcome = outcome
            self.apiStatus = apiStatus
            self.key = key
            self.reasons = reasons
        }
    }

    public var runID: Int64
    public var command: String
    public var status: String
    public var exitStatus: Int?
    public var startedAt: Date
    public var finishedAt: Date?
    public var host: String
    public var pid: Int
    public var feeds: [String]
    public var summary: String?
    public var error: String?
    public var files: [File]
    public var refused: [RefusedRow]
    /// Per file: refused rows beyond those listed.
    public var refusedNotListed: [Int64: Int]
    /// Outbound exports the run worked on.
    public var exports: [Export] = []

    public init(
        runID: Int64, command: String, status: String, exitStatus: Int?, startedAt: Date, finishedAt: Date?, host: String, pid: Int,
        feeds: [String], summary: String?, error: String?, files: [File], refused: [RefusedRow], refusedNotListed: [Int64: Int]
    ) {
        self.runID = runID
        self.command = command
        self.status = status
        self.exitStatus = exitStatus
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.host = host
        self.pid = pid
        self.feeds = feeds
        self.summary = summary
        self.error = error
        self.files = files
        self.refused = refused
        self.refusedNotListed = refusedNotListed
    }

    static func iso(_ date: Date?) -> JSONValue {
        guard let date else { return .null }
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return .string(formatter.string(from: date))
    }

    public var json: JSONValue {
        let run: JSONValue = .object([
            ("id", .int(Int(runID))), ("command", .string(command)), ("status", .string(status)),
            ("exitStatus", exitStatus.map(JSONValue.int) ?? .null), ("startedAt", Self.iso(startedAt)),
            ("finishedAt", Self.iso(finishedAt)), ("host", .string(host)), ("pid", .int(pid)),
            ("feeds", .array(feeds.map(JSONValue.string))), ("error", JSONValue(error)), ("summary", JSONValue(summary)),
        ])
        let rowsRead: Int = files.compactMap(\.rowsRead).reduce(0, +)
        let accepted: Int = files.compactMap(\.accepted).reduce(0, +)
        let rejected: Int = files.compactMap(\.rejected).reduce(0, +)
        let published: Int = files.map(\.published).reduce(0, +)
        let failed: Int = files.map(\.failed).reduce(0, +)
        let totals: JSONValue = .object([
            ("files", .int(files.count)), ("rowsRead", .int(rowsRead)), ("accepted", .int(accepted)),
            ("rejected", .int(rejected)), ("published", .int(published)), ("failed", .int(failed)),
        ])
        let fileValues: [JSONValue] = files.map(fileJSON)
        let rowValues: [JSONValue] = refused.map(Self.rowJSON)
        return .object([
            ("run", run), ("totals", totals), ("files", .array(fileValues)), ("refusedRows", .array(rowValues)),
            ("exports", .array(exports.map(\.json))),
        ])
    }

    private func fileJSON(_ file: File) -> JSONValue {
        var members: [(String, JSONValue)] = []
        members.append(("id", .int(Int(file.id))))
        members.append(("feed", .string(file.feed)))
        members.append(("feedStatus", JSONValue(file.feedStatus)))
        members.append(("name", .string(file.name)))
        members.append(("sourcePath", .string(file.sourcePath)))
        members.append(("origin", .string(file.origin)))
        members.append(("state", .string(file.state)))
        members.append(("sha256", JSONValue(file.sha256)))
        members.append(("size", file.size.map { JSONValue.int(Int($0)) } ?? .null))
        members.append(("rowsRead", file.rowsRead.map(JSONValue.int) ?? .null))
        members.append(("accepted", file.accepted.map(JSONValue.int) ?? .null))
        members.append(("rejected", file.rejected.map(JSONValue.int) ?? .null))
        members.append(("published", .int(file.published)))
        members.append(("failed", .int(file.failed)))
        members.append(("reason", JSONValue(file.reason)))
        members.append(("error", JSONValue(file.errorMessage)))
        members.append(("archivePath", JSONValue(file.archivePath)))
        members.append(("duplicateOf", file.duplicateOf.map { JSONValue.int(Int($0)) } ?? .null))
        members.append(("sender", JSONValue(file.sender)))
        members.append(("attachments", .array(file.attachments.map(JSONValue.string))))
        members.append(("refusedRowsNotListed", .int(refusedNotListed[file.id] ?? 0)))
        if let parity = file.parity {
            members.append(
                (
                    "parity",
                    .object([
                        ("agreementPercent", .number(String(format: "%.3f", parity.agreementPercent))),
                        ("report", parity.reportPath.map(JSONValue.string) ?? .null),
                    ])
                ))
        }
        if let path = file.reconciliationReport { members.append(("reconciliation", .string(path))) }
        return .object(members)
    }

    private static func rowJSON(_ row: RefusedRow) -> JSONValue {
        let reasons: [JSONValue] = row.reasons.map { reason in
            .object([
                ("code", .string(reason.code)), ("field", JSONValue(reason.field)), ("column", JSONValue(reason.column)),
                ("message", .string(reason.message)),
            ])
        }
        return .object([
            ("fileId", .int(Int(row.fileID))), ("line", .int(row.line)), ("outcome", .string(row.outcome)),
            ("apiStatus", row.apiStatus.map(JSONValue.int) ?? .null), ("key", JSONValue(row.key)), ("reasons", .array(reasons)),
        ])
    }

    public var html: String {
        var page = HTMLPage(title: "Run \(runID) report")
        let verdict: (String, String) =
            switch exitStatus {
            case 0: ("ok", "All good")
            case 1: ("partial", "Finished with refused rows or files")
            case nil: ("partial", "Still running or interrupted")
            default: ("refused", "The run failed")
            }
        let formatter = ISO8601DateFormatter()
        page.raw("<header><h1>Run \(runID) (\(escape(command)))</h1><p class=\"verdict \(verdict.0)\">\(verdict.1)</p>")
        page.raw(
            "<p>Started \(formatter.string(from: startedAt))\(finishedAt.map { ", finished \(formatter.string(from: $0))" } ?? "") on \(escape(host)) (pid \(pid)); status <b>\(escape(status))</b>, exit \(exitStatus.map(String.init) ?? "-"). Feeds polled: \(escape(feeds.joined(separator: ", "))).</p></header>"
        )
        if let error { page.raw("<section class=\"refusal\"><h2>What stopped or failed</h2><p>\(escape(error))</p></section>") }
        let rowsRead: Int = files.compactMap(\.rowsRead).reduce(0, +)
        let acceptedTotal: Int = files.compactMap(\.accepted).reduce(0, +)
        let rejectedTotal: Int = files.compactMap(\.rejected).reduce(0, +)
        let publishedTotal: Int = files.map(\.published).reduce(0, +)
        let failedTotal: Int = files.map(\.failed).reduce(0, +)
        let totals = (rowsRead, acceptedTotal, rejectedTotal, publishedTotal, failedTotal)
        page.raw(
            "<section><h2>Records</h2><table class=\"counts\"><tr><th>files</th><th>rows read</th><th>accepted</th><th>rejected</th><th>published</th><th>refused by the API</th></tr>"
        )
        page.raw(
            "<tr><td>\(files.count)</td><td>\(totals.0)</td><td>\(totals.1)</td><td>\(totals.2)</td><td>\(totals.3)</td><td>\(totals.4)</td></tr></table></section>"
        )
        page.raw("<section><h2>Files</h2>")
        if files.isEmpty {
            page.raw("<p>No file was handled in this run.</p>")
        } else {
            page.raw(
                "<table><tr><th>id</th><th>feed</th><th>file</th><th>state</th><th>rows</th><th>accepted</th><th>rejected</th><th>published</th><th>failed</th><th>why / where</th></tr>"
            )
            for file in files {
                var notes: [String] = []
                if let reason = file.reason { notes.append(escape(reason)) }
                if let error = file.errorMessage, error != file.reason { notes.append("error: " + escape(error)) }
                if let archive = file.archivePath { notes.append("archived as <code>\(escape(archive))</code>") }
                if let sender = file.sender { notes.append("from \(escape(sender))") }
                if !file.attachments.isEmpty { notes.append("attachments: \(escape(file.attachments.joined(separator: ", ")))") }
                if let parity = file.parity {
                    let percent = String(format: "%.3f", parity.agreementPercent)
                    let page = parity.reportPath.map { escape(Self.htmlPath($0)) }
                    notes.append(page.map { "parity <a href=\"\($0)\">\(percent) %</a>" } ?? "parity \(percent) %")
                }
                if let path = file.reconciliationReport { notes.append("<a href=\"\(escape(Self.htmlPath(path)))\">reconciliation report</a>") }
                let rowClass =
                    ["quarantined", "failed"].contains(file.state) ? " class=\"error\"" : (file.state == "left" ? " class=\"warning\"" : "")
                page.raw(
                    "<tr\(rowClass)><td>\(file.id)</td><td>\(escape(file.feed))\(file.feedStatus.map { " <small>(\(escape($0)))</small>" } ?? "")</td><td><code>\(escape(file.sourcePath))</code>\(file.sha256.map { "<br><small>sha256 \($0.prefix(16))...</small>" } ?? "")</td><td>\(escape(file.state))</td><td>\(file.rowsRead.map(String.init) ?? "")</td><td>\(file.accepted.map(String.init) ?? "")</td><td>\(file.rejected.map(String.init) ?? "")</td><td>\(file.published)</td><td>\(file.failed)</td><td>\(notes.joined(separator: "<br>"))</td></tr>"
                )
            }
            page.raw("</table>")
        }
        page.raw("</section><section><h2>Refused rows</h2>")
        if refused.isEmpty {
            page.raw("<p>None.</p>")
        } else {
            page.raw("<table><tr><th>file</th><th>line</th><th>refused by</th><th>code</th><th>field</th><th>column</th><th>reason</th></tr>")
            for row in refused {
                let by = row.outcome == "failed" ? "API (\(row.apiStatus.map(String.init) ?? "?"))" : "mapping"
                for (index, reason) in row.reasons.enumerated() {
                    let lead = index == 0 ? "<td>\(row.fileID)</td><td>\(row.line)</td><td>\(by)</td>" : "<td></td><td></td><td></td>"
                    page.raw(
                        "<tr class=\"error\">\(lead)<td><code>\(escape(reason.code))</code></td><td>\(escape(reason.field ?? ""))</td><td><code>\(escape(reason.column ?? ""))</code></td><td>\(escape(reason.message))</td></tr>"
                    )
                }
            }
            page.raw("</table>")
            for (fileID, more) in refusedNotListed.sorted(by: { $0.key < $1.key }) where more > 0 {
                page.raw("<p>File \(fileID): \(more) more refused rows not listed (see <code>dqt-bridge report</code> JSON or the ledger).</p>")
            }
        }
        page.raw("</section>")
        page.raw(exportsHTML)
        page.raw(
            "<footer>dqt-bridge run report. No value from any file appears here: refusals name the line, field, column and a code.</footer>"
        )
        return page.finished
    }

    /// The HTML page beside a parity report's JSON file.
    static func htmlPath(_ jsonPath: String) -> String {
        jsonPath.hasSuffix(".json") ? String(jsonPath.dropLast(5)) + ".html" : jsonPath
    }
}
