public import DQTModel

extension ChangeFeed {
    /// The changes after `after` (nil: from the first) up to and including the cursor `upTo`, of `kinds` (empty:
    /// every kind), read `pageSize` at a time. The range is fixed by its two cursors, so it yields the same changes
    /// however often and whenever it is read (an export regenerates exactly its file); pages are read as the sequence
    /// is consumed, the next one while the current one is (at most two pages held).
    public func changes(after: String?, upTo: String, kinds: [String], pageSize: Int = 1000) -> ChangeRange {
        ChangeRange(feed: self, after: after, upTo: upTo, kinds: kinds, pageSize: pageSize)
    }
}

/// A fixed range of the change feed as an `AsyncSequence` (see ``ChangeFeed/changes(after:upTo:kinds:pageSize:)``).
public struct ChangeRange: AsyncSequence, Sendable {
    public typealias Element = Change

    let feed: any ChangeFeed
    let after: String?
    let upTo: String
    let kinds: [String]
    let pageSize: Int

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(range: self, cursor: after) }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let range: ChangeRange
        var cursor: String?
        var page: [Change] = []
        var index = 0
        /// No page is to be read any more (the rest of `page` may still be yielded).
        var lastPage = false
        /// The range's end, read from `upTo` on the first call.
        var end: ChangeCursor?
        /// The page after `page`, being read.
        var ahead: PageAhead?

        init(range: ChangeRange, cursor: String?) {
            self.range = range
            self.cursor = cursor
        }

        public mutating func next() async throws -> Change? {
            let end = try self.end ?? ChangeCursor.parse(range.upTo)
            if self.end == nil {
                self.end = end
                if let cursor, try ChangeCursor.parse(cursor) >= end { lastPage = true }
            }
            while true {
                if index < page.count {
                    let change = page[index]
                    index += 1
                    guard try ChangeCursor.parse(change.cursor) <= end else {
                        page = []
                        lastPage = true
                        return nil
                    }
                    return change
                }
                if lastPage { return nil }
                let reading = ahead ?? PageAhead(range: range, after: cursor)
                ahead = nil
                let next = try await reading.task.value
                page = next.changes
                index = 0
                cursor = next.nextCursor
                lastPage = try next.changes.isEmpty || !next.hasMore || ChangeCursor.parse(next.nextCursor) >= end
                if !lastPage { ahead = PageAhead(range: range, after: cursor) }
            }
        }
    }

    /// A page being read; cancelled when dropped unread (the sequence was left early).
    final class PageAhead {
        let task: Task<ChangePage, any Error>

        init(range: ChangeRange, after cursor: String?) {
            let (feed, limit, kinds) = (range.feed, range.pageSize, range.kinds)
            task = Task { try await feed.changes(after: cursor, limit: limit, kinds: kinds) }
        }

        deinit { task.cancel() }
    }
}
