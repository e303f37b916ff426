import DQTModel
import Dispatch
import FlatFile
import Foundation
import Synchronization

extension Pipeline.Plan {
    /// Converts, checks and builds one row. Runs on any worker thread; touches only the worker's own counters.
    func process(_ record: RecordView, typeCode: String?, counters: inout Pipeline.WorkerCounters) -> Pipeline.RowOutcome {
        withFields(typeCode: typeCode) { fields in process(record, typeCode: typeCode, fields: fields, counters: &counters) }
    }

    private func process(
        _ record: RecordView, typeCode: String?, fields: UnsafeBufferPointer<Pipeline.BoundField>, counters: inout Pipeline.WorkerCounters
    ) -> Pipeline.RowOutcome {
        var outcome = Pipeline.RowOutcome()
        var genderDigit: UInt8?

        if let expectedCounts, !expectedCounts.contains(record.count) {
            let missing = record.count < (expectedCounts.min() ?? 0)
            let column =
                header.flatMap { header in record.count < header.count ? header[record.count] : nil }
                ?? "#\(min(record.count, expectedCounts.max() ?? 0) + 1)"
            outcome.problems.append(
                Problem(
                    line: record.line, column: column, code: missing ? "missing-cell" : "extra-cell",
                    message: "the row has \(record.count) cells; the layout has \(expectedCounts.map(String.init).joined(separator: " or "))"
                ))
        } else if expectedCounts == nil, record.count < minimumCount {
            outcome.problems.append(
                Problem(
                    line: record.line, column: "#\(record.count + 1)", code: "missing-cell",
                    message: "the row has \(record.count) cells; the mapping reads \(minimumCount)"
                ))
        }

        // The counters' storage is lent once per row, not checked for sharing at every field.
        let (tallies, values, unmapped) = (counters.tallies, counters.values, counters.unmapped)
        counters.row.withUnsafeMutableBufferPointer { row in
            row.update(repeating: .absent)
            checks.withUnsafeBufferPointer { checks in
                for field in fields where !(field.fromContinuation && field.index >= record.count) {
                    tallies[field.profile].rows += 1
                    let bytes = record.bytes(field.index)
                    if bytes.isEmpty || record.isNull(field.index) {
                        if field.required {
                            outcome.problems.append(
                                problem(record.line, specs[field.profile], code: "constraint-error", message: "a value is required"))
                        }
                        continue
                    }
                    tallies[field.profile].filled += 1
                    if field.countsValues { values[field.profile].count(bytes) }
                    switch checks[field.profile].convert(bytes, context: pipeline.context, tables: tables) {
                    case .value(let value, let digit):
                        row[field.slot] = value
                        if let digit { genderDigit = digit }
                    case .failure(let code, let message):
                        tallies[field.profile].invalid += 1
                        outcome.problems.append(
                            problem(record.line, specs[field.profile], code: code, message: message, severity: field.warnOnly ? .warning : .error))
                    case .unmapped(let code):
                        tallies[field.profile].invalid += 1
                        unmapped[field.profile][code, default: 0] += 1
                        let table = tables.lookups[checks[field.profile].table]
                        outcome.problems.append(
                            problem(
                                record.line, specs[field.profile], code: "constraint-error", message: "the code has no entry in lookup \(table.name)",
                                severity: field.warnOnly ? .warning : .error))
                    }
                }
            }
        }

        for field in emailFields {
            let spec = specs[field.profile]
            switch field.conversion {
            case .value(let value, _)?:
                counters.row[field.slot] = value
            case nil:
                if spec.required {
                    outcome.problems.append(problem(record.line, spec, code: "constraint-error", message: "only an email has this value"))
                }
            case .failure(let code, let message)?:
                outcome.problems.append(problem(record.line, spec, code: code, message: message))
            case .unmapped?:
                let table = tables.lookups[checks[field.profile].table]
                outcome.problems.append(
                    problem(record.line, spec, code: "constraint-error", message: "the email's value has no entry in lookup \(table.name)"))
            }
        }

        if !outcome.problems.contains(where: { $0.severity == .error }) {
            // Through a pointer: a rule is read where it is, not copied out of the array for every row.
            rules.withUnsafeBufferPointer { rules in
                for index in rules.indices {
                    let bound = rules.baseAddress! + index
                    if bound.pointee.rule.holds({ counters.row[bound.pointee.slots[$0]] }) { continue }
                    let rule = bound.pointee.rule
                    let column = fields.first { specs[$0.profile].name == rule.field }.map { specs[$0.profile].source.description }
                    outcome.problems.append(
                        Problem(line: record.line, field: rule.field, column: column, code: "rule-error", message: "\(rule.id): \(rule.message)"))
                }
            }
        }
        guard !outcome.problems.contains(where: { $0.severity == .error }) else { return outcome }

        do {
            let built = try builder.build(
                counters.row, recordType: typeCode, genderDigit: genderDigit, wantsCall: wantsCalls)
            for warning in built.warnings {
                outcome.problems.append(
                    Problem(line: record.line, field: warning.field, code: warning.code, message: warning.message, severity: .warning))
            }
            outcome.built = true
            if wantsCalls {
                let feed = pipeline.feed
                outcome.call = PlannedCall(
                    feed: feed.id, line: record.line,
                    key: IdempotencyKey.make(feed: feed.id, contentSHA256: sha256, line: record.line),
                    method: feed.operation.method, path: built.path, body: built.body,
                    expectation: built.expectation
                )
            }
        } catch {
            let column = fields.first { specs[$0.profile].name == error.field }.map { specs[$0.profile].source.description }
            outcome.problems.append(Problem(line: record.line, field: error.field, column: column, code: error.code, message: error.message))
            return outcome
        }

        // The row's fingerprint for duplicate detection: the unique key's cells, else every cell.
        var hasher = FastHash()
        if let indexes = typeCode.map({ uniqueIndexes?[$0] }) ?? rowUniqueIndexes {
            for index in indexes {
                hasher.combine(record.bytes(index))
                hasher.combine(separator: 0x1F)
            }
        } else {
            for index in 0..<record.count {
                hasher.combine(record.bytes(index))
                hasher.combine(separator: 0x1F)
            }
        }
        outcome.fingerprint = hasher.finalize()
        return outcome
    }

    private func problem(_ line: Int, _ spec: FieldSpec, code: String, message: String, severity: Severity = .error) -> Problem {
        Problem(line: line, field: spec.name, column: spec.source.description, code: code, message: message, severity: severity)
    }
}
