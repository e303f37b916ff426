import DQTModel
import Dispatch
import FlatFile

/// The per-row work of a check, for one file (or one email attachment) of one feed.
///
/// Rows are read in batches. Each batch's rows are converted, checked and built into records on every core at
/// once (that work is independent per row); then, in file order and on one thread, duplicates are looked for,
/// problems and counts recorded and rows handed to the sink. So the output is the same as a sequential run's.
struct Pipeline: Sendable {
    let feed: FeedDefinition
    let context: CheckContext
    let attachment: String?
    let sender: String?

    static let batchSize = 4096

    /// A mapped field resolved against this file: where its bytes are and where its value goes. Kept small and
    /// free of references, so the per-row loop copies no strings; the full spec is at `specs[profile]`.
    struct BoundField: Sendable {
        let slot: Int
        let index: Int
        let profile: Int
        let required: Bool
        let warnOnly: Bool
        let pii: Bool
        /// From a continuation line: absent, not missing, when no continuation was joined to the row.
        let fromContinuation: Bool
    }

    /// What the parallel stage found in one row.
    struct RowOutcome: Sendable {
        var problems: [Problem] = []
        var call: PlannedCall?
        /// Built into a record with no error found (duplicates are decided later, in file order).
        var built = false
        var fingerprint: UInt64 = 0
    }

    /// Per-worker counters, merged into the field profiles at the end.
    struct WorkerCounters: Sendable {
        var filled: [Int]
        var invalid: [Int]
        var rows: [Int]
        var unmapped: [[String: Int]]
        var values: [FieldValue]

        init(fields: Int, slots: Int) {
            filled = Array(repeating: 0, count: fields)
            invalid = Array(repeating: 0, count: fields)
            rows = Array(repeating: 0, count: fields)
            unmapped = Array(repeating: [:], count: fields)
            values = Array(repeating: .absent, count: slots)
        }
    }

    /// Everything about this file's layout that every row needs, resolved once.
    struct Plan<Record: FeedRecord>: Sendable {
        let pipeline: Pipeline
        let specs: [FieldSpec]
        let types: [FieldType]
        let bound: [String: [BoundField]]
        let rowFields: [BoundField]
        let expectedCounts: [Int]?
        let minimumCount: Int
        let header: [String]?
        let rules: [(Rule, [(String, Int)])]
        let uniqueIndexes: [String: [Int]]?
        let wantsCalls: Bool
        let sha256: String

        func fields(for record: FlatRecord) -> [BoundField] {
            record.typeCode.map { bound[$0] ?? [] } ?? rowFields
        }
    }

    static func refusal(for error: any Error) -> Problem {
        switch error {
        case let refusal as FileRefusal: Problem(line: refusal.line, code: refusal.code.rawValue, message: refusal.message)
        case let refusal as Refusal: refusal.problem
        default: Problem(line: nil, code: "io-error", message: "\(error)")
        }
    }

    /// - Parameter headerLine: the header's physical line (after any preamble), for refusals about the header.
    func run<Record: FeedRecord, Reader: RecordReader, Sink: CheckSink>(
        _ type: Record.Type, reader: inout Reader, headerLine: Int?, fieldCounts: [Int]?, result: inout CheckResult, sink: inout Sink
    ) throws {
        let plan: Plan<Record> = try makePlan(
            header: reader.header, headerLine: headerLine, fieldCounts: fieldCounts, wantsCalls: sink.wantsCalls, sha256: result.sha256
        )
        if result.fields.isEmpty { result.fields = feed.fields.map(FieldProfile.init(spec:)) }
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))
        var counters = Array(repeating: WorkerCounters(fields: plan.specs.count, slots: Record.Field.allCases.count), count: workers)
        defer {
            for counter in counters {
                for index in result.fields.indices {
                    result.fields[index].rows += counter.rows[index]
                    result.fields[index].filled += counter.filled[index]
                    result.fields[index].invalid += counter.invalid[index]
                    for (code, count) in counter.unmapped[index] { result.fields[index].countUnmapped(code, count) }
                }
            }
        }
        var seen = FingerprintSet(capacity: FingerprintSet.defaultCapacity)
        var duplicateCheckStopped = false
        var batch: [ReadItem] = []
        batch.reserveCapacity(Self.batchSize)
        var outcomes = [RowOutcome](repeating: RowOutcome(), count: Self.batchSize)

        while true {
            batch.removeAll(keepingCapacity: true)
            while batch.count < Self.batchSize, let item = try reader.next() { batch.append(item) }
            if batch.isEmpty { break }

            // Parallel: every row converted, checked and built on its own.
            let rows = batch.count
            batch.withUnsafeBufferPointer { items in
                outcomes.withUnsafeMutableBufferPointer { out in
                    counters.withUnsafeMutableBufferPointer { counters in
                        nonisolated(unsafe) let items = items
                        nonisolated(unsafe) let out = out
                        nonisolated(unsafe) let counters = counters
                        let chunk = (rows + workers - 1) / workers
                        DispatchQueue.concurrentPerform(iterations: workers) { worker in
                            let start = worker * chunk
                            let end = min(rows, start + chunk)
                            guard start < end else { return }
                            for index in start..<end {
                                guard case .record(let record) = items[index] else { continue }
                                out[index] = plan.process(record, counters: &counters[worker])
                            }
                        }
                    }
                }
            }

            // Sequential, in file order: duplicates, profiles, problems, the sink.
            for index in 0..<rows {
                switch batch[index] {
                case .issue(let issue):
                    try report(issue, plan: plan, result: &result, sink: &sink)
                case .record(let record):
                    var outcome = outcomes[index]
                    outcomes[index] = RowOutcome()
                    result.rowsRead += 1
                    if let code = record.typeCode { result.recordTypes[code, default: 0] += 1 }
                    for field in plan.fields(for: record) where !field.pii && !record.isNull(field.index) {
                        record.withBytes(field.index) { bytes in
                            if !bytes.isEmpty { result.fields[field.profile].count(bytes) }
                        }
                    }
                    if outcome.built, !duplicateCheckStopped {
                        switch seen.insert(outcome.fingerprint) {
                        case .inserted: break
                        case .present:
                            outcome.built = false
                            outcome.call = nil
                            outcome.problems.append(Problem(
                                line: record.line, code: "duplicate-row",
                                message: feed.uniqueKey.map { "another row earlier in the file has the same \($0.joined(separator: ", "))" } ?? "the same row appears earlier in the file"
                            ))
                        case .full:
                            duplicateCheckStopped = true
                            result.record(Problem(line: record.line, code: "duplicate-check-stopped", message: "duplicate rows are not looked for beyond this line (\(FingerprintSet.defaultCapacity) rows remembered)", severity: .warning))
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
                            let masked = Set(plan.fields(for: record).filter(\.pii).map(\.index))
                            exported = (0..<record.count).map { index in
                                masked.contains(index) && !sink.unmasked ? "***" : record.string(index)
                            }
                        }
                        try sink.rejected(RejectedRow(line: record.line, problems: outcome.problems, values: exported, text: nil))
                    }
                }
            }
        }
    }

    /// A reader's row-level issue: the row is rejected (a blank row is only a warning, and not a data row).
    private func report<Record>(_ issue: RowIssue, plan: Plan<Record>, result: inout CheckResult, sink: inout some CheckSink) throws {
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

    private func makePlan<Record: FeedRecord>(
        header: [String]?, headerLine: Int?, fieldCounts: [Int]?, wantsCalls: Bool, sha256: String
    ) throws -> Plan<Record> {
        let slotByName = Dictionary(uniqueKeysWithValues: Record.Field.allCases.map { ($0.name, $0.rawValue) })
        var bound: [String: [BoundField]] = [:]
        for (profile, spec) in feed.fields.enumerated() {
            let index: Int
            switch spec.source {
            case .position(let position): index = position
            case .columns(_, let position): index = position
            case .column(let name):
                let matches = (header ?? []).indices.filter { header?[$0] == name }
                guard matches.count == 1 else {
                    throw Refusal(problem: Problem(
                        line: headerLine ?? 1, field: spec.name, column: name, code: matches.isEmpty ? "missing-label" : "duplicate-label",
                        message: matches.isEmpty ? "the header has no column named \(name)" : "the header names \(name) \(matches.count) times: map it by position"
                    ))
                }
                index = matches[0]
            }
            guard let slot = slotByName[spec.name] else { preconditionFailure("the loader checked field names") }
            bound[spec.recordType ?? "", default: []].append(BoundField(
                slot: slot, index: index, profile: profile, required: spec.required, warnOnly: spec.onInvalid == .warning, pii: spec.pii,
                fromContinuation: spec.fromContinuation
            ))
        }
        let expectedCounts = fieldCounts ?? header.map { [$0.count] }
        let positions = feed.fields.compactMap { spec -> Int? in if case .position(let p) = spec.source { p } else { nil } }
        return Plan(
            pipeline: self,
            specs: feed.fields,
            types: feed.fields.map(\.type),
            bound: bound,
            rowFields: bound[""] ?? [],
            expectedCounts: expectedCounts,
            minimumCount: expectedCounts?.min() ?? ((positions.max() ?? -1) + 1),
            header: header,
            rules: feed.rules.map { rule in (rule, rule.fieldsRead.map { ($0, slotByName[$0] ?? 0) }) },
            uniqueIndexes: feed.uniqueKey.map { names in
                bound.mapValues { fields in names.compactMap { name in fields.first { feed.fields[$0.profile].name == name }?.index } }
            },
            wantsCalls: wantsCalls,
            sha256: sha256
        )
    }
}

extension Pipeline.Plan {
    /// Converts, checks and builds one row. Runs on any worker thread; touches only the worker's own counters.
    func process(_ record: FlatRecord, counters: inout Pipeline.WorkerCounters) -> Pipeline.RowOutcome {
        var outcome = Pipeline.RowOutcome()
        let fields = fields(for: record)
        for slot in counters.values.indices { counters.values[slot] = .absent }
        var genderDigit: UInt8?

        if let expectedCounts, !expectedCounts.contains(record.count) {
            let missing = record.count < (expectedCounts.min() ?? 0)
            let column = header.flatMap { header in record.count < header.count ? header[record.count] : nil } ?? "#\(min(record.count, expectedCounts.max() ?? 0) + 1)"
            outcome.problems.append(Problem(
                line: record.line, column: column, code: missing ? "missing-cell" : "extra-cell",
                message: "the row has \(record.count) cells; the layout has \(expectedCounts.map(String.init).joined(separator: " or "))"
            ))
        } else if expectedCounts == nil, record.count < minimumCount {
            outcome.problems.append(Problem(
                line: record.line, column: "#\(record.count + 1)", code: "missing-cell",
                message: "the row has \(record.count) cells; the mapping reads \(minimumCount)"
            ))
        }

        fields.withUnsafeBufferPointer { fields in
            types.withUnsafeBufferPointer { types in
                for field in fields where !(field.fromContinuation && field.index >= record.count) {
                    counters.rows[field.profile] += 1
                    let isNull = record.isNull(field.index)
                    record.withBytes(field.index) { bytes in
                        if bytes.isEmpty || isNull {
                            if field.required {
                                outcome.problems.append(problem(record.line, specs[field.profile], code: "constraint-error", message: "a value is required"))
                            }
                            return
                        }
                        counters.filled[field.profile] += 1
                        switch types[field.profile].convert(bytes, context: pipeline.context) {
                        case .value(let value, let digit):
                            counters.values[field.slot] = value
                            if let digit { genderDigit = digit }
                        case .failure(let code, let message):
                            counters.invalid[field.profile] += 1
                            outcome.problems.append(problem(record.line, specs[field.profile], code: code, message: message, severity: field.warnOnly ? .warning : .error))
                        case .unmapped(let code):
                            counters.invalid[field.profile] += 1
                            counters.unmapped[field.profile][code, default: 0] += 1
                            guard case .lookup(let table) = types[field.profile] else { return }
                            outcome.problems.append(problem(record.line, specs[field.profile], code: "constraint-error", message: "the code has no entry in lookup \(table.name)", severity: field.warnOnly ? .warning : .error))
                        }
                    }
                }
            }
        }

        if !outcome.problems.contains(where: { $0.severity == .error }) {
            for (rule, slots) in rules where !rule.holds({ name in counters.values[slots.first { $0.0 == name }?.1 ?? 0] }) {
                let column = fields.first { specs[$0.profile].name == rule.field }.map { specs[$0.profile].source.description }
                outcome.problems.append(Problem(line: record.line, field: rule.field, column: column, code: "rule-error", message: "\(rule.id): \(rule.message)"))
            }
        }
        guard !outcome.problems.contains(where: { $0.severity == .error }) else { return outcome }

        do {
            let built = try Record(MappedRow(values: counters.values, recordType: record.typeCode, trnGenderDigit: genderDigit, sender: pipeline.sender))
            for warning in built.warnings {
                outcome.problems.append(Problem(line: record.line, field: warning.field, code: warning.code, message: warning.message, severity: .warning))
            }
            outcome.built = true
            if wantsCalls {
                let feed = pipeline.feed
                outcome.call = PlannedCall(
                    feed: feed.id, line: record.line,
                    key: IdempotencyKey.make(feed: feed.id, fileSHA256: sha256, attachment: pipeline.attachment, line: record.line),
                    method: feed.operation.method, path: feed.operation.path(for: built), body: built.body, expectation: built.expectation
                )
            }
        } catch {
            let column = fields.first { specs[$0.profile].name == error.field }.map { specs[$0.profile].source.description }
            outcome.problems.append(Problem(line: record.line, field: error.field, column: column, code: error.code, message: error.message))
            return outcome
        }

        // The row's fingerprint for duplicate detection: the unique key's cells, else every cell.
        var hasher = FastHash()
        if let indexes = uniqueIndexes?[record.typeCode ?? ""] {
            for index in indexes {
                record.withBytes(index) { hasher.combine($0) }
                hasher.combine(separator: 0x1F)
            }
        } else {
            for index in 0..<record.count {
                record.withBytes(index) { hasher.combine($0) }
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

/// A bounded set of 64-bit row fingerprints for duplicate detection: open addressing, no per-insert allocation.
struct FingerprintSet {
    /// One million rows: a 16 MiB table at most, so a check stays under 64 MB whatever the file's size.
    static let defaultCapacity = 1_000_000
    enum Outcome { case inserted, present, full }

    private var slots: [UInt64]
    private var count = 0
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        slots = [UInt64](repeating: 0, count: 1024)
    }

    /// `fingerprint` must not be zero (``FastHash`` never gives zero).
    mutating func insert(_ fingerprint: UInt64) -> Outcome {
        if count * 2 >= slots.count {
            guard count < capacity else { return .full }
            grow()
        }
        let mask = slots.count - 1
        var index = Int(truncatingIfNeeded: fingerprint) & mask
        while slots[index] != 0 {
            if slots[index] == fingerprint { return .present }
            index = (index + 1) & mask
        }
        slots[index] = fingerprint
        count += 1
        return .inserted
    }

    private mutating func grow() {
        let old = slots
        slots = [UInt64](repeating: 0, count: old.count * 2)
        let mask = slots.count - 1
        for fingerprint in old where fingerprint != 0 {
            var index = Int(truncatingIfNeeded: fingerprint) & mask
            while slots[index] != 0 { index = (index + 1) & mask }
            slots[index] = fingerprint
        }
    }
}

import Foundation
