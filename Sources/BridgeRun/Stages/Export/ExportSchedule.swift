import FeedMapping
import Foundation
import Ledger

/// When an outbound feed's next export is due.
enum ExportSchedule {
    /// A daily feed is due once its time of day (UTC) has come and since then no regular export of it was planned and no
    /// range of it was found empty; a feed that follows an inbound feed is due whenever that feed has files past its
    /// watermark (the input decides whether they are finished).
    static func isDue(_ feed: OutboundFeedDefinition, ledger: any ExportLedger, now: Date) async throws -> Bool {
        switch feed.schedule {
        case .afterEachFile:
            return true
        case .daily(let hour, let minute):
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            guard let slot = calendar.date(bySettingHour: hour, minute: minute, second: 0, of: now) else { return false }
            guard now >= slot else { return false }
            let last = try await ledger.exports(feed: feed.id, limit: 50).first { $0.resendOf == nil }
            let checked = try await ledger.watermark(feed: feed.id)?.checkedAt
            return max(last?.plannedAt ?? .distantPast, checked ?? .distantPast) < slot
        }
    }
}
