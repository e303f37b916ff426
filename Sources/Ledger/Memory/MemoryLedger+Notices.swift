public import Foundation
import Synchronization

/// The notices in memory: rows by id (`id` at index `id - 1`) and their events.
struct MemoryNotices {
    var rows: [NoticeRow] = []
    var events: [NoticeEvent] = []
}

extension MemoryLedger: NoticeLedger {
    public func notice(id: Int64) async throws -> NoticeRow? {
        state.withLock { state in id >= 1 && id <= Int64(state.notices.rows.count) ? state.notices.rows[Int(id - 1)] : nil }
    }

    public func notice(entry: String) async throws -> NoticeRow? {
        state.withLock { $0.notices.rows.first { $0.entry == entry } }
    }

    public func registerNotice(
        entry: String, messageID: String, sha256: String, size: Int64, recipients: [String], subject: String, runID: Int64, at: Date
    ) async throws -> NoticeRow {
        try state.withLock { state in
            if let known = state.notices.rows.first(where: { $0.entry == entry }) {
                guard known.sha256 == sha256 else { throw NoticeLedgerError.contentChanged(entry: entry, recorded: known.sha256, now: sha256) }
                return known
            }
            let row = NoticeRow(
                id: Int64(state.notices.rows.count + 1), entry: entry, messageID: messageID, sha256: sha256, size: size, recipients: recipients,
                subject: subject, state: .pending, createdAt: at, updatedAt: at)
            state.notices.rows.append(row)
            state.notices.events.append(NoticeEvent(noticeID: row.id, at: at, from: nil, to: .pending, runID: runID, detail: "found in the outbox"))
            return row
        }
    }

    @discardableResult
    public func transitionNotice(id: Int64, from: [NoticeState], _ change: NoticeChange, runID: Int64?, at: Date) async throws -> NoticeRow {
        try state.withLock { state in
            guard id >= 1 && id <= Int64(state.notices.rows.count) else { throw NoticeLedgerError.unknownNotice(id) }
            var row = state.notices.rows[Int(id - 1)]
            guard from.contains(row.state) else { throw NoticeLedgerError.unexpectedState(entry: row.entry, state: row.state, expected: from) }
            let before = row.state
            row.apply(change, at: at)
            state.notices.rows[Int(id - 1)] = row
            state.notices.events.append(NoticeEvent(noticeID: id, at: at, from: before, to: change.to, runID: runID, detail: change.detail))
            return row
        }
    }

    public func notices(states: [NoticeState]?) async throws -> [NoticeRow] {
        state.withLock { state in state.notices.rows.filter { states?.contains($0.state) ?? true } }
    }

    public func noticeEvents(id: Int64) async throws -> [NoticeEvent] {
        state.withLock { state in state.notices.events.filter { $0.noticeID == id } }
    }
}

extension NoticeRow {
    /// The columns a transition changes, as the Postgres store's UPDATE changes them.
    mutating func apply(_ change: NoticeChange, at: Date) {
        state = change.to
        updatedAt = at
        if let reply = change.reply { self.reply = reply }
        if let queueID = change.queueID { self.queueID = queueID }
        if change.resetsAttempts { attempts = 0 }
        if change.startsAttempt {
            attempts += 1
            lastAttemptAt = at
        }
        if change.to == .submitted { submittedAt = submittedAt ?? at }
        if change.to == .sent { sentAt = at }
    }
}
