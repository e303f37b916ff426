public import FeedMapping
public import Foundation
public import Ledger

/// Expected arrivals (what the legacy Files Validation job was for): each polled feed that declares `due:` judged
/// against the ledger's record of when its files were first seen.
public enum ExpectedArrivals {
    /// Every `shadow` or `live` feed with a `due:`, judged at `now`, in feed order. Feeds the bridge does not poll
    /// (`legacy`, `retired`) are not judged: their files are not the bridge's to see.
    public static func check(catalog: FeedCatalog, ledger: any ArrivalLedger, at now: Date) async throws -> [ArrivalCheck] {
        var checks: [ArrivalCheck] = []
        for feed in catalog.feeds.sorted(by: { $0.id < $1.id }) where feed.status.isPolled {
            guard let schedule = feed.due else { continue }
            let window = ArrivalCheck.window(of: schedule, at: now)
            let first = try await ledger.firstArrival(feed: feed.id, from: window.period.opens, before: window.seenBefore)
            checks.append(ArrivalCheck(feed: feed.id, schedule: schedule, at: now, firstArrival: first))
        }
        return checks
    }

    /// `dqt_bridge_feed_file_late{feed}`: 1 while the feed's file due by the latest deadline has not arrived, else 0.
    public static func record(_ checks: [ArrivalCheck], in metrics: RunMetrics) {
        for check in checks { metrics.set("dqt_bridge_feed_file_late", ["feed": check.feed], check.isLate ? 1 : 0) }
    }
}
