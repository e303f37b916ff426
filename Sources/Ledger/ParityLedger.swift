public import Foundation

/// Shadow parity and lifecycle moves: what each shadow file's comparison with its legacy job found, the planned calls
/// it compares, and every change of a feed's status with its evidence.
///
/// Invariant: a shadow record keeps its planned body only for its feed's parity window; ``wipeShadowBodies(feed:before:)``
/// drops it afterwards, as acknowledging drops a published record's body.
public protocol ParityLedger: Sendable {
    /// Up to `limit` records of a file after `afterSeq`, in file order, with their planned calls (method, path and, while
    /// kept, body) and the mapping's problems for rejected ones.
    func plannedRecords(fileID: Int64, afterSeq: Int, limit: Int) async throws -> [PlannedRecord]

    /// Drops the bodies of `feed`'s shadow records whose files were received before `before`; returns how many.
    @discardableResult
    func wipeShadowBodies(feed: String, before: Date) async throws -> Int

    /// Records one file's parity (replacing an earlier comparison of the same file).
    func recordParity(_ result: ParityResult) async throws

    /// The parity of the feed's most recently received compared files, newest file first, at most `limit`.
    func parityHistory(feed: String, limit: Int) async throws -> [ParitySummary]

    /// The recorded parity of one file, if it was compared.
    func parity(fileID: Int64) async throws -> ParityResult?

    /// Records a change of a feed's status (after the mapping was changed).
    func recordPromotion(_ promotion: Promotion) async throws

    /// The feed's recorded status changes, newest first, at most `limit`.
    func promotions(feed: String, limit: Int) async throws -> [Promotion]
}

/// A staged record with its planned call, as parity reads it.
public struct PlannedRecord: Sendable {
    public let seq: Int
    public let line: Int
    public let key: String?
    public let outcome: RecordOutcome
    public let method: String?
    public let path: String?
    /// The planned body (JSON text); nil once wiped, or for a call without one.
    public let body: String?
    /// The mapping's problems (a JSON array) for a rejected record.
    public let problem: String?

    public init(
        seq: Int, line: Int, key: String?, outcome: RecordOutcome, method: String?, path: String?, body: String?, problem: String?
    ) {
        self.seq = seq
        self.line = line
        self.key = key
        self.outcome = outcome
        self.method = method
        self.path = path
        self.body = body
        self.problem = problem
    }
}

/// One file's recorded parity: the summary, the read-back's counts and where the report was written.
public struct ParityResult: Sendable, Equatable {
    public var summary: ParitySummary
    /// Planned writes by read-back class (`noOp`, `wouldChange`, `wouldCreate`, `unavailable`).
    public var readBack: [String: Int]
    /// The report's JSON file (the HTML page beside it has the same name with `.html`).
    public var reportPath: String?

    public init(summary: ParitySummary, readBack: [String: Int], reportPath: String?) {
        self.summary = summary
        self.readBack = readBack
        self.reportPath = reportPath
    }
}

/// A change of a feed's status: who made it, when, and what justified it.
public struct Promotion: Sendable, Equatable {
    public var feed: String
    public var from: String
    public var to: String
    public var at: Date
    public var by: String
    /// What the bar saw (files and agreements, or the legacy folder's quiet period), in words.
    public var evidence: String
    /// Set when the bar was overridden: the operator's reason.
    public var overrideReason: String?

    public init(feed: String, from: String, to: String, at: Date, by: String, evidence: String, overrideReason: String?) {
        self.feed = feed
        self.from = from
        self.to = to
        self.at = at
        self.by = by
        self.evidence = evidence
        self.overrideReason = overrideReason
    }
}
