public import Foundation

/// Where a notice (one mail outbox entry, sent as one email) stands. A notice leaves the outbox exactly once:
///
///     pending ─▶ submitting ─▶ submitted ─▶ sent            (the entry moved to `sent/`)
///        ▲           │
///        │           ├─▶ refused      the server answered 5xx: sending again cannot help
///        │           ├─▶ given-up     4xx or no connection, attempts exhausted
///        └───────────┴─▶ held         the outcome is unknown and nothing can prove it (no sent copy to look in)
///
/// `submitting` is written before the transaction starts, so a crash between the server's reply and the ledger's
/// commit leaves `submitting`: the next pass proves what happened from the sent copy before anything is sent again.
/// An operator's resolution takes `held`, `refused` or `given-up` back to `pending` (send again) or to `submitted`.
public enum NoticeState: String, Sendable, CaseIterable, Codable {
    case pending
    case submitting
    case submitted
    case sent
    case refused
    case givenUp = "given-up"
    case held

    /// States a pass works on; the others wait for an operator (or are done).
    public var isOpen: Bool { self == .pending || self == .submitting || self == .submitted }
}

/// One notice as the ledger knows it.
public struct NoticeRow: Sendable, Equatable {
    public var id: Int64
    /// The outbox entry's folder name (unique).
    public var entry: String
    /// Without angle brackets; derived from the entry and its attachment's hash, so every attempt carries the same.
    public var messageID: String
    public var sha256: String
    public var size: Int64
    public var recipients: [String]
    public var subject: String
    public var state: NoticeState
    /// Submission attempts counted against the retry budget (reset by an operator's `--resend`).
    public var attempts: Int
    public var lastAttemptAt: Date?
    /// The server's last reply (the 250 with its queue id, or the refusal).
    public var reply: String?
    public var queueID: String?
    public var submittedAt: Date?
    public var sentAt: Date?
    /// Also the message's Date header, so every attempt sends the same bytes.
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Int64, entry: String, messageID: String, sha256: String, size: Int64, recipients: [String], subject: String, state: NoticeState,
        attempts: Int = 0, lastAttemptAt: Date? = nil, reply: String? = nil, queueID: String? = nil, submittedAt: Date? = nil,
        sentAt: Date? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.entry = entry
        self.messageID = messageID
        self.sha256 = sha256
        self.size = size
        self.recipients = recipients
        self.subject = subject
        self.state = state
        self.attempts = attempts
        self.lastAttemptAt = lastAttemptAt
        self.reply = reply
        self.queueID = queueID
        self.submittedAt = submittedAt
        self.sentAt = sentAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// One audited transition of a notice.
public struct NoticeEvent: Sendable, Equatable {
    public var noticeID: Int64
    public var at: Date
    public var from: NoticeState?
    public var to: NoticeState
    /// The run that made it; nil for an operator's resolution.
    public var runID: Int64?
    /// Why: the attempt, the server's reply, the proof found, the operator's reason.
    public var detail: String

    public init(noticeID: Int64, at: Date, from: NoticeState?, to: NoticeState, runID: Int64?, detail: String) {
        self.noticeID = noticeID
        self.at = at
        self.from = from
        self.to = to
        self.runID = runID
        self.detail = detail
    }
}

/// What a transition changes besides the state.
public struct NoticeChange: Sendable {
    public var to: NoticeState
    public var detail: String
    /// Replaces the recorded reply when given.
    public var reply: String?
    public var queueID: String?
    /// An attempt starts: `attempts` + 1 and `lastAttemptAt` = the transition's time.
    public var startsAttempt: Bool
    /// An operator grants a new retry budget.
    public var resetsAttempts: Bool

    public init(
        to: NoticeState, detail: String, reply: String? = nil, queueID: String? = nil, startsAttempt: Bool = false, resetsAttempts: Bool = false
    ) {
        self.to = to
        self.detail = detail
        self.reply = reply
        self.queueID = queueID
        self.startsAttempt = startsAttempt
        self.resetsAttempts = resetsAttempts
    }
}

public enum NoticeLedgerError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownNotice(Int64)
    case unknownEntry(String)
    /// The notice is not in a state the transition starts from (another process moved it, or an operator's mistake).
    case unexpectedState(entry: String, state: NoticeState, expected: [NoticeState])
    /// The entry is registered with other bytes: an outbox entry's attachment never changes.
    case contentChanged(entry: String, recorded: String, now: String)

    public var description: String {
        switch self {
        case .unknownNotice(let id): "no notice \(id)"
        case .unknownEntry(let entry): "no notice for the outbox entry \(entry)"
        case .unexpectedState(let entry, let state, let expected):
            "notice \(entry) is \(state.rawValue), not \(expected.map(\.rawValue).joined(separator: " or "))"
        case .contentChanged(let entry, let recorded, let now):
            "notice \(entry): the attachment's SHA-256 is \(now), the ledger recorded \(recorded)"
        }
    }
}

/// The notices sent from the mail outbox, their state machine (``NoticeState``) and its audit trail. Every transition
/// is one transaction with its ``NoticeEvent`` and checks the state it starts from, so two writers can never both
/// move a notice on.
public protocol NoticeLedger: Sendable {
    func notice(id: Int64) async throws -> NoticeRow?
    func notice(entry: String) async throws -> NoticeRow?

    /// Registers an outbox entry as `pending`; returns the existing row when the entry is known (same SHA-256, else
    /// ``NoticeLedgerError/contentChanged(entry:recorded:now:)``).
    func registerNotice(
        entry: String, messageID: String, sha256: String, size: Int64, recipients: [String], subject: String, runID: Int64, at: Date
    ) async throws -> NoticeRow

    /// Moves a notice from one of `from` to `change.to`, audited. Throws ``NoticeLedgerError/unexpectedState(entry:state:expected:)``
    /// when it is elsewhere.
    @discardableResult
    func transitionNotice(id: Int64, from: [NoticeState], _ change: NoticeChange, runID: Int64?, at: Date) async throws -> NoticeRow

    /// Notices in these states (all when nil), oldest first.
    func notices(states: [NoticeState]?) async throws -> [NoticeRow]

    /// A notice's transitions, oldest first.
    func noticeEvents(id: Int64) async throws -> [NoticeEvent]
}
