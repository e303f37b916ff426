import Foundation
import LibPQ
import NIOHTTP1
import Testing

@testable import DQTAPI

/// One page of `GET /v3/changes` as a test reads it.
struct FeedPage {
    var changes: [[String: Any]]
    var nextCursor: String
    var endCursor: String
    var hasMore: Bool
    var cursors: [String] { changes.map { $0["cursor"] as? String ?? "" } }
}

extension Harness {
    /// `GET /v3/changes` with the all-roles key (its rate limit lets readers poll); fails the test unless the answer is a 200 page.
    func changes(after: String? = nil, limit: Int? = nil, kinds: String? = nil, sourceLocation: SourceLocation = #_sourceLocation)
        async throws -> FeedPage
    {
        var query: [String] = []
        if let after { query.append("after=\(after)") }
        if let limit { query.append("limit=\(limit)") }
        if let kinds { query.append("kinds=\(kinds)") }
        let reply = try await call(.GET, "/v3/changes" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")), key: allKey)
        try #require(reply.status == 200, "\(reply.status) \(reply.text)", sourceLocation: sourceLocation)
        let json = try reply.json()
        return FeedPage(
            changes: try #require(json["changes"] as? [[String: Any]], sourceLocation: sourceLocation),
            nextCursor: try #require(json["nextCursor"] as? String, sourceLocation: sourceLocation),
            endCursor: try #require(json["endCursor"] as? String, sourceLocation: sourceLocation),
            hasMore: try #require(json["hasMore"] as? Bool, sourceLocation: sourceLocation))
    }

    /// Every change after `after`, read `limit` at a time until `hasMore` is false.
    func allChanges(after: String? = nil, limit: Int = 1000, kinds: String? = nil) async throws -> [[String: Any]] {
        var cursor = after
        var all: [[String: Any]] = []
        while true {
            let page = try await changes(after: cursor, limit: limit, kinds: kinds)
            all += page.changes
            cursor = page.nextCursor
            if !page.hasMore { return all }
        }
    }

    /// Waits (up to two minutes) until the feed gives every committed change: it holds changes back while any
    /// transaction older than theirs runs anywhere on the server, and other tests share the server.
    func waitUntilSettled() async throws {
        let committed = try await auditCursors().count
        let deadline = ContinuousClock.now + .seconds(120)
        while try await allChanges().count < committed && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
    }

    /// Every committed change as the feed must give it: all audit rows in (transaction, id) order.
    func auditCursors() async throws -> [String] {
        try await sql { connection in
            try connection.query("SELECT xid::text || '.' || id AS cursor FROM audit ORDER BY xid, id").rows.compactMap { $0["cursor"] }
        }
    }
}

/// A cursor's two numbers, for checking order.
func cursorPair(_ text: String) -> (UInt64, Int64) {
    let parts = text.split(separator: ".")
    return (UInt64(parts[0]) ?? 0, Int64(parts[1]) ?? 0)
}

func isAscending(_ cursors: [String]) -> Bool {
    zip(cursors, cursors.dropFirst()).allSatisfy { cursorPair($0) < cursorPair($1) }
}
