import DQTModel
import Foundation
public import Ledger

/// What one run did, per feed, for the summary, the run row's counts and the exit status.
public struct RunTally: Sendable {
    public struct FeedCounts: Sendable {
        public var filesTaken = 0
        public var left = 0
        public var duplicates = 0
        public var quarantined = 0
        public var published = 0
        public var shadowed = 0
        public var gone = 0
        public var unfinished = 0
        public var rowsRead = 0
        public var recordsAccepted = 0
        public var recordsRejected = 0
        public var recordsPublished = 0
        public var recordsFailed = 0
        public var recordsReplayed = 0
        public var bytes: Int64 = 0
    }

    /// A file handled in this run, as the summary lists it.
    public struct FileNote: Sendable {
        public let id: Int64
        public let feed: String
        public let name: String
        public let state: FileState
        public let note: String
    }

    /// An outbound export the run worked on (or a due feed with nothing new), as the summary lists it.
    public struct ExportNote: Sendable {
        public let feed: String
        public let id: Int64?
        public let name: String?
        public let records: Int
        /// `delivered`, `failed` or `nothing new`.
        public let state: String
        public let note: String
    }

    public var feeds: [String: FeedCounts] = [:]
    public var exports: [ExportNote] = []
    /// The mail outbox's notices the run worked on.
    public var notices: [NoticeOutcome] = []
    /// What the retention stage removed, per class (empty when it did not run).
    public var retention: [RetentionCount] = []
    /// Files left (path -> feed and reason); a file taken later in the same run is removed.
    public var left: [String: (feed: String, reason: String)] = [:]
    public var files: [FileNote] = []
    /// Failures of the run itself (sources unreachable, API down, ledger errors): each makes the exit status 2.
    public var failures: [String] = []
    /// Feeds held back because their mapping does not load (each also a failure).
    public var heldBack: [String] = []
    /// A fatal failure that stopped the run.
    public var fatal: String?
    public var stoppedBySignal = false
    public var interruptedRuns: [Int64] = []

    mutating func update(_ feed: String, _ body: (inout FeedCounts) -> Void) {
        body(&feeds[feed, default: FeedCounts()])
    }

    public var refusals: Bool {
        feeds.values.contains { $0.recordsRejected > 0 || $0.recordsFailed > 0 || $0.quarantined > 0 }
    }

    /// 0 all good, 1 some records or files refused, 2 the run failed.
    public var exitStatus: Int32 {
        if fatal != nil || !failures.isEmpty { return 2 }
        return refusals ? 1 : 0
    }

    public var status: RunStatus {
        switch exitStatus {
        case 0: .succeeded
        case 1: .refusals
        default: .failed
        }
    }

    /// The counts as JSON for the run row.
    public var json: String {
        JSONValue.object([
            (
                "feeds",
                .object(
                    feeds.keys.sorted().map { name in
                        let c = feeds[name]!
                        return (
                            name,
                            .object([
                                ("filesTaken", .int(c.filesTaken)), ("left", .int(left.values.filter { $0.feed == name }.count)),
                                ("duplicates", .int(c.duplicates)), ("quarantined", .int(c.quarantined)), ("published", .int(c.published)),
                                ("shadowed", .int(c.shadowed)), ("gone", .int(c.gone)), ("unfinished", .int(c.unfinished)),
                                ("rowsRead", .int(c.rowsRead)), ("recordsAccepted", .int(c.recordsAccepted)),
                                ("recordsRejected", .int(c.recordsRejected)), ("recordsPublished", .int(c.recordsPublished)),
                                ("recordsFailed", .int(c.recordsFailed)), ("recordsReplayed", .int(c.recordsReplayed)),
                                ("bytes", .int(Int(c.bytes))),
                            ])
                        )
                    })
            ),
            (
                "exports",
                .array(
                    exports.map { note in
                        .object([
                            ("feed", .string(note.feed)), ("id", note.id.map { .int(Int($0)) } ?? .null), ("name", JSONValue(note.name)),
                            ("records", .int(note.records)), ("state", .string(note.state)),
                        ])
                    })
            ),
            (
                "notices",
                .array(
                    notices.map { note in
                        .object([("entry", .string(note.entry)), ("state", .string(note.state.rawValue)), ("detail", .string(note.detail))])
                    })
            ),
            (
                "retention",
                .array(
                    retention.map { count in
                        .object([
                            ("class", .string(count.retentionClass.rawValue)), ("periodDays", count.periodDays.map(JSONValue.int) ?? .null),
                            ("removed", .int(count.deleted)), ("bytes", .int(Int(count.bytes))), ("failed", .int(count.failed)),
                        ])
                    })
            ),
            ("failures", .array(failures.map(JSONValue.string))),
            ("heldBack", .array(heldBack.map(JSONValue.string))),
            ("fatal", JSONValue(fatal)),
            ("stoppedBySignal", .bool(stoppedBySignal)),
            ("interruptedRuns", .array(interruptedRuns.map { .int(Int($0)) })),
        ]).serialized
    }

    /// The one-screen summary printed at the end of the run.
    public func summary(runID: Int64, seconds: Double, command: String = "run") -> String {
        var lines: [String] = []
        let verdict =
            switch exitStatus {
            case 0: "all good"
            case 1: "finished with refused records or files"
            default: "FAILED"
            }
        lines.append("dqt-bridge \(command) \(runID): \(verdict) (exit \(exitStatus)) in \(String(format: "%.1f", seconds)) s")
        if !interruptedRuns.isEmpty {
            lines.append("  resumed after interrupted run(s) \(interruptedRuns.map(String.init).joined(separator: ", "))")
        }
        if let fatal { lines.append("  stopped: \(fatal)") }
        if !heldBack.isEmpty { lines.append("  held back (mapping does not load): \(heldBack.joined(separator: ", "))") }
        if stoppedBySignal { lines.append("  stopped early on a signal, after finishing the file in hand") }
        let header =
            "  " + pad("feed", 22) + pad("files", 6) + pad("left", 5) + pad("dup", 4) + pad("quar", 5)
            + pad("rows", 8) + pad("accepted", 9) + pad("rejected", 9) + pad("published", 10) + pad("failed", 7) + "shadow"
        if !feeds.isEmpty || !left.isEmpty {
            lines.append(header)
            let names = Set(feeds.keys).union(left.values.map(\.feed)).sorted()
            for name in names {
                let c = feeds[name] ?? FeedCounts()
                let leftCount = left.values.filter { $0.feed == name }.count
                lines.append(
                    "  " + pad(Self.display(name), 22) + pad("\(c.filesTaken)", 6) + pad("\(leftCount)", 5) + pad("\(c.duplicates)", 4)
                        + pad("\(c.quarantined)", 5) + pad("\(c.rowsRead)", 8) + pad("\(c.recordsAccepted)", 9)
                        + pad("\(c.recordsRejected)", 9) + pad("\(c.recordsPublished)", 10) + pad("\(c.recordsFailed)", 7)
                        + "\(c.shadowed > 0 ? "\(c.shadowed) file(s)" : "-")")
            }
        } else if exports.isEmpty && notices.isEmpty {
            lines.append("  nothing new")
        }
        for count in retention where command == "retention" || count.deleted > 0 || count.failed > 0 {
            lines.append("  " + Self.retentionLine(count))
        }
        for note in exports {
            let what = note.id.map { "export \($0) \(note.name ?? "")" } ?? "no export"
            lines.append("  \(Self.display(note.feed)) \(what): \(note.state), \(note.records) records - \(note.note)")
        }
        for note in notices.prefix(8) { lines.append("  notice \(note.entry): \(note.state.rawValue) - \(note.detail)") }
        if notices.count > 8 { lines.append("  ... and \(notices.count - 8) more notices (see the report)") }
        let notable = files.filter { $0.state != .published && $0.state != .shadowed }
        for file in notable.prefix(8) {
            lines.append("  file \(file.id) \(Self.display(file.feed)) \(file.name): \(file.state.rawValue) - \(file.note)")
        }
        if notable.count > 8 { lines.append("  ... and \(notable.count - 8) more (see the report)") }
        for (path, entry) in left.sorted(by: { $0.key < $1.key }).prefix(5) {
            lines.append("  left \(path): \(entry.reason)")
        }
        if left.count > 5 { lines.append("  ... and \(left.count - 5) more files left for a later run") }
        for failure in failures.prefix(5) { lines.append("  failure: \(failure)") }
        if failures.count > 5 { lines.append("  ... and \(failures.count - 5) more failures (see the log)") }
        lines.append("  report: dqt-bridge report \(runID)")
        return lines.joined(separator: "\n")
    }

    /// `retention archivedFiles (90 days): removed 3 (12345 bytes), 0 failed, oldest kept 2026-09-08T03:00:00Z`.
    public static func retentionLine(_ count: RetentionCount) -> String {
        let period = count.periodDays.map { " (\($0) days)" } ?? ""
        let bytes = count.retentionClass == .archivedFiles || count.retentionClass == .reports ? " (\(count.bytes) bytes)" : ""
        let kept = count.oldestKept.map { $0.formatted(Date.ISO8601FormatStyle()) } ?? "none"
        return "retention \(count.retentionClass.rawValue)\(period): removed \(count.deleted)\(bytes), \(count.failed) failed, oldest kept \(kept)"
    }

    /// A mail drop's name (an email no feed took) reads as "mail drop <folder>".
    static func display(_ feed: String) -> String {
        MailDropRoute(ledgerFeedName: feed).map { "mail drop \($0.folder)" } ?? feed
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
