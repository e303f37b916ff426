import BridgeReport
import DQTModel
import FeedMapping
import Foundation
import Ledger
import Logging

extension FileStateMachine {
    /// A reconciliation feed's file, once checked and staged (its reads are never published): compared with the API's
    /// alerts of its source, the report written as `<reportsFolder>/reconciliations/<feed>-file-<id>.json` and
    /// `.html` (TRNs masked). It runs where the file is checked, which the ledger does once per file, so a later run
    /// or a replay of the same content does not compare it again. A file with rejected rows gets no report (the
    /// rejected rows are in the run report): a comparison of part of a full file would be wrong. Nothing here stops
    /// the run: a report that cannot be made is logged as a warning.
    /// A reconciliation feed's file with rejected rows is refused whole (quarantined), its first problem located.
    static func wholeFileRefusal(_ feed: FeedDefinition, _ result: CheckResult) -> Problem? {
        guard feed.reconcile != nil, result.rejected > 0 else { return nil }
        let first = result.errors.first
        let at = first.map { " (first: line \($0.line.map(String.init) ?? "-")\($0.field.map { " field \($0)" } ?? ""), \($0.code))" } ?? ""
        return Problem(
            line: first?.line, field: first?.field, code: "reconciliation-rows-rejected",
            message: "\(result.rejected) rows rejected\(at): a reconciliation compares whole files")
    }

    func reconcile(_ file: FileRow, feed: FeedDefinition, input: CheckInput, sha256: String, rejected: Int, logger: Logger) async {
        guard rejected == 0 else {
            logger.warning("reconciliation not made: the file has rejected rows", metadata: ["rejected": "\(rejected)"])
            return
        }
        guard let alerts = context.environment.sourceAlerts, let folder = context.configuration.reportsFolder,
            let reconciliation = Reconciliation(feed: feed, alerts: alerts)
        else {
            logger.warning("reconciliation not made: no API or no reportsFolder in this run")
            return
        }
        do {
            let outcome = try await reconciliation.run(input, name: file.name, sha256: sha256, today: context.checkContext.today, unmasked: false)
            guard case .reconciled(let report, _) = outcome else {
                logger.warning("reconciliation not made: the file's kind is not known from its attachment's name")
                return
            }
            let base = "\(folder)/reconciliations/\(feed.id)-file-\(file.id)"
            try FileManager.default.createDirectory(atPath: "\(folder)/reconciliations", withIntermediateDirectories: true)
            let json = try OutputFile(path: base + ".json")
            var bytes: [UInt8] = []
            report.json.write(to: &bytes)
            bytes.append(0x0A)
            try json.write(bytes)
            try json.close()
            let html = try OutputFile(path: base + ".html")
            try html.write(report.html)
            try html.close()
            let c = report.counts
            logger.info(
                "reconciled",
                metadata: [
                    "scope": "\(report.scope)", "matched": "\(c.matched)", "only_in_theirs": "\(c.onlyInTheirs)",
                    "only_in_ours": "\(c.onlyInOurs)", "different": "\(c.different)",
                ])
        } catch {
            logger.warning("reconciliation not made", metadata: ["error": "\(error)"])
        }
    }
}
