public import Foundation
import LibPQ

extension PostgresLedger: NoticeLedger {
    static let noticeColumns = """
        id, entry, message_id, sha256, size, recipients, subject, state, attempts, last_attempt_at, reply, queue_id, submitted_at,
        sent_at, created_at, updated_at
        """

    public func notice(id: Int64) async throws -> NoticeRow? {
        try await withConnection { connection in
            try connection.query("SELECT \(Self.noticeColumns) FROM bridge.notices WHERE id = $1", [.int64(id)]).rows.map(NoticeRow.init).first
        }
    }

    public func notice(entry: String) async throws -> NoticeRow? {
        try await withConnection { connection in
            try connection.query("SELECT \(Self.noticeColumns) FROM bridge.notices WHERE entry = $1", [.text(entry)]).rows.map(NoticeRow.init)
                .first
        }
    }

    public func registerNotice(
        entry: String, messageID: String, sha256: String, size: Int64, recipients: [String], subject: String, runID: Int64, at: Date
    ) async throws -> NoticeRow {
        try await withConnection { connection in
            try connection.transaction { connection in
                let inserted = try connection.query(
                    """
                    INSERT INTO bridge.notices (entry, message_id, sha256, size, recipients, subject, state, created_at, updated_at)
                    VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7) ON CONFLICT (entry) DO NOTHING
                    RETURNING \(Self.noticeColumns)
                    """,
                    [.text(entry), .text(messageID), .text(sha256), .int64(size), .textArray(recipients), .text(subject), .timestamp(at)]
                ).rows.map(NoticeRow.init)
                if let row = inserted.first {
                    try Self.audit(connection, id: row.id, at: at, from: nil, to: .pending, runID: runID, detail: "found in the outbox")
                    return row
                }
                guard
                    let known = try connection.query("SELECT \(Self.noticeColumns) FROM bridge.notices WHERE entry = $1", [.text(entry)]).rows
                        .map(NoticeRow.init).first
                else { throw NoticeLedgerError.contentChanged(entry: entry, recorded: "?", now: sha256) }
                guard known.sha256 == sha256 else { throw NoticeLedgerError.contentChanged(entry: entry, recorded: known.sha256, now: sha256) }
                return known
            }
        }
    }

    @discardableResult
    public func transitionNotice(id: Int64, from: [NoticeState], _ change: NoticeChange, runID: Int64?, at: Date) async throws -> NoticeRow {
        try await withConnection { connection in
            try connection.transaction { connection in
                guard
                    var row = try connection.query("SELECT \(Self.noticeColumns) FROM bridge.notices WHERE id = $1 FOR UPDATE", [.int64(id)]).rows
                        .map(NoticeRow.init).first
                else { throw NoticeLedgerError.unknownNotice(id) }
                guard from.contains(row.state) else { throw NoticeLedgerError.unexpectedState(entry: row.entry, state: row.state, expected: from) }
                let before = row.state
                row.apply(change, at: at)
                try connection.execute(
                    """
                    UPDATE bridge.notices SET state = $2, attempts = $3, last_attempt_at = $4, reply = $5, queue_id = $6, submitted_at = $7,
                        sent_at = $8, updated_at = $9 WHERE id = $1
                    """,
                    [
                        .int64(id), .text(row.state.rawValue), .int(row.attempts), row.lastAttemptAt.map(PGValue.timestamp),
                        row.reply.map(PGValue.text),
                        row.queueID.map(PGValue.text), row.submittedAt.map(PGValue.timestamp), row.sentAt.map(PGValue.timestamp), .timestamp(at),
                    ])
                try Self.audit(connection, id: id, at: at, from: before, to: change.to, runID: runID, detail: change.detail)
                return row
            }
        }
    }

    public func notices(states: [NoticeState]?) async throws -> [NoticeRow] {
        let wanted = (states ?? NoticeState.allCases).map { Optional($0.rawValue) }
        return try await withConnection { connection in
            try connection.query(
                "SELECT \(Self.noticeColumns) FROM bridge.notices WHERE state = ANY($1::text[]) ORDER BY id", [.textArray(wanted)]
            ).rows.map(NoticeRow.init)
        }
    }

    public func noticeEvents(id: Int64) async throws -> [NoticeEvent] {
        try await withConnection { connection in
            try connection.query(
                "SELECT notice_id, at, from_state, to_state, run_id, detail FROM bridge.notice_events WHERE notice_id = $1 ORDER BY id",
                [.int64(id)]
            ).rows.map { row in
                NoticeEvent(
                    noticeID: try row.result.requireInt64(row.index, "notice_id"), at: try row.result.requireDate(row.index, "at"),
                    from: row["from_state"].flatMap(NoticeState.init(rawValue:)),
                    to: NoticeState(rawValue: try row.result.requireString(row.index, "to_state")) ?? .pending, runID: row.int64("run_id"),
                    detail: row["detail"] ?? "")
            }
        }
    }

    private static func audit(
        _ connection: PGConnection, id: Int64, at: Date, from: NoticeState?, to: NoticeState, runID: Int64?, detail: String
    ) throws {
        try connection.execute(
            "INSERT INTO bridge.notice_events (notice_id, at, from_state, to_state, run_id, detail) VALUES ($1, $2, $3, $4, $5, $6)",
            [.int64(id), .timestamp(at), from.map { .text($0.rawValue) }, .text(to.rawValue), runID.map(PGValue.int64), .text(detail)])
    }
}

extension NoticeRow {
    init(_ row: PGRow) throws {
        let result = row.result
        let index = row.index
        self.init(
            id: try result.requireInt64(index, "id"), entry: try result.requireString(index, "entry"),
            messageID: try result.requireString(index, "message_id"), sha256: try result.requireString(index, "sha256"),
            size: try result.requireInt64(index, "size"), recipients: row.textArray("recipients")?.compactMap { $0 } ?? [],
            subject: try result.requireString(index, "subject"),
            state: NoticeState(rawValue: try result.requireString(index, "state")) ?? .held, attempts: row.int("attempts") ?? 0,
            lastAttemptAt: row.date("last_attempt_at"), reply: row["reply"], queueID: row["queue_id"], submittedAt: row.date("submitted_at"),
            sentAt: row.date("sent_at"), createdAt: try result.requireDate(index, "created_at"),
            updatedAt: try result.requireDate(index, "updated_at"))
    }
}
