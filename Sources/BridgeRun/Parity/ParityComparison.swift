public import BridgeReport
import Foundation
public import Ledger

/// Compares one shadow file's records, in line order from the ledger, with its legacy outcome file, in line order
/// from disk: one pass over both, so memory stays flat however long the file (the report lists at most
/// ``ParityReport/listLimit`` rows of each kind and counts the rest). Each planned write is also read back from the API
/// when a ``ReadBack`` is given.
public struct ParityComparison {
    let ledger: any ParityLedger
    let readBack: ReadBack?
    /// Records read from the ledger per query, and GETs in flight at once.
    static let pageSize = 256
    static let readBackConcurrency = 8

    public init(ledger: any ParityLedger, readBack: ReadBack?) {
        self.ledger = ledger
        self.readBack = readBack
    }

    /// Records that cannot be compared by line (an email's attachments each number their lines from 1).
    public struct OutOfOrder: Error, CustomStringConvertible {
        public let fileID: Int64
        public let line: Int
        public var description: String {
            "file \(fileID): record at line \(line) is not after the previous one: parity compares files whose records are in line order"
        }
    }

    public func compare(file: FileRow, legacy: inout LegacyOutcomeReader, into report: inout ParityReport) async throws {
        var pending = try legacy.next()
        var afterSeq = 0
        var lastLine = 0
        while true {
            let page = try await ledger.plannedRecords(fileID: file.id, afterSeq: afterSeq, limit: Self.pageSize)
            guard let last = page.last else { break }
            afterSeq = last.seq
            for record in page {
                guard record.line > lastLine else { throw OutOfOrder(fileID: file.id, line: record.line) }
                lastLine = record.line
                while let row = pending, row.line < record.line {
                    report.matrix.missingInBridge += 1
                    report.add(
                        ParityReport.Disagreement(
                            line: row.line, bridge: .missing, legacy: row.status.rawValue, legacyMessage: row.message, problems: []))
                    pending = try legacy.next()
                }
                var matched: LegacyOutcome?
                if let row = pending, row.line == record.line {
                    matched = row
                    pending = try legacy.next()
                }
                tally(record, legacy: matched, into: &report)
            }
            if let readBack { try await readBackPage(page, with: readBack, into: &report) }
        }
        while let row = pending {
            report.matrix.missingInBridge += 1
            report.add(
                ParityReport.Disagreement(line: row.line, bridge: .missing, legacy: row.status.rawValue, legacyMessage: row.message, problems: []))
            pending = try legacy.next()
        }
        report.legacyRows = legacy.rowsRead
    }

    private func tally(_ record: PlannedRecord, legacy: LegacyOutcome?, into report: inout ParityReport) {
        let bridgeAccepted = record.outcome != .rejected
        let problems = bridgeAccepted ? [] : Self.problems(record.problem)
        guard let legacy else {
            report.matrix.missingInLegacy += 1
            report.add(
                ParityReport.Disagreement(
                    line: record.line, bridge: bridgeAccepted ? .accepted : .rejected, legacy: "missing", legacyMessage: nil, problems: problems))
            return
        }
        switch (bridgeAccepted, legacy.status.accepted) {
        case (true, true): report.matrix.bothAccepted += 1
        case (false, false): report.matrix.bothRejected += 1
        case (true, false), (false, true):
            if bridgeAccepted { report.matrix.onlyBridgeAccepted += 1 } else { report.matrix.onlyLegacyAccepted += 1 }
            report.add(
                ParityReport.Disagreement(
                    line: record.line, bridge: bridgeAccepted ? .accepted : .rejected, legacy: legacy.status.rawValue,
                    legacyMessage: legacy.message, problems: problems))
        }
    }

    /// The page's planned writes, read back a few at a time, added in file order.
    private func readBackPage(_ page: [PlannedRecord], with readBack: ReadBack, into report: inout ParityReport) async throws {
        let writes = page.filter { $0.outcome != .rejected && $0.method != nil && $0.method != "GET" }
        var start = 0
        while start < writes.count {
            let chunk = Array(writes[start..<min(start + Self.readBackConcurrency, writes.count)])
            start += chunk.count
            let outcomes = try await withThrowingTaskGroup(of: (Int, ReadBack.Outcome).self) { group in
                for (index, record) in chunk.enumerated() {
                    group.addTask { (index, try await readBack.classify(method: record.method ?? "", path: record.path ?? "", body: record.body)) }
                }
                var found: [Int: ReadBack.Outcome] = [:]
                for try await (index, outcome) in group { found[index] = outcome }
                return found
            }
            for (index, record) in chunk.enumerated() {
                guard let outcome = outcomes[index] else { continue }
                report.add(ParityReport.ReadBackRow(line: record.line, kind: outcome.kind, fields: outcome.fields, note: outcome.note))
            }
        }
    }

    /// Field and code of each of a rejected record's problems (the ledger's JSON array; no values in it).
    static func problems(_ json: String?) -> [(field: String?, code: String)] {
        guard let json, let array = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [[String: Any]] else { return [] }
        return array.map { (field: $0["field"] as? String, code: $0["code"] as? String ?? "unknown") }
    }
}
