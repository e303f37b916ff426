import FeedMapping
import FileSources
import Foundation
import Ledger
import Testing

@testable import BridgeRun

/// When a daily outbound feed is due, on the in-memory ledger.
@Suite("Export schedule")
struct ExportScheduleTests {
    static func feed() throws -> OutboundFeedDefinition {
        let catalog = try FeedCatalog.load(directory: joinPath(BridgeHarness.repository, "mappings"))
        return try #require(catalog.outboundFeed(id: "capita-export-new"))
    }

    static func at(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    /// Noon UTC the day after tomorrow: past that day's 03:00 slot whatever the time of day the test runs at.
    static func dayAfterTomorrowNoon() -> Date {
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        return utc.startOfDay(for: Date()).addingTimeInterval(86_400 * 2 + 43_200)
    }

    @Test("a daily 03:00 feed: not before 03:00 UTC; due after it until an export is planned at or after it")
    func daily() async throws {
        let feed = try Self.feed()
        let ledger = MemoryLedger()
        #expect(try await !ExportSchedule.isDue(feed, ledger: ledger, now: Self.at("2026-12-06T02:59:00Z")))
        #expect(try await ExportSchedule.isDue(feed, ledger: ledger, now: Self.at("2026-12-06T03:00:00Z")))
        let run = try await ledger.startRun(command: "export", host: "h", pid: 1, feeds: [])
        _ = try await ledger.planExport(feed: feed.id, runID: run, range: ExportRange(after: nil, upTo: "5.5"), fileName: "a", destination: "d")
        // The row was planned now, after today's 03:00 and before tomorrow's.
        #expect(try await !ExportSchedule.isDue(feed, ledger: ledger, now: Date()))
        #expect(try await ExportSchedule.isDue(feed, ledger: ledger, now: Self.dayAfterTomorrowNoon()))
    }

    @Test("a range found empty settles the slot: the feed is not due again until the next 03:00")
    func emptyRangeSettlesTheSlot() async throws {
        let feed = try Self.feed()
        let ledger = MemoryLedger()
        let later = Self.dayAfterTomorrowNoon()
        #expect(try await ExportSchedule.isDue(feed, ledger: ledger, now: later))
        _ = try await ledger.settleEmptyRange(feed: feed.id, range: ExportRange(after: nil, upTo: nil))
        // Settled now, at or after today's slot (or before it, when today's has not come): not due again today.
        #expect(try await !ExportSchedule.isDue(feed, ledger: ledger, now: Date()))
        #expect(try await ExportSchedule.isDue(feed, ledger: ledger, now: later))
    }
}
