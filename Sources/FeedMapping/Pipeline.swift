import DQTModel
import FlatFile

/// The per-row work of a check, for one file (or one email attachment) of one feed.
struct Pipeline: Sendable {
    let feed: FeedDefinition
    let context: CheckContext
    let attachment: String?
    let sender: String?

    /// A mapped field resolved against this file: where its bytes are and where its value goes. Kept small and
    /// free of references, so the per-row loop copies no strings; the full spec is at `specs[profile]`.
    struct BoundField {
        let slot: Int
        let index: Int
        let profile: Int
        let required: Bool
        let warnOnly: Bool
        let pii: Bool
    }

    static func refusal(for error: any Error) -> Problem {
        switch error {
        case let refusal as FileRefusal: Problem(line: refusal.line, code: refusal.code.rawValue, message: refusal.message)
        case let refusal as Refusal: refusal.problem
        default: Problem(line: nil, code: "io-error", message: "\(error)")
        }
    }

    func run<Record: FeedRecord, Reader: RecordReader, Sink: CheckSink>(
        _ type: Record.Type, reader: inout Reader, fieldCounts: [Int]?, result: inout CheckResult, sink: inout Sink
    ) throws {
        let slotByName = Dictionary(uniqueKeysWithValues: Record.Field.allCases.map { ($0.name, $0.rawValue) })
        let allCases = Array(Record.Field.allCases)

        // Bind every mapped field to its place in this file, per record type ("" for delimited rows).
        var bound: [String: ContiguousArray<BoundField>] = [:]
        let specs = ContiguousArray(feed.fields)
        let types = ContiguousArray(feed.fields.map(\.type))
        if result.fields.isEmpty { result.fields = feed.fields.map(FieldProfile.init(spec:)) }
        for (profile, spec) in feed.fields.enumerated() {
            let index: Int
            switch spec.source {
            case .position(let position): index = position
            case .columns(_, let position): index = position
            case .column(let name):
                let matches = (reader.header ?? []).indices.filter { reader.header?[$0] == name }
                guard matches.count == 1 else {
                    throw Refusal(problem: Problem(
                        line: 1, field: spec.name, column: name, code: matches.isEmpty ? "missing-label" : "duplicate-label",
                        message: matches.isEmpty ? "the header has no column named \(name)" : "the header names \(name) \(matches.count) times: map it by position"
                    ))
                }
                index = matches[0]
            }
            guard let slot = slotByName[spec.name] else { preconditionFailure("the loader checked field names") }
            bound[spec.recordType ?? "", default: []].append(BoundField(
                slot: slot, index: index, profile: profile, required: spec.required, warnOnly: spec.onInvalid == .warning, pii: spec.pii
            ))
        }
        let rowFields = bound[""] ?? []
        let expectedCounts = fieldCounts ?? reader.header.map { [$0.count] }
        let minimumCount = expectedCounts?.min() ?? ((feed.fields.compactMap { if case .position(let p) = $0.source { p } else { nil } }.max() ?? -1) + 1)
        // Rules read fields by name; resolve the names to slots once.
        let rules = feed.rules.map { rule in (rule, rule.fieldsRead.map { ($0, slotByName[$0] ?? 0) }) }
        // Duplicate rows: by the unique key's fields, else by every cell.
        let uniqueIndexes: [String: [Int]]? = feed.uniqueKey.map { names in
            bound.mapValues { fields in names.compactMap { name in fields.first { specs[$0.profile].name == name }?.index } }
        }
        var seen = FingerprintSet(capacity: FingerprintSet.defaultCapacity)
        var duplicateCheckStopped = false

        var values = [FieldValue](repeating: .absent, count: allCases.count)
        var problems: [Problem] = []

        while let item = try reader.next() {
            let record: FlatRecord
            switch item {
            case .issue(let issue):
                let fieldName = issue.field.flatMap { index in feed.fields.first { spec in
                    if case .position(let p) = spec.source { p == index } else { false }
                }?.name }
                let problem = Problem(
                    line: issue.line, field: fieldName, column: issue.column.map(String.init), code: issue.code.rawValue,
                    message: issue.message, severity: issue.code == .blankRow ? .warning : .error
                )
                result.record(problem)
                guard issue.code != .blankRow else { continue }
                result.rowsRead += 1
                result.rejected += 1
                try sink.rejected(RejectedRow(line: issue.line, problems: [problem], values: nil, text: sink.unmasked ? issue.text : nil))
                continue
            case .record(let flat):
                record = flat
            }

            result.rowsRead += 1
            if let code = record.typeCode { result.recordTypes[code, default: 0] += 1 }
            problems.removeAll(keepingCapacity: true)
            for slot in values.indices { values[slot] = .absent }
            var genderDigit: UInt8?
            let fields = record.typeCode.map { bound[$0] ?? [] } ?? rowFields

            if let expectedCounts, !expectedCounts.contains(record.count) {
                let missing = record.count < (expectedCounts.min() ?? 0)
                let column = reader.header.flatMap { header in record.count < header.count ? header[record.count] : nil } ?? "#\(min(record.count, expectedCounts.max() ?? 0) + 1)"
                problems.append(Problem(
                    line: record.line, column: column, code: missing ? "missing-cell" : "extra-cell",
                    message: "the row has \(record.count) cells; the layout has \(expectedCounts.map(String.init).joined(separator: " or "))"
                ))
            } else if expectedCounts == nil, record.count < minimumCount {
                problems.append(Problem(
                    line: record.line, column: "#\(record.count + 1)", code: "missing-cell",
                    message: "the row has \(record.count) cells; the mapping reads \(minimumCount)"
                ))
            }

            fields.withUnsafeBufferPointer { fields in
                types.withUnsafeBufferPointer { types in
                    for field in fields {
                        result.fields[field.profile].rows += 1
                        let isNull = record.isNull(field.index)
                        record.withBytes(field.index) { bytes in
                            if bytes.isEmpty || isNull {
                                if field.required {
                                    problems.append(problem(record.line, specs[field.profile], code: "constraint-error", message: "a value is required"))
                                }
                                return
                            }
                            result.fields[field.profile].filled += 1
                            if !field.pii { result.fields[field.profile].count(bytes) }
                            switch types[field.profile].convert(bytes, context: context) {
                            case .value(let value, let digit):
                                values[field.slot] = value
                                if let digit { genderDigit = digit }
                            case .failure(let code, let message):
                                result.fields[field.profile].invalid += 1
                                problems.append(problem(record.line, specs[field.profile], code: code, message: message, severity: field.warnOnly ? .warning : .error))
                            case .unmapped(let code):
                                result.fields[field.profile].invalid += 1
                                result.fields[field.profile].countUnmapped(code)
                                guard case .lookup(let table) = types[field.profile] else { return }
                                problems.append(problem(record.line, specs[field.profile], code: "constraint-error", message: "the code has no entry in lookup \(table.name)", severity: field.warnOnly ? .warning : .error))
                            }
                        }
                    }
                }
            }

            var rejectedAlready = problems.contains { $0.severity == .error }
            if !rejectedAlready {
                for (rule, slots) in rules where !rule.holds({ name in values[slots.first { $0.0 == name }?.1 ?? 0] }) {
                    let column = fields.first { specs[$0.profile].name == rule.field }.map { specs[$0.profile].source.description }
                    problems.append(Problem(line: record.line, field: rule.field, column: column, code: "rule-error", message: "\(rule.id): \(rule.message)"))
                }
                rejectedAlready = problems.contains { $0.severity == .error }
            }
            if !rejectedAlready, !duplicateCheckStopped {
                var hasher = FastHash()
                let indexes = uniqueIndexes?[record.typeCode ?? ""]
                for index in indexes ?? Array(0..<record.count) {
                    record.withBytes(index) { hasher.combine($0) }
                    hasher.combine(separator: 0x1F)
                }
                switch seen.insert(hasher.finalize()) {
                case .inserted: break
                case .present:
                    problems.append(Problem(
                        line: record.line, code: "duplicate-row",
                        message: feed.uniqueKey.map { "another row earlier in the file has the same \($0.joined(separator: ", "))" } ?? "the same row appears earlier in the file"
                    ))
                case .full:
                    duplicateCheckStopped = true
                    result.record(Problem(line: record.line, code: "duplicate-check-stopped", message: "duplicate rows are not looked for beyond this line (\(FingerprintSet.defaultCapacity) rows remembered)", severity: .warning))
                }
                rejectedAlready = problems.contains { $0.severity == .error }
            }

            var built: Record?
            if !rejectedAlready {
                do {
                    let typed = try Record(MappedRow(values: values, recordType: record.typeCode, trnGenderDigit: genderDigit, sender: sender))
                    for warning in typed.warnings {
                        problems.append(Problem(line: record.line, field: warning.field, code: warning.code, message: warning.message, severity: .warning))
                    }
                    built = typed
                } catch {
                    let column = fields.first { specs[$0.profile].name == error.field }.map { specs[$0.profile].source.description }
                    problems.append(Problem(line: record.line, field: error.field, column: column, code: error.code, message: error.message))
                }
            }

            for problem in problems { result.record(problem) }
            if let built {
                result.accepted += 1
                if !problems.isEmpty { result.rowsWithWarnings += 1 }
                if sink.wantsCalls {
                    try sink.accepted(PlannedCall(
                        feed: feed.id, line: record.line,
                        key: IdempotencyKey.make(feed: feed.id, fileSHA256: result.sha256, attachment: attachment, line: record.line),
                        method: feed.operation.method, path: feed.operation.path(for: built), body: built.body, expectation: built.expectation
                    ))
                }
            } else {
                result.rejected += 1
                var exported: [String]?
                if sink.wantsRejectedValues {
                    let masked = Set(fields.filter(\.pii).map(\.index))
                    exported = (0..<record.count).map { index in
                        masked.contains(index) && !sink.unmasked ? "***" : record.string(index)
                    }
                }
                try sink.rejected(RejectedRow(line: record.line, problems: problems, values: exported, text: nil))
            }
        }
    }

    private func problem(_ line: Int, _ spec: FieldSpec, code: String, message: String, severity: Severity = .error) -> Problem {
        Problem(line: line, field: spec.name, column: spec.source.description, code: code, message: message, severity: severity)
    }
}

/// A bounded set of 64-bit row fingerprints for duplicate detection: open addressing, no per-insert allocation.
struct FingerprintSet {
    static let defaultCapacity = 2_000_000
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
