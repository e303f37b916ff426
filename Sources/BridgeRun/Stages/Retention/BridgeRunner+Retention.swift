import Foundation
import Ledger

extension BridgeRunner {
    /// `dqt-bridge retention`: the ``RetentionStage`` alone, under the run lock, as its own run row (`command`
    /// "retention"). A dry run takes no lock, writes no row and removes nothing: it says what would go, per class.
    public func retention(dryRun: Bool) async -> RunOutcome {
        let context = RunContext(environment: environment)
        guard dryRun else {
            return await pass(context, command: "retention", feedNames: [], stages: [RetentionStage()], started: ContinuousClock.now)
        }
        let now = environment.clock()
        let settings = environment.configuration.retention
        var lines = ["dqt-bridge retention --dry-run: nothing removed or recorded; as of \(Self.timestamp(now))"]
        do {
            try await environment.ledger.migrate()
            let holds = try await RetentionStage.holds(context)
            for retentionClass in RetentionClass.allCases {
                let cutoff = settings.cutoff(retentionClass, now: now)
                let preview: RetentionPreview
                var bytes: Int64?
                if retentionClass == .reports {
                    let names = try await RetentionStage.undeliveredExportNames(context)
                    let result = ReportsSweep(roots: context.reportFolders, protected: names).sweep(before: cutoff, dryRun: true)
                    preview = RetentionPreview(count: result.removed, oldest: result.oldestRemoved)
                    bytes = result.bytes
                } else {
                    preview = try await environment.ledger.retentionDue(retentionClass, before: cutoff, holds: holds)
                }
                lines.append(
                    "  \(Self.describe(retentionClass, days: settings.days(retentionClass), cutoff: cutoff)): would remove \(preview.count)"
                        + (bytes.map { " (\($0) bytes)" } ?? "") + (preview.oldest.map { ", the oldest from \(Self.timestamp($0))" } ?? ""))
            }
        } catch {
            return RunOutcome(
                runID: nil, exitStatus: 2, summary: "dqt-bridge retention --dry-run: the ledger database cannot be used: \(error)",
                tally: context.tally, lockHeldElsewhere: false)
        }
        return RunOutcome(runID: nil, exitStatus: 0, summary: lines.joined(separator: "\n"), tally: context.tally, lockHeldElsewhere: false)
    }

    /// `archivedFiles (90 days: before 2026-09-07T03:00:00Z)`.
    static func describe(_ retentionClass: RetentionClass, days: Int, cutoff: Date) -> String {
        "\(retentionClass.rawValue) (\(days) days: before \(timestamp(cutoff)))"
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle())
    }
}
