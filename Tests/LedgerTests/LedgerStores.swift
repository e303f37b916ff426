import DQTTesting
import Foundation
import Ledger

/// The ledger implementations a scenario runs against: memory always, PostgreSQL when the test database is set.
enum LedgerKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case memory, postgres

    var description: String { rawValue }

    static var available: [LedgerKind] {
        TestServices.shouldRun(TestServices.databaseURL) ? [.memory, .postgres] : [.memory]
    }

    /// Runs `body` with a fresh, empty ledger of this kind.
    func with<Result: Sendable>(_ body: (any LedgerStore) async throws -> Result) async throws -> Result {
        switch self {
        case .memory:
            return try await body(MemoryLedger())
        case .postgres:
            return try await TemporaryDatabase.with(prefix: "bridge_ledger_test") { database in
                let ledger = PostgresLedger(conninfo: database.url, maximumConnections: 2, reconnectAttempts: 1)
                defer { ledger.close() }
                try await ledger.migrate()
                return try await body(ledger)
            }
        }
    }
}

/// What a scenario observed, in a form both stores must produce identically: no clock readings (only whether a time
/// is set) and JSON compared by value, since PostgreSQL's jsonb rewrites its text.
enum Transcript {
    /// Each id's position (1, 2, 3...) among `ids`.
    static func ranks(_ ids: [Int64]) -> [Int64: Int] {
        Dictionary(uniqueKeysWithValues: Set(ids).sorted().enumerated().map { ($1, $0 + 1) })
    }

    /// A file with its ids (own, duplicate's, replay's) given as their rank.
    static func file(_ file: FileRow?, ranks: [Int64: Int]) -> String {
        guard let file else { return "no file" }
        func rank(_ id: Int64?) -> String { id.map { ranks[$0].map(String.init) ?? "unranked" } ?? "-" }
        let fields: [String] = [
            "#\(rank(file.id)) run \(file.runID)/\(file.lastRunID)", file.feed, file.origin.rawValue, file.transport, file.sourcePath, file.name,
            "size \(file.size.map(String.init) ?? "-")", "mtime \(file.mtime.map { "\($0.timeIntervalSince1970)" } ?? "-")",
            "sha \(file.sha256 ?? "-")", file.state.rawValue, "reason \(file.reason ?? "-")",
            "duplicateOf \(rank(file.duplicateOf))", "replayOf \(rank(file.replayOf))",
            "local \(file.localPath ?? "-")", "archive \(file.archivePath ?? "-")", "archived \(file.archivedAt != nil)",
            "error \(file.errorCode ?? "-"): \(file.errorMessage ?? "-")", "sender \(file.sender ?? "-")",
            "attachments \(file.attachments)",
            "rows \(file.rowsRead.map(String.init) ?? "-")/\(file.accepted.map(String.init) ?? "-")/\(file.rejected.map(String.init) ?? "-")/\(file.warnings.map(String.init) ?? "-")",
            "published \(file.published) failed \(file.failed)",
        ]
        return fields.joined(separator: " | ")
    }

    static func run(_ run: RunRow?) -> String {
        guard let run else { return "no run" }
        return [
            "#\(run.id)", run.status.rawValue, run.command, run.host, "pid \(run.pid)", "feeds \(run.feeds)",
            "exit \(run.exitStatus.map(String.init) ?? "-")", "finished \(run.finishedAt != nil)", "counts \(json(run.counts))",
            "summary \(run.summary ?? "-")", "error \(run.error ?? "-")",
        ].joined(separator: " | ")
    }

    static func record(_ record: RecordRow) -> String {
        "#\(record.fileID).\(record.seq) line \(record.line) key \(record.key ?? "-") \(record.outcome.rawValue) status \(record.apiStatus.map(String.init) ?? "-") problem \(record.problem.map(json) ?? "-")"
    }

    static func pending(_ record: PendingRecord) -> String {
        "seq \(record.seq) line \(record.line) \(record.key) \(record.method) \(record.path) \(record.body ?? "-")"
    }

    static func counts(_ counts: [RecordOutcome: Int]) -> String {
        RecordOutcome.allCases.compactMap { outcome in counts[outcome].map { "\(outcome.rawValue)=\($0)" } }.joined(separator: " ")
    }

    /// JSON text re-serialized with sorted keys.
    static func json(_ text: String) -> String {
        guard let value = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]),
            let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
        else { return "not JSON: \(text)" }
        return String(decoding: data, as: UTF8.self)
    }
}
