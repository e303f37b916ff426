public import Foundation
import LibPQ

extension PostgresLedger: ArrivalLedger {
    public func firstArrival(feed: String, from: Date, before: Date) async throws -> Date? {
        try await withConnection { connection in
            try connection.query(
                """
                SELECT min(created_at) AS first FROM bridge.files
                WHERE feed = $1 AND created_at >= $2 AND created_at < $3 AND state NOT IN ('left', 'duplicate') AND replay_of IS NULL
                """, [.text(feed), .timestamp(from), .timestamp(before)]
            ).date(0, "first")
        }
    }
}
