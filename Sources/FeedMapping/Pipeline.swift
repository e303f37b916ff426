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
    /// The authenticated sender of the email the file came in; nil for a file. Read by `from: email...` fields.
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

    /// A field read from the email (`from: email.senderDomain`): converted once per file, the same for every row.
    struct EmailField: Sendable {
        let slot: Int
        let profile: Int
        /// Nil when the file did not come by email.
        let conversion: Conversion?
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
    struct Plan<Builder: RowBuilder>: Sendable {
        let pipeline: Pipeline
        let builder: Builder
        let specs: [FieldSpec]
        /// Each field's type, compiled; `tables` holds what the checks refer to.
        let checks: [FieldCheck]
        let tables: FieldTables
        let bound: [String: [BoundField]]
        let rowFields: [BoundField]
        let emailFields: [EmailField]
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
}
