public import DQTModel
import Synchronization

/// A change feed held in memory, for fast tests of what reads the feed: the same answers as dqt-api's for the
/// changes it holds (order by cursor, `after` exclusive, `limit`, `kinds`, `nextCursor`, `endCursor`, `hasMore`), the same
/// refusals for a bad cursor, limit or kind.
public final class MemoryChangeFeed: ChangeFeed {
    private let held: Mutex<[Change]>

    /// `changes` in any order (they are kept in cursor order); each cursor must be `<digits>.<digits>`.
    public init(_ changes: [Change] = []) throws {
        let sorted = try changes.map { (try ChangeCursor.parse($0.cursor), $0) }.sorted { $0.0 < $1.0 }.map(\.1)
        held = Mutex(sorted)
    }

    /// Adds a change after all the others: its cursor is the next transaction's (`<n>.<n>`); returns it.
    @discardableResult
    public func append(
        kind: String, trn: String?, keyName: String = "test", operation: String, at: String = "2026-01-01T00:00:00.000Z",
        before: [String: String]? = nil, after: [String: String]? = nil
    ) -> Change {
        held.withLock { changes in
            let last = changes.last.flatMap { ChangeCursor($0.cursor) } ?? .start
            let next = max(last.transaction, last.change) + 1
            let change = Change(
                cursor: "\(next).\(next)", kind: kind, trn: trn, keyName: keyName, operation: operation, at: at, before: before, after: after)
            changes.append(change)
            return change
        }
    }

    public func changes(after: String?, limit: Int, kinds: [String]) async throws -> ChangePage {
        guard (1...10_000).contains(limit) else { throw ChangeFeedError.invalidLimit(limit) }
        if let unknown = kinds.first(where: { !ChangeKinds.all.contains($0) }) { throw ChangeFeedError.unknownKind(unknown) }
        let start = try after.map(ChangeCursor.parse) ?? .start
        return try held.withLock { changes in
            var page: [Change] = []
            var end: String?
            for change in changes where try ChangeCursor.parse(change.cursor) > start && (kinds.isEmpty || kinds.contains(change.kind)) {
                if page.count < limit { page.append(change) }
                end = change.cursor
            }
            let nextCursor = page.last?.cursor ?? after ?? "0.0"
            return ChangePage(changes: page, nextCursor: nextCursor, endCursor: end ?? nextCursor, hasMore: end != page.last?.cursor)
        }
    }
}
