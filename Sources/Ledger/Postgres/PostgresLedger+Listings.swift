public import Foundation
import LibPQ

extension PostgresLedger: ListingLedger {
    /// Records that a listing saw `path` with this size and mtime now; returns since when they have been unchanged.
    public func observe(feed: String, path: String, size: Int64, mtime: Date, now: Date) async throws -> ListingObservation {
        try await withConnection { connection in
            let row = try connection.query(
                """
                INSERT INTO bridge.listing_observations AS o (feed, path, size, mtime, first_seen, last_seen)
                VALUES ($1, $2, $3, $4, $5, $5)
                ON CONFLICT (feed, path) DO UPDATE SET
                    first_seen = CASE WHEN o.size = EXCLUDED.size AND o.mtime = EXCLUDED.mtime THEN o.first_seen ELSE EXCLUDED.first_seen END,
                    listings = CASE WHEN o.size = EXCLUDED.size AND o.mtime = EXCLUDED.mtime THEN o.listings + 1 ELSE 1 END,
                    size = EXCLUDED.size, mtime = EXCLUDED.mtime, last_seen = EXCLUDED.last_seen
                RETURNING size, mtime, first_seen, last_seen, listings
                """,
                [.text(feed), .text(path), .int64(size), .timestamp(mtime), .timestamp(now)]
            ).rows[0]
            return ListingObservation(
                size: row.int64("size") ?? size, mtime: row.date("mtime") ?? mtime, firstSeen: row.date("first_seen") ?? now,
                lastSeen: row.date("last_seen") ?? now, listings: row.int("listings") ?? 1)
        }
    }

    public func noteDecision(feed: String, path: String, decision: String) async throws {
        try await withConnection { connection in
            try connection.execute(
                "UPDATE bridge.listing_observations SET decision = $3 WHERE feed = $1 AND path = $2",
                [.text(feed), .text(path), .text(decision)])
        }
    }

}
