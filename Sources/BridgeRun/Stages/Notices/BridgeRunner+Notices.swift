public import Foundation
public import Ledger

/// What an operator decides for a notice the sender could not settle.
public enum NoticeResolution: Sendable {
    /// It was sent (seen in the partner's or our own mailbox, or sent by hand): `submitted`, then moved to `sent/` by
    /// the next pass; never sent again.
    case sent
    /// Send it again, with a new retry budget: `pending`.
    case resend
}

extension BridgeRunner {
    /// One pass of the notice stage alone, under the run lock, as its own run row (`command` "notices").
    public func sendNotices() async -> RunOutcome {
        await pass(RunContext(environment: environment), command: "notices", feedNames: [], stages: [NoticeStage()], started: .now)
    }

    /// Records an operator's decision for a `held`, `refused` or `given-up` notice (audited with `reason` and `who`).
    public static func resolveNotice(
        entry: String, _ resolution: NoticeResolution, reason: String, who: String, ledger: any NoticeLedger, at: Date = Date()
    ) async throws -> NoticeRow {
        guard let row = try await ledger.notice(entry: entry) else { throw NoticeLedgerError.unknownEntry(entry) }
        let detail = "resolved by \(who): \(reason)"
        let change =
            switch resolution {
            case .sent: NoticeChange(to: .submitted, detail: "\(detail) (sent)")
            case .resend: NoticeChange(to: .pending, detail: "\(detail) (send again)", resetsAttempts: true)
            }
        return try await ledger.transitionNotice(id: row.id, from: [.held, .refused, .givenUp], change, runID: nil, at: at)
    }
}
