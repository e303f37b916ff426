public import DQTModel
import FlatFile
import Foundation

/// Runs files through one feed's mapping: the reader splits records, each mapped field is converted and checked,
/// the mapping's rules run, the feed's record type (or the body its mapping declares) is built, and the row becomes an
/// API call.
///
/// Streaming throughout: rows go to the sink one by one, and the result keeps only bounded detail.
public struct FeedChecker: Sendable {
    public let feed: FeedDefinition
    public let context: CheckContext

    public init(feed: FeedDefinition, context: CheckContext) {
        self.feed = feed
        self.context = context
    }

    /// Checks one received file.
    /// - Parameters:
    ///   - name: the file's name as received, for the result and the reports.
    ///   - sha256: the received file's SHA-256 (hex), part of every record's idempotency key; for an email, each
    ///     attachment's own SHA-256 takes its place in the keys.
    public func check<Sink: CheckSink>(_ input: CheckInput, name: String, sha256: String, sink: inout Sink) -> CheckResult {
        // One concrete sink type inside: the pipeline is then compiled specialised for each record type and reader.
        // Generic over the caller's sink it ran every row through witness tables and runtime metadata lookups.
        var erased = ErasedSink(base: sink)
        defer { sink = erased.base as! Sink }
        return check(input, name: name, sha256: sha256, erasedSink: &erased)
    }

    private func check(_ input: CheckInput, name: String, sha256: String, erasedSink sink: inout ErasedSink) -> CheckResult {
        var result = CheckResult(feed: feed.id, file: printable(name), sha256: sha256, encoding: feed.format.encoding.rawValue)
        let email: ReceivedEmail
        switch input {
        case .file(let path):
            run(path: path, attachmentSHA256: nil, sender: nil, result: &result, sink: &sink)
            return result
        case .email(.failure(let error)):
            result.refusal = Problem(line: nil, code: "mail-error", message: "the email cannot be read: \(error)")
            return result
        case .email(.success(let received)):
            email = received
        }
        result.sender = email.sender.map(printable)
        // A feed without email settings allows no sender.
        guard let rules = feed.email else {
            result.refusal = Problem(line: nil, code: "sender-not-allowed", message: "the feed takes no email")
            return result
        }
        if let refusal = rules.authenticate(email) {
            result.refusal = Problem(line: nil, code: refusal.code, message: refusal.message)
            return result
        }
        let attachments = email.attachments.filter { rules.takes(attachmentNamed: $0.name) }
        guard !attachments.isEmpty else {
            result.refusal = Problem(
                line: nil, code: "no-attachment", message: "the email has no attachment matching \(rules.attachments.joined(separator: ", "))")
            return result
        }
        for attachment in attachments {
            result.attachments.append(printable(attachment.name))
            run(path: attachment.path, attachmentSHA256: attachment.sha256, sender: email.sender, result: &result, sink: &sink)
            if result.refusal != nil { break }
        }
        return result
    }

    private func run(path: String, attachmentSHA256: String?, sender: String?, result: inout CheckResult, sink: inout ErasedSink) {
        let pipeline = Pipeline(feed: feed, context: context, attachmentSHA256: attachmentSHA256, sender: sender)
        do {
            let source = try FileByteSource(path: path)
            switch feed.format {
            case .delimited(let layout, let counts):
                let reader = try DelimitedReader(source: source, layout: layout)
                var run = PipelineRun(
                    pipeline: pipeline, fieldCounts: counts, headerLine: reader.headerLine, reader: reader, result: result, sink: sink)
                run.start(feed)
                (result, sink) = (run.result, run.sink)
            case .fixedWidth(let layout):
                var run = PipelineRun(
                    pipeline: pipeline, fieldCounts: nil, headerLine: nil, reader: try FixedWidthReader(source: source, layout: layout),
                    result: result, sink: sink)
                run.start(feed)
                (result, sink) = (run.result, run.sink)
                if let totals = layout.controlTotals, result.refusal == nil {
                    result.controlTotals = "the trailer's \(totals.countField) matched the \(result.rowsRead) data records read"
                }
            }
        } catch {
            result.refusal = Pipeline.refusal(for: error)
        }
    }
}

/// What the checker reads: a flat file, or an emailed exchange as the mail intake received it (the caller chooses by
/// the feed's `email` settings).
public enum CheckInput: Sendable {
    case file(path: String)
    /// The email's sender and extracted attachments, or why the email could not be read (refused as `mail-error`).
    case email(Result<ReceivedEmail, any Error>)
}

/// A whole-file refusal found by the mapping stage (e.g. a header without a mapped column).
struct Refusal: Error {
    let problem: Problem
}

/// Any sink behind one type: one dynamic call per row handed over, instead of a whole pipeline generic over it.
private struct ErasedSink: CheckSink {
    var base: any CheckSink
    let wantsCalls: Bool
    let wantsRejectedValues: Bool
    let unmasked: Bool

    init(base: any CheckSink) {
        self.base = base
        (wantsCalls, wantsRejectedValues, unmasked) = (base.wantsCalls, base.wantsRejectedValues, base.unmasked)
    }

    mutating func accepted(_ call: PlannedCall) throws { try base.accepted(call) }
    mutating func rejected(_ row: RejectedRow) throws { try base.rejected(row) }
}

/// One run of the pipeline over one reader, specialised for the feed's record type.
private struct PipelineRun<Reader: RecordReader, Sink: CheckSink>: RecordTypeVisitor {
    let pipeline: Pipeline
    let fieldCounts: [Int]?
    let headerLine: Int?
    var reader: Reader
    var result: CheckResult
    var sink: Sink

    /// Runs the feed's rows through its record type, or through the body its mapping declares.
    mutating func start(_ feed: FeedDefinition) {
        if let record = feed.record {
            record.accept(&self)
        } else {
            let slots = Dictionary(uniqueKeysWithValues: feed.slotNames.enumerated().map { ($1, $0) })
            let pathSlots = feed.operation.placeholders.map { name in (slot: slots[name] ?? 0, name: name) }
            run(DeclaredRowBuilder(operation: feed.operation, body: feed.body, pathSlots: pathSlots))
        }
    }

    mutating func visit<Record: FeedRecord>(_ type: Record.Type) {
        run(TypedRowBuilder<Record>(operation: pipeline.feed.operation))
    }

    private mutating func run(_ builder: some RowBuilder) {
        do {
            try pipeline.run(builder, reader: &reader, headerLine: headerLine, fieldCounts: fieldCounts, result: &result, sink: &sink)
        } catch {
            result.refusal = Pipeline.refusal(for: error)
        }
    }
}

/// A file name or header value made safe to print on a terminal or in a report: control characters (C0, DEL, C1,
/// which could move a terminal's cursor or hide text) become `?`. The name still identifies the file to a person.
public func printable(_ text: String) -> String {
    var out = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
        let value = scalar.value
        out.append(value < 0x20 || (0x7F...0x9F).contains(value) ? "?" : scalar)
    }
    return String(out)
}
