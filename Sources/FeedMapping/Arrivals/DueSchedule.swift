public import Foundation

/// When a feed's files are due, in Europe/London local time (the partners' and the TQ unit's clock, summer time
/// included): one file (or more) per period, by a deadline inside it.
///
/// Time is cut into windows, one per period: a window opens at `from` (default: the start of the period's day, week
/// or month) and runs until the next window opens. A file that arrives in a window belongs to that window's deadline:
/// on time up to the deadline, late after it. A file never counts for two deadlines, so one late file cannot hide a
/// missing one.
public struct DueSchedule: Sendable, Hashable, CustomStringConvertible {
    public enum Every: String, Sendable, CaseIterable { case day, week, month }

    /// A moment inside a period: `day` is the weekday (1 Monday ... 7 Sunday) for a week, the day of the month for a
    /// month (clamped to the month's last day), unused for a day.
    public struct Moment: Sendable, Hashable {
        public var day: Int
        public var hour: Int
        public var minute: Int
        public init(day: Int = 1, hour: Int, minute: Int) {
            self.day = day
            self.hour = hour
            self.minute = minute
        }
    }

    public let every: Every
    /// The deadline in each period.
    public let by: Moment
    /// When each period's window opens; nil: at the start of the period.
    public let from: Moment?

    public init(every: Every, by: Moment, from: Moment? = nil) {
        self.every = every
        self.by = by
        self.from = from
    }

    /// The clock the schedule is read in.
    public static let timeZone = TimeZone(identifier: "Europe/London")!

    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        calendar.firstWeekday = 2
        return calendar
    }()

    /// The latest deadline at or before `now`, with its window: the period whose file `now` can judge.
    public func latestDuePeriod(at now: Date) -> DuePeriod {
        let deadline = latest(by, atOrBefore: now, strictly: false)
        return period(deadline: deadline)
    }

    /// The first deadline after `now`.
    public func nextDeadline(after now: Date) -> Date { earliest(by, after: now) }

    /// The window of the period whose deadline is `deadline`.
    func period(deadline: Date) -> DuePeriod {
        let opens = from.map { latest($0, atOrBefore: deadline, strictly: true) } ?? periodStart(containing: deadline)
        let nextDeadline = earliest(by, after: deadline)
        let closes = from.map { latest($0, atOrBefore: nextDeadline, strictly: true) } ?? periodStart(containing: nextDeadline)
        return DuePeriod(opens: opens, deadline: deadline, closes: closes)
    }

    /// `every: month, by: "day 5 09:00"` as the mapping writes it.
    public var description: String {
        "every \(every.rawValue) by \(Self.text(by, every))" + (from.map { " (window from \(Self.text($0, every)))" } ?? "")
    }

    static let weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

    static func text(_ moment: Moment, _ every: Every) -> String {
        let time = String(format: "%02d:%02d", moment.hour, moment.minute)
        switch every {
        case .day: return time
        case .week: return "\(weekdays[moment.day - 1]) \(time)"
        case .month: return "day \(moment.day) \(time)"
        }
    }

    // MARK: Calendar arithmetic

    private var component: Calendar.Component {
        switch every {
        case .day: .day
        case .week: .weekOfYear
        case .month: .month
        }
    }

    private func periodInterval(containing date: Date) -> DateInterval {
        Self.calendar.dateInterval(of: component, for: date)!
    }

    private func periodStart(containing date: Date) -> Date { periodInterval(containing: date).start }

    /// The moment's instant inside the period that contains `date`.
    private func occurrence(_ moment: Moment, inPeriodContaining date: Date) -> Date {
        let calendar = Self.calendar
        let start = periodStart(containing: date)
        var day = start
        switch every {
        case .day: break
        case .week: day = calendar.date(byAdding: .day, value: moment.day - 1, to: start)!
        case .month:
            let length = calendar.range(of: .day, in: .month, for: start)!.count
            day = calendar.date(byAdding: .day, value: min(moment.day, length) - 1, to: start)!
        }
        // A time the clocks skip (spring forward) moves to the next time that exists.
        return calendar.date(bySettingHour: moment.hour, minute: moment.minute, second: 0, of: day, matchingPolicy: .nextTime)!
    }

    /// The latest instant of `moment` at or before `date` (before it, when `strictly`).
    private func latest(_ moment: Moment, atOrBefore date: Date, strictly: Bool) -> Date {
        let candidate = occurrence(moment, inPeriodContaining: date)
        if strictly ? candidate < date : candidate <= date { return candidate }
        return occurrence(moment, inPeriodContaining: periodStart(containing: date).addingTimeInterval(-1))
    }

    /// The earliest instant of `moment` after `date`.
    private func earliest(_ moment: Moment, after date: Date) -> Date {
        let candidate = occurrence(moment, inPeriodContaining: date)
        if candidate > date { return candidate }
        return occurrence(moment, inPeriodContaining: periodInterval(containing: date).end)
    }
}

/// One period of a ``DueSchedule``: its window `[opens, closes)` and the deadline inside it.
public struct DuePeriod: Sendable, Hashable {
    public let opens: Date
    public let deadline: Date
    public let closes: Date
}
