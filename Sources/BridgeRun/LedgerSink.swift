import DQTModel
import FeedMapping
import Ledger
import Synchronization

/// Where a sink keeps the first error it hit while writing to the ledger: the checker turns a thrown sink error into
/// a file refusal (`io-error`), and the run must tell that apart from a real refusal (a broken database connection
/// is not the file's fault).
final class SinkErrorBox: Sendable {
    private let stored = Mutex<(any Error)?>(nil)
    var error: (any Error)? { stored.withLock { $0 } }
    func record(_ error: any Error) { stored.withLock { if $0 == nil { $0 = error } } }
}

/// The checker's sink during a run: every record, accepted or rejected, goes into the ledger through COPY.
struct LedgerSink: CheckSink {
    let writer: any StagingWriter
    /// Shadow feeds: valid records are kept as `shadow` (with their planned body, for parity), never to be published.
    let shadow: Bool
    let errors: SinkErrorBox

    var wantsCalls: Bool { true }
    var wantsRejectedValues: Bool { false }
    var unmasked: Bool { false }

    mutating func accepted(_ call: PlannedCall) throws {
        do {
            try writer.accepted(line: call.line, key: call.key, method: call.method, path: call.path, body: call.body, shadow: shadow)
            if FailPoint.isArmed { FailPoint.hit("staging") }
        } catch {
            errors.record(error)
            throw error
        }
    }

    mutating func rejected(_ row: RejectedRow) throws {
        do {
            try writer.rejected(line: row.line, key: nil, problemsJSON: Self.problemsJSON(row.problems))
        } catch {
            errors.record(error)
            throw error
        }
    }

    /// The problems of a row as a JSON array (line, field, column, code, message, severity): never a value.
    static func problemsJSON(_ problems: [Problem]) -> String {
        JSONValue.array(problems.map { $0.json(withSeverity: true) }).serialized
    }
}
