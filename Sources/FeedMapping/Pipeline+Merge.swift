import DQTModel
import Dispatch
import FlatFile
import Foundation
import Synchronization

extension Pipeline {
    /// The in-order stage for one processed batch: duplicates, problems, counts and the sink.
    func merge<Record, Sink: CheckSink>(
        _ batch: RecordBatch.View, outcomes: UnsafeMutablePointer<RowOutcome>, plan: Plan<Record>,
        merger: inout Merger, result: inout CheckResult, sink: inout Sink
    ) throws {
        if !merger.duplicateCheckStopped {
            for index in 0..<batch.count where outcomes[index].built { merger.seen.prefetch(outcomes[index].fingerprint) }
        }
        for index in 0..<batch.count {
            guard let record = batch.record(index) else {
                try report(batch.issue(index)!, plan: plan, result: &result, sink: &sink)
                continue
            }
            var outcome = RowOutcome()
            swap(&outcome, &outcomes[index])
            let typeCode = batch.typeCode(record)
            result.rowsRead += 1
            if let typeCode { result.recordTypes[typeCode, default: 0] += 1 }
            if outcome.built, !merger.duplicateCheckStopped {
                switch merger.seen.insert(outcome.fingerprint) {
                case .inserted: break
                case .present:
                    outcome.built = false
                    outcome.call = nil
                    outcome.problems.append(
                        Problem(
                            line: record.line, code: "duplicate-row",
                            message: feed.uniqueKey.map { "another row earlier in the file has the same \($0.joined(separator: ", "))" }
                                ?? "the same row appears earlier in the file"
                        ))
                case .full:
                    merger.duplicateCheckStopped = true
                    result.record(
                        Problem(
                            line: record.line, code: "duplicate-check-stopped",
                            message: "duplicate rows are not looked for beyond this line (\(FingerprintSet.defaultCapacity) rows remembered)",
                            severity: .warning))
                }
            }
            for problem in outcome.problems { result.record(problem) }
            if outcome.built {
                result.accepted += 1
                if !outcome.problems.isEmpty { result.rowsWithWarnings += 1 }
                if let call = outcome.call { try sink.accepted(call) }
            } else {
                result.rejected += 1
                var exported: [String]?
                if sink.wantsRejectedValues {
                    let masked = Set(plan.fields(typeCode: typeCode).filter(\.pii).map(\.index))
                    exported = (0..<record.count).map { index in
                        masked.contains(index) && !sink.unmasked ? "***" : record.string(index)
                    }
                }
                try sink.rejected(RejectedRow(line: record.line, problems: outcome.problems, values: exported, text: nil))
            }
        }
    }

    /// A reader's row-level issue: the row is rejected (a blank row is only a warning, and not a data row).
    func report<Record>(_ issue: RowIssue, plan: Plan<Record>, result: inout CheckResult, sink: inout some CheckSink) throws {
        // The reader names a cell by its position in the row; say which mapped field that is.
        let fieldName = issue.field.flatMap { index in
            plan.rowFields.first { $0.index == index }.map { plan.specs[$0.profile].name }
        }
        let problem = Problem(
            line: issue.line, field: fieldName, column: issue.column.map(String.init), code: issue.code.rawValue,
            message: issue.message, severity: issue.code == .blankRow ? .warning : .error
        )
        result.record(problem)
        guard issue.code != .blankRow else { return }
        result.rowsRead += 1
        result.rejected += 1
        try sink.rejected(RejectedRow(line: issue.line, problems: [problem], values: nil, text: sink.unmasked ? issue.text : nil))
    }
}
