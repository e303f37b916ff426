public import Foundation

/// Whether a feed's file due by the latest passed deadline has come: what Files Validation checked on the legacy
/// server, judged from when the bridge first saw each file.
public struct ArrivalCheck: Sendable, Hashable {
    public enum State: String, Sendable {
        /// A file arrived in the period's window by the deadline.
        case onTime = "on time"
        /// The first file of the window arrived after the deadline.
        case arrivedLate = "arrived late"
        /// The deadline has passed and no file of the window has arrived yet.
        case missing
    }

    public let feed: String
    public let schedule: DueSchedule
    /// The period of the latest deadline at or before the time judged.
    public let period: DuePeriod
    /// When the first file of that period's window was first seen; nil when none has been.
    public let firstArrival: Date?
    public let state: State
    /// The next deadline after the time judged.
    public let nextDeadline: Date

    /// The period to ask the ledger about at `now`, and the end of its window as far as `now` has got: arrivals in
    /// `[period.opens, seenBefore)` belong to it.
    public static func window(of schedule: DueSchedule, at now: Date) -> (period: DuePeriod, seenBefore: Date) {
        let period = schedule.latestDuePeriod(at: now)
        return (period, min(period.closes, now.addingTimeInterval(1)))
    }

    /// Judges the latest due period at `now` given the first arrival in its window (nil: none).
    public init(feed: String, schedule: DueSchedule, at now: Date, firstArrival: Date?) {
        let period = schedule.latestDuePeriod(at: now)
        self.feed = feed
        self.schedule = schedule
        self.period = period
        self.firstArrival = firstArrival
        self.nextDeadline = schedule.nextDeadline(after: now)
        switch firstArrival {
        case nil: state = .missing
        case let arrival? where arrival <= period.deadline: state = .onTime
        case .some: state = .arrivedLate
        }
    }

    /// The file due is overdue: what `dqt_bridge_feed_file_late` reports as 1.
    public var isLate: Bool { state == .missing }

    /// One line for `status` and the estate page, in London time.
    public var summary: String {
        let due = Self.format(period.deadline)
        switch state {
        case .onTime: return "on time: due by \(due), arrived \(Self.format(firstArrival!)); next due by \(Self.format(nextDeadline))"
        case .arrivedLate: return "arrived late: due by \(due), arrived \(Self.format(firstArrival!)); next due by \(Self.format(nextDeadline))"
        case .missing:
            return "LATE: due by \(due), not arrived (window opened \(Self.format(period.opens))); next due by \(Self.format(nextDeadline))"
        }
    }

    /// `yyyy-MM-dd HH:mm` London time, with the zone's abbreviation (GMT or BST).
    public static func format(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_GB")
        formatter.timeZone = DueSchedule.timeZone
        formatter.dateFormat = "yyyy-MM-dd HH:mm zzz"
        return formatter.string(from: date)
    }
}
