public import BridgeReport
public import DQTModel
public import FeedMapping
public import Foundation

/// A reconciliation feed's file turned into a report: the rows are read and checked through the feed's mapping (so a
/// malformed file is refused with located problems, exactly as any feed's), each accepted row's case is sorted by
/// reference in bounded memory (``CaseSorter``), and the sorted cases are merged with the API's alerts of the source
/// (``Reconciler``). Nothing is written to the API.
///
/// A file with any rejected row is refused as a whole: a comparison of part of a full file would list every case
/// of the missing rows as "only in ours".
public struct Reconciliation: Sendable {
    public enum Outcome: Sendable {
        case reconciled(ReconciliationReport, CheckResult)
        /// The check's result holds the refusal or the rejected rows, each with line, field and code.
        case refused(CheckResult)
    }

    public let feed: FeedDefinition
    public let settings: ReconcileSettings
    public let alerts: any SourceAlerts
    /// Cases held in memory before a sorted run is written to disk.
    public var runLimit = 50_000
    /// Alerts asked for per page.
    public var pageSize = 500

    /// nil when the feed has no `reconcile:` section.
    public init?(feed: FeedDefinition, alerts: any SourceAlerts) {
        guard let settings = feed.reconcile else { return nil }
        self.feed = feed
        self.settings = settings
        self.alerts = alerts
    }

    /// Checks and compares one received file (`name` as received: a flat file's name, or the email's).
    public func run(_ input: CheckInput, name: String, sha256: String, today: LocalDate, unmasked: Bool, at time: Date = Date()) async throws
        -> Outcome
    {
        var sink = CaseSink(sorter: CaseSorter(runLimit: runLimit))
        defer { sink.sorter.removeFiles() }
        var result = FeedChecker(feed: feed, context: CheckContext(today: today, countsValues: false)).check(
            input, name: name, sha256: sha256, sink: &sink)
        if let failure = sink.failure { throw failure }
        if result.refusal != nil || result.rejected > 0 { return .refused(result) }
        let scopes = Set(scopeNames(input, name: name).map(settings.scope(ofFileNamed:)))
        guard scopes.count == 1, let scope = scopes.first ?? nil else {
            let kinds = settings.kinds.map { "\($0.scope.rawValue) \($0.pattern)" }.joined(separator: ", ")
            result.refusal = Problem(
                line: nil, code: "reconciliation-kind-unknown", message: "the file's name says neither weekly nor monthly (\(kinds)), or says both")
            return .refused(result)
        }
        var report = ReconciliationReport(
            feed: feed.id, file: result.attachments.first ?? result.file, sha256: sha256, scope: scope.rawValue, source: settings.source,
            comparedFields: settings.compared.map(\.rawValue), comparedAt: time, unmasked: unmasked)
        var sorted = try sink.sorter.sorted()
        try await Reconciler(settings: settings, scope: scope, alerts: alerts, pageSize: pageSize).merge(&sorted, into: &report)
        return .reconciled(report, result)
    }

    /// The names that say a file's kind: a flat file's own, or an email's attachments that the feed takes.
    private func scopeNames(_ input: CheckInput, name: String) -> [String] {
        guard case .email(.success(let email)) = input, let rules = feed.email else { return [name] }
        return email.attachments.map(\.name).filter { rules.takes(attachmentNamed: $0) }
    }
}

/// Collects the accepted rows' cases into the sorter. A failure to write a sort run stops the check and is rethrown.
struct CaseSink: CheckSink {
    var sorter: CaseSorter
    var failure: (any Error)?
    var wantsCalls: Bool { true }
    var wantsRejectedValues: Bool { false }
    var unmasked: Bool { false }

    mutating func accepted(_ call: PlannedCall) throws {
        guard let item = PartnerCase(expectation: call.expectation, line: call.line) else {
            throw CaseSorter.SpillError(description: "line \(call.line) was accepted without the case it states")
        }
        do {
            try sorter.add(item)
        } catch {
            failure = error
            throw error
        }
    }

    mutating func rejected(_ row: RejectedRow) throws {}
}
