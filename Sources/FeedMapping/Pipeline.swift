import DQTModel
import Dispatch
import FlatFile
import Foundation
import Synchronization

/// The per-row work of a check, for one file (or one email attachment) of one feed.
///
/// Rows are read in batches, and three batches are in flight at once: while one thread reads the next batch and
/// another merges the previous one, every other thread converts, checks and builds the current batch's rows (that
/// work is independent per row), taking them in chunks, as do the reading and merging threads once done. The merge runs in file order on one thread: duplicates are looked for,
/// problems and counts recorded and rows handed to the sink, so the output is the same as a sequential run's.
/// Each thread has its own copy of the field plan, so the per-row loop shares no reference-counted storage.
struct Pipeline: Sendable {
    let feed: FeedDefinition
    let context: CheckContext
    /// For an email's attachment: the SHA-256 of its decoded bytes, which keys its records instead of the email's,
    /// so the same attachment in another email (a resent notice) makes the same records, applied once.
    let attachmentSHA256: String?
    let sender: String?

    /// Rows per batch, and the bytes a batch may hold: three batches in flight bound the memory whatever the file.
    static let batchSize = 4096
    static let batchBytes = 4 << 20
    /// Rows a thread takes at a time from the batch being processed.
    static let chunkSize = 128

    /// A mapped field resolved against this file: where its bytes are and where its value goes. Kept small and
    /// free of references, so the per-row loop copies no strings; the full spec is at `specs[profile]`.
    struct BoundField: Sendable {
        let slot: Int
        let index: Int
        let profile: Int
        let required: Bool
        let warnOnly: Bool
        let pii: Bool
        /// Its most common values are counted (not personal data, and the check counts values).
        let countsValues: Bool
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

    /// One thread's counters, added to the field profiles at the end. Counts are in memory of their own, written
    /// through pointers: the per-field loop makes no copy-on-write check.
    struct WorkerCounters: @unchecked Sendable {
        struct Tally {
            var rows = 0
            var filled = 0
            var invalid = 0
        }
        let tallies: UnsafeMutableBufferPointer<Tally>
        /// Most common values per field (personal data: never counted).
        let values: UnsafeMutableBufferPointer<ValueCounter>
        let unmapped: UnsafeMutableBufferPointer<[String: Int]>
        /// The row being converted, by record field.
        var row: [FieldValue]

        init(fields: Int, slots: Int) {
            tallies = .allocate(capacity: fields)
            tallies.initialize(repeating: Tally())
            values = .allocate(capacity: fields)
            values.initialize(repeating: ValueCounter(limit: FieldProfile.distinctLimit))
            unmapped = .allocate(capacity: fields)
            unmapped.initialize(repeating: [:])
            row = Array(repeating: .absent, count: slots)
        }

        /// Adds the counts to the profiles and frees the counters' memory.
        func finish(into profiles: inout [FieldProfile]) {
            for index in profiles.indices {
                profiles[index].rows += tallies[index].rows
                profiles[index].filled += tallies[index].filled
                profiles[index].invalid += tallies[index].invalid
                profiles[index].counter.merge(values[index])
                for (code, count) in unmapped[index] { profiles[index].countUnmapped(code, count) }
            }
            tallies.deinitialize().deallocate()
            values.deinitialize().deallocate()
            unmapped.deinitialize().deallocate()
        }
    }

    /// The in-order stage's memory: the fingerprints of the rows accepted so far.
    struct Merger {
        let seen = FingerprintSet(capacity: FingerprintSet.defaultCapacity)
        var duplicateCheckStopped = false
    }

    /// A mapping rule and the row slots of the fields it reads, in ``Rule/fieldsRead`` order.
    struct BoundRule: Sendable {
        let rule: Rule
        let slots: [Int]
    }

    /// Everything about this file's layout that every row needs, resolved once (once per thread).
    struct Plan<Record: FeedRecord>: Sendable {
        let pipeline: Pipeline
        let specs: [FieldSpec]
        /// Each field's type, compiled; `tables` holds what the checks refer to.
        let checks: [FieldCheck]
        let tables: FieldTables
        let bound: [String: [BoundField]]
        let rowFields: [BoundField]
        let expectedCounts: [Int]?
        let minimumCount: Int
        let header: [String]?
        let rules: [BoundRule]
        let uniqueIndexes: [String: [Int]]?
        /// `uniqueIndexes` for records with no type code, looked up once.
        let rowUniqueIndexes: [Int]?
        let wantsCalls: Bool
        let sha256: String

        func fields(typeCode: String?) -> [BoundField] {
            typeCode.map { bound[$0] ?? [] } ?? rowFields
        }

        /// ``fields(typeCode:)`` lent to `body`, with no copy of the array for the common row with no type code.
        func withFields<R>(typeCode: String?, _ body: (UnsafeBufferPointer<BoundField>) -> R) -> R {
            if let typeCode { return (bound[typeCode] ?? []).withUnsafeBufferPointer(body) }
            return rowFields.withUnsafeBufferPointer(body)
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
        let header = reader.header
        let wantsCalls = sink.wantsCalls
        let sha256 = attachmentSHA256 ?? result.sha256
        func plan() throws -> Plan<Record> {
            try makePlan(header: header, headerLine: headerLine, fieldCounts: fieldCounts, wantsCalls: wantsCalls, sha256: sha256)
        }
        let mergePlan = try plan()
        let threads = max(2, min(ProcessInfo.processInfo.activeProcessorCount, 8))
        let plans = try (0..<threads).map { _ in try plan() }
        if result.fields.isEmpty { result.fields = feed.fields.map(FieldProfile.init(spec:)) }

        // Unsafe storage: every thread works on its own element; the round's end is the synchronisation point.
        let counters = UnsafeMutableBufferPointer<WorkerCounters>.allocate(capacity: threads)
        for thread in 0..<threads {
            (counters.baseAddress! + thread).initialize(to: WorkerCounters(fields: feed.fields.count, slots: Record.Field.allCases.count))
        }
        let batches = UnsafeMutableBufferPointer<RecordBatch>.allocate(capacity: 3)
        _ = batches.initialize(from: repeatElement(RecordBatch(), count: 3))
        let outcomes = UnsafeMutableBufferPointer<RowOutcome>.allocate(capacity: 3 * Self.batchSize)
        outcomes.initialize(repeating: RowOutcome())
        defer {
            for counter in counters { counter.finish(into: &result.fields) }
            counters.deinitialize().deallocate()
            batches.deinitialize().deallocate()
            outcomes.deinitialize().deallocate()
        }

        var merger = Merger()
        var processing: Int?
        var merging: Int?
        var reading = true
        var readFailure: FileRefusal?
        while reading || processing != nil || merging != nil {
            let readSlot = reading ? (0..<3).first { $0 != processing && $0 != merging } : nil
            var read: Result<Bool, FileRefusal> = .success(false)
            var merged: Result<Void, any Error> = .success(())
            withUnsafeMutablePointer(to: &reader) { reader in
                withUnsafeMutablePointer(to: &sink) { sink in
                    withUnsafeMutablePointer(to: &result) { result in
                        withUnsafeMutablePointer(to: &merger) { merger in
                            withUnsafeMutablePointer(to: &read) { read in
                                withUnsafeMutablePointer(to: &merged) { merged in
                                    nonisolated(unsafe) let (reader, sink, result, merger, read, merged) = (
                                        reader, sink, result, merger, read, merged
                                    )
                                    nonisolated(unsafe) let (counters, batches, outcomes) = (counters, batches, outcomes)
                                    let (processing, merging) = (processing, merging)
                                    // Tasks in the order threads take them: the read, the merge, then the batch's chunks. A
                                    // thread that arrives late finds chunks left, whichever thread took the read and merge.
                                    let chunks = processing.map { (batches[$0].count + Self.chunkSize - 1) / Self.chunkSize } ?? 0
                                    let nextTask = Atomic<Int>(0)
                                    DispatchQueue.concurrentPerform(iterations: threads) { thread in
                                        let plan = plans[thread]
                                        while true {
                                            let task = nextTask.add(1, ordering: .relaxed).oldValue
                                            if task == 0, let slot = readSlot {
                                                batches[slot].removeAll()
                                                do throws(FileRefusal) {
                                                    read.pointee = .success(
                                                        try reader.pointee.read(
                                                            into: &batches[slot], maxItems: Self.batchSize, maxBytes: Self.batchBytes))
                                                } catch {
                                                    read.pointee = .failure(error)
                                                }
                                            } else if task == 1, let slot = merging {
                                                do {
                                                    try batches[slot].withView { view in
                                                        try merge(
                                                            view, outcomes: outcomes.baseAddress! + slot * Self.batchSize, plan: mergePlan,
                                                            merger: &merger.pointee, result: &result.pointee, sink: &sink.pointee)
                                                    }
                                                } catch {
                                                    merged.pointee = .failure(error)
                                                }
                                            } else if task >= 2, task - 2 < chunks, let slot = processing {
                                                batches[slot].withView { view in
                                                    let out = outcomes.baseAddress! + slot * Self.batchSize
                                                    let start = (task - 2) * Self.chunkSize
                                                    for index in start..<min(view.count, start + Self.chunkSize) {
                                                        guard let record = view.record(index) else { continue }
                                                        out[index] = plan.process(
                                                            record, typeCode: view.typeCode(record), counters: &counters[thread])
                                                    }
                                                }
                                            } else if task >= 2 {
                                                return
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            try merged.get()
            merging = processing
            processing = nil
            if let readSlot {
                switch read {
                case .success(true): processing = readSlot
                case .success(false): reading = false
                case .failure(let refusal): (reading, readFailure) = (false, refusal)
                }
            }
        }
        // A refusal mid-file comes after every batch read before it was merged, as in a sequential run.
        if let readFailure { throw readFailure }
    }

    /// The in-order stage for one processed batch: duplicates, problems, counts and the sink.
    private func merge<Record, Sink: CheckSink>(
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
                    throw Refusal(
                        problem: Problem(
                            line: headerLine ?? 1, field: spec.name, column: name, code: matches.isEmpty ? "missing-label" : "duplicate-label",
                            message: matches.isEmpty
                                ? "the header has no column named \(name)" : "the header names \(name) \(matches.count) times: map it by position"
                        ))
                }
                index = matches[0]
            }
            guard let slot = slotByName[spec.name] else { preconditionFailure("the loader checked field names") }
            bound[spec.recordType ?? "", default: []].append(
                BoundField(
                    slot: slot, index: index, profile: profile, required: spec.required, warnOnly: spec.onInvalid == .warning, pii: spec.pii,
                    countsValues: !spec.pii && context.countsValues,
                    fromContinuation: spec.fromContinuation
                ))
        }
        let expectedCounts = fieldCounts ?? header.map { [$0.count] }
        let uniqueIndexes = feed.uniqueKey.map { names in
            bound.mapValues { fields in names.compactMap { name in fields.first { feed.fields[$0.profile].name == name }?.index } }
        }
        var tables = FieldTables()
        let checks = feed.fields.map { tables.compile($0.type) }
        let positions = feed.fields.compactMap { spec -> Int? in if case .position(let p) = spec.source { p } else { nil } }
        return Plan(
            pipeline: self,
            specs: feed.fields,
            checks: checks,
            tables: tables,
            bound: bound,
            rowFields: bound[""] ?? [],
            expectedCounts: expectedCounts,
            minimumCount: expectedCounts?.min() ?? ((positions.max() ?? -1) + 1),
            header: header,
            rules: feed.rules.map { rule in BoundRule(rule: rule, slots: rule.fieldsRead.map { slotByName[$0] ?? 0 }) },
            uniqueIndexes: uniqueIndexes,
            rowUniqueIndexes: uniqueIndexes?[""],
            wantsCalls: wantsCalls,
            sha256: sha256
        )
    }
}

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
            let built = try Record(MappedRow(values: counters.row, recordType: typeCode, trnGenderDigit: genderDigit, sender: pipeline.sender))
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
                    method: feed.operation.method, path: feed.operation.path(for: built), body: built.body?.serialized,
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

/// A bounded set of 64-bit row fingerprints for duplicate detection: open addressing, no per-insert allocation.
///
/// The table is allocated once at its largest, zero-filled by the kernel (`calloc`): only the pages that rows land
/// in become resident, and there is no growing, so no moment with two tables in memory. At `capacity` rows it is
/// 80% full, where linear probing is still short.
final class FingerprintSet {
    /// One million rows: a 10 MB table at most, so a check stays under 64 MB whatever the file's size.
    static let defaultCapacity = 1_000_000
    enum Outcome { case inserted, present, full }

    private let slots: UnsafeMutableBufferPointer<UInt64>
    private var count = 0
    private let capacity: Int
    /// What ``prefetch(_:)`` read, kept so that the reads are not optimised away.
    private var prefetched: UInt64 = 0

    init(capacity: Int) {
        self.capacity = capacity
        let size = max(capacity + capacity / 4, 1)
        guard let memory = calloc(size, MemoryLayout<UInt64>.stride) else { fatalError("out of memory for \(size) fingerprints") }
        slots = UnsafeMutableBufferPointer(start: memory.assumingMemoryBound(to: UInt64.self), count: size)
    }

    deinit { free(slots.baseAddress) }

    /// The slot a fingerprint's probe starts at: its high bits pick it, so no power-of-two size is needed.
    private func firstSlot(_ fingerprint: UInt64) -> Int {
        Int(truncatingIfNeeded: fingerprint.multipliedFullWidth(by: UInt64(slots.count)).high)
    }

    /// Reads the slot where `fingerprint`'s probe starts. A batch's fingerprints read one after another in a loop
    /// overlap their cache misses; inserted in order, each would wait for its own miss (80% of the merge's time).
    func prefetch(_ fingerprint: UInt64) {
        prefetched ^= slots[firstSlot(fingerprint)]
    }

    /// `fingerprint` must not be zero (``FastHash`` never gives zero).
    func insert(_ fingerprint: UInt64) -> Outcome {
        guard count < capacity else { return .full }
        var index = firstSlot(fingerprint)
        while slots[index] != 0 {
            if slots[index] == fingerprint { return .present }
            index = index + 1 == slots.count ? 0 : index + 1
        }
        slots[index] = fingerprint
        count += 1
        return .inserted
    }
}
