public import BridgeReport
import DQTModel
public import FeedMapping
import Foundation
public import Ledger

/// Builds a run's report from the ledger.
public struct RunReportBuilder: Sendable {
    public let ledger: any LedgerStore
    public let catalog: FeedCatalog?
    /// Refused rows listed per file (the rest are counted).
    public var refusedRowsPerFile = 1000
    /// Where the run wrote its reports: a reconciliation feed's file links its report there when it has one.
    public var reportsFolder: String?

    public init(ledger: any LedgerStore, catalog: FeedCatalog?) {
        self.ledger = ledger
        self.catalog = catalog
    }

    public struct NoSuchRun: Error, CustomStringConvertible {
        public let id: Int64
        public var description: String { "there is no run \(id) in the ledger" }
    }

    public func build(runID: Int64) async throws -> RunReport {
        guard let run = try await ledger.run(id: runID) else { throw NoSuchRun(id: runID) }
        let rows = try await ledger.files(runID: runID)
        var refused: [RunReport.RefusedRow] = []
        var notListed: [Int64: Int] = [:]
        for file in rows {
            let records = try await ledger.records(fileID: file.id, outcomes: [.rejected, .failed], limit: refusedRowsPerFile + 1)
            let total = (file.rejected ?? 0) + file.failed
            for record in records.prefix(refusedRowsPerFile) {
                refused.append(
                    RunReport.RefusedRow(
                        fileID: file.id, line: record.line, outcome: record.outcome.rawValue, apiStatus: record.apiStatus, key: record.key,
                        reasons: Self.reasons(record)))
            }
            if total > refusedRowsPerFile { notListed[file.id] = total - refusedRowsPerFile }
        }
        var files: [RunReport.File] = []
        for file in rows {
            var entry = RunReport.File(
                id: file.id, feed: file.feed, feedStatus: catalog?.feed(id: file.feed)?.status.rawValue, name: file.name,
                sourcePath: file.sourcePath, origin: file.origin.rawValue, state: file.state.rawValue, sha256: file.sha256, size: file.size,
                rowsRead: file.rowsRead, accepted: file.accepted, rejected: file.rejected, published: file.published, failed: file.failed,
                reason: file.reason, errorMessage: file.errorMessage, archivePath: file.archivePath, duplicateOf: file.duplicateOf,
                sender: file.sender, attachments: file.attachments)
            if file.state == .shadowed, let parity = try await ledger.parity(fileID: file.id) {
                entry.parity = (parity.summary.agreement * 100, parity.reportPath)
            }
            if catalog?.feed(id: file.feed)?.reconcile != nil, let reportsFolder {
                let path = "\(reportsFolder)/reconciliations/\(file.feed)-file-\(file.id).json"
                if FileManager.default.fileExists(atPath: path) { entry.reconciliationReport = path }
            }
            files.append(entry)
        }
        var report = RunReport(
            runID: run.id, command: run.command, status: run.status.rawValue, exitStatus: run.exitStatus, startedAt: run.startedAt,
            finishedAt: run.finishedAt, host: run.host, pid: run.pid, feeds: run.feeds, summary: run.summary, error: run.error,
            files: files, refused: refused, refusedNotListed: notListed)
        report.exports = try await ledger.exports(runID: runID).map { export in
            RunReport.Export(
                id: export.id, feed: export.feed, fileName: export.fileName, range: export.range.description, records: export.records,
                size: export.size, sha256: export.sha256, state: export.state.rawValue, destination: export.destination,
                attempts: export.attempts, resendOf: export.resendOf, failureReason: export.failureReason)
        }
        return report
    }

    /// A refused record's reasons: the mapping's problems (an array) or the API's problem document.
    static func reasons(_ record: RecordRow) -> [RunReport.Reason] {
        guard let text = record.problem, let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8)) else {
            return [
                RunReport.Reason(
                    code: record.outcome == .failed ? "api-\(record.apiStatus ?? 0)" : "rejected", field: nil, column: nil,
                    message: "no detail recorded")
            ]
        }
        if let problems = parsed as? [[String: Any]] {
            return problems.filter { ($0["severity"] as? String) != "warning" }.map { problem in
                RunReport.Reason(
                    code: problem["code"] as? String ?? "error", field: problem["field"] as? String, column: problem["column"] as? String,
                    message: problem["message"] as? String ?? "")
            }
        }
        if let problem = parsed as? [String: Any] {
            let code = (problem["errorCode"] as? NSNumber).map { "api-\($0.intValue)" } ?? "api-\(record.apiStatus ?? 0)"
            var message = problem["title"] as? String ?? "refused by the API"
            if let detail = problem["detail"] as? String { message += ": " + detail }
            if let errors = problem["errors"] as? [String: [String]], !errors.isEmpty {
                return errors.keys.sorted().map { field in
                    RunReport.Reason(code: code, field: field, column: nil, message: message + " (" + errors[field]!.joined(separator: "; ") + ")")
                }
            }
            if let location = problem["location"] as? String { message += " (kept record: \(location))" }
            return [RunReport.Reason(code: code, field: nil, column: nil, message: message)]
        }
        return [RunReport.Reason(code: "unknown", field: nil, column: nil, message: "unreadable problem")]
    }
}

extension RunReport {
    /// Writes `run-<id>.json` and `run-<id>.html` into `folder`; returns their paths.
    @discardableResult
    public func write(folder: String) throws -> [String] {
        let json = (folder as NSString).appendingPathComponent("run-\(runID).json")
        let html = (folder as NSString).appendingPathComponent("run-\(runID).html")
        var bytes: [UInt8] = []
        self.json.write(to: &bytes)
        bytes.append(0x0A)
        try Data(bytes).write(to: URL(fileURLWithPath: json), options: .atomic)
        try Data(self.html.utf8).write(to: URL(fileURLWithPath: html), options: .atomic)
        return [json, html]
    }
}
