public import Foundation

/// When partners' files arrived, for expected arrivals (a feed's `due:`).
public protocol ArrivalLedger: Sendable {
    /// When the earliest file of `feed` first seen in `[from, before)` was first seen. A file counts when it was taken
    /// (not merely `left` while it grew) and is neither a replay nor a duplicate of an earlier file's content: a
    /// partner resending last month's file has not sent this month's.
    func firstArrival(feed: String, from: Date, before: Date) async throws -> Date?
}
