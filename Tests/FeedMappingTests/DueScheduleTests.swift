import Foundation
import Testing

@testable import FeedMapping

/// Expected arrivals judged with a controlled clock: deadlines and windows in Europe/London time (summer time
/// included), and the three outcomes.
@Suite("Expected arrivals: due schedules")
struct DueScheduleTests {
    static func utc(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    static let monthly = DueSchedule(
        every: .month, by: .init(day: 5, hour: 9, minute: 0), from: .init(day: 20, hour: 0, minute: 0))
    static let daily = DueSchedule(every: .day, by: .init(hour: 4, minute: 30))

    @Test("monthly by day 5 09:00, window from the 20th: the deadline and window a December morning judges (GMT)")
    func monthlyWindow() {
        let period = Self.monthly.latestDuePeriod(at: Self.utc("2026-12-06T10:00:00Z"))
        #expect(period.deadline == Self.utc("2026-12-05T09:00:00Z"))
        #expect(period.opens == Self.utc("2026-11-20T00:00:00Z"))
        #expect(period.closes == Self.utc("2026-12-20T00:00:00Z"))
        // Before the deadline the previous month's is the latest: its window closed when December's opened.
        let earlier = Self.monthly.latestDuePeriod(at: Self.utc("2026-12-05T08:59:00Z"))
        #expect(earlier.deadline == Self.utc("2026-11-05T09:00:00Z"))
        #expect(earlier.closes == Self.utc("2026-11-20T00:00:00Z"))
        #expect(Self.monthly.nextDeadline(after: Self.utc("2026-12-05T08:59:00Z")) == Self.utc("2026-12-05T09:00:00Z"))
    }

    @Test("daily by 04:30 is 03:30 UTC in British Summer Time and 04:30 UTC in winter")
    func summerTime() {
        #expect(Self.daily.latestDuePeriod(at: Self.utc("2026-07-01T12:00:00Z")).deadline == Self.utc("2026-07-01T03:30:00Z"))
        #expect(Self.daily.latestDuePeriod(at: Self.utc("2026-07-01T03:29:00Z")).deadline == Self.utc("2026-06-30T03:30:00Z"))
        #expect(Self.daily.latestDuePeriod(at: Self.utc("2026-12-01T12:00:00Z")).deadline == Self.utc("2026-12-01T04:30:00Z"))
        // The window is the London day: it opened at local midnight (23:00 UTC the day before in summer).
        #expect(Self.daily.latestDuePeriod(at: Self.utc("2026-07-01T12:00:00Z")).opens == Self.utc("2026-06-30T23:00:00Z"))
    }

    @Test("day 31 in a short month is its last day; a weekly deadline falls on its weekday")
    func clampingAndWeeks() {
        let endOfMonth = DueSchedule(every: .month, by: .init(day: 31, hour: 18, minute: 0))
        #expect(endOfMonth.latestDuePeriod(at: Self.utc("2027-03-01T12:00:00Z")).deadline == Self.utc("2027-02-28T18:00:00Z"))
        let weekly = DueSchedule(every: .week, by: .init(day: 1, hour: 9, minute: 0))
        // 2026-12-09 is a Wednesday: the latest Monday 09:00 is the 7th.
        #expect(weekly.latestDuePeriod(at: Self.utc("2026-12-09T12:00:00Z")).deadline == Self.utc("2026-12-07T09:00:00Z"))
    }

    @Test("on time, arrived late, missing: the check and the gauge's value")
    func outcomes() {
        let now = Self.utc("2026-12-06T10:00:00Z")
        let onTime = ArrivalCheck(feed: "f", schedule: Self.monthly, at: now, firstArrival: Self.utc("2026-11-26T13:29:00Z"))
        #expect(onTime.state == .onTime && !onTime.isLate)
        let late = ArrivalCheck(feed: "f", schedule: Self.monthly, at: now, firstArrival: Self.utc("2026-12-05T09:01:00Z"))
        #expect(late.state == .arrivedLate && !late.isLate)
        let missing = ArrivalCheck(feed: "f", schedule: Self.monthly, at: now, firstArrival: nil)
        #expect(missing.state == .missing && missing.isLate)
        #expect(missing.summary.hasPrefix("LATE: due by 2026-12-05 09:00 GMT"), "\(missing.summary)")
        #expect(missing.summary.contains("next due by 2027-01-05 09:00 GMT"), "\(missing.summary)")
        // What the ledger is asked: arrivals from the window's opening up to now.
        let window = ArrivalCheck.window(of: Self.monthly, at: now)
        #expect(window.period.opens == Self.utc("2026-11-20T00:00:00Z"))
        #expect(window.seenBefore > now && window.seenBefore < Self.utc("2026-12-20T00:00:00Z"))
    }

    @Test("due: in a mapping loads; a malformed one names its line and what is expected")
    func parsing() throws {
        let line = "status: shadow\n"
        let good = baseMapping.replacingOccurrences(of: line, with: line + "due: {every: month, by: \"day 5 09:00\", from: \"day 20 00:00\"}\n")
        #expect(try loadMapping(good).due == Self.monthly)
        let cases: [(String, String)] = [
            ("due: {every: month, by: \"09:00\"}", "due.by for every month must be day N and HH:mm"),
            ("due: {every: fortnight, by: \"09:00\"}", "due.every must be one of day, week, month"),
            ("due: {every: day, by: \"4:30\"}", "due.by for every day must be HH:mm"),
            ("due: {every: week, by: \"funday 09:00\"}", "due.by for every week must be a weekday and HH:mm"),
            ("due: {every: day, by: \"00:00\"}", "say when its window opens with due.from"),
            ("due: {every: day, by: \"04:30\", until: \"05:00\"}", "unknown key 'until' in due"),
        ]
        for (due, message) in cases {
            let text = baseMapping.replacingOccurrences(of: line, with: line + due + "\n")
            let error = try #require(mappingError(text), "\(due) loaded")
            #expect(error.message.contains(message), "\(due): \(error.message)")
            #expect(error.line == 7, "\(due): line \(error.line)")
        }
    }
}
