/// A legacy date layout such as `dd/MM/yyyy`, `ddMMyy`, `d/M/yyyy` or `yyyy-MM-dd HH:mm:ss.fff`, compiled once and
/// then matched against field bytes with no allocation.
///
/// Tokens: `yyyy`, `yy` (needs a ``TwoDigitYearPivot``), `MM`/`M`, `dd`/`d` (one letter: one or two digits),
/// `HH`, `mm`, `ss`, `fff` (a time part that must be well formed and is then dropped); any other character is a
/// literal that must appear as written.
public struct DatePattern: Sendable, Hashable, CustomStringConvertible {
    @usableFromInline
    enum Token: Sendable, Hashable {
        case year4, year2
        case month(flexible: Bool)
        case day(flexible: Bool)
        case hour, minute, second, fraction
        case literal(UInt8)
    }

    @usableFromInline let tokens: [Token]
    public let description: String

    public static let iso = DatePattern(validating: "yyyy-MM-dd")!

    /// Nil when the layout has an unknown letter run or names a part twice.
    public init?(validating layout: String) {
        var tokens: [Token] = []
        let chars = Array(layout.utf8)
        var index = 0
        while index < chars.count {
            let char = chars[index]
            var run = 1
            while index + run < chars.count, chars[index + run] == char { run += 1 }
            switch (char, run) {
            case (UInt8(ascii: "y"), 4): tokens.append(.year4)
            case (UInt8(ascii: "y"), 2): tokens.append(.year2)
            case (UInt8(ascii: "M"), 2): tokens.append(.month(flexible: false))
            case (UInt8(ascii: "M"), 1): tokens.append(.month(flexible: true))
            case (UInt8(ascii: "d"), 2): tokens.append(.day(flexible: false))
            case (UInt8(ascii: "d"), 1): tokens.append(.day(flexible: true))
            case (UInt8(ascii: "H"), 2): tokens.append(.hour)
            case (UInt8(ascii: "m"), 2): tokens.append(.minute)
            case (UInt8(ascii: "s"), 2): tokens.append(.second)
            case (UInt8(ascii: "f"), 3): tokens.append(.fraction)
            case (let letter, _) where ASCII.isLower(letter) || ASCII.isUpper(letter): return nil
            default:
                tokens.append(contentsOf: repeatElement(.literal(char), count: run))
            }
            index += run
        }
        let years = tokens.filter { $0 == .year4 || $0 == .year2 }.count
        let months = tokens.filter { if case .month = $0 { true } else { false } }.count
        let days = tokens.filter { if case .day = $0 { true } else { false } }.count
        guard years == 1, months == 1, days == 1 else { return nil }
        self.tokens = tokens
        self.description = layout
    }

    /// The date the bytes hold, or nil when they do not match the layout or name no real day.
    @inlinable
    public func parse(_ bytes: UnsafeBufferPointer<UInt8>, pivot: TwoDigitYearPivot?) -> LocalDate? {
        parseWithTime(bytes, pivot: pivot)?.date
    }

    /// The date and the time of day the bytes hold (zero for parts the layout lacks).
    @inlinable
    public func parseWithTime(
        _ bytes: UnsafeBufferPointer<UInt8>, pivot: TwoDigitYearPivot?
    ) -> (date: LocalDate, hour: Int, minute: Int, second: Int)? {
        var cursor = 0
        var year = 0
        var month = 0
        var day = 0
        var hour = 0
        var minute = 0
        var second = 0
        var twoDigitYear = false

        @inline(__always) func digits(_ minimum: Int, _ maximum: Int) -> Int? {
            var value = 0
            var taken = 0
            while taken < maximum, cursor < bytes.count, ASCII.isDigit(bytes[cursor]) {
                value = value * 10 + Int(bytes[cursor] &- 48)
                cursor += 1
                taken += 1
            }
            return taken >= minimum ? value : nil
        }

        for token in tokens {
            switch token {
            case .year4:
                guard let value = digits(4, 4) else { return nil }
                year = value
            case .year2:
                guard let value = digits(2, 2) else { return nil }
                year = value
                twoDigitYear = true
            case .month(let flexible):
                guard let value = digits(flexible ? 1 : 2, 2) else { return nil }
                month = value
            case .day(let flexible):
                guard let value = digits(flexible ? 1 : 2, 2) else { return nil }
                day = value
            case .hour:
                guard let value = digits(2, 2), value < 24 else { return nil }
                hour = value
            case .minute:
                guard let value = digits(2, 2), value < 60 else { return nil }
                minute = value
            case .second:
                guard let value = digits(2, 2), value < 60 else { return nil }
                second = value
            case .fraction: guard digits(3, 3) != nil else { return nil }
            case .literal(let byte):
                guard cursor < bytes.count, bytes[cursor] == byte else { return nil }
                cursor += 1
            }
        }
        guard cursor == bytes.count else { return nil }
        let date: LocalDate?
        if twoDigitYear {
            guard let pivot else { return nil }
            date = pivot.resolve(twoDigitYear: year, month: month, day: day)
        } else {
            date = LocalDate(year: year, month: month, day: day)
        }
        guard let date else { return nil }
        return (date, hour, minute, second)
    }
}

/// How a two-digit year becomes a four-digit one. Legacy `ddMMyy` fields hold dates of birth, which always lie in
/// the past: the year is the latest one ending in those digits that puts the date on or before `today`.
public struct TwoDigitYearPivot: Sendable, Hashable {
    public let today: LocalDate

    public init(today: LocalDate) { self.today = today }

    @inlinable
    public func resolve(twoDigitYear: Int, month: Int, day: Int) -> LocalDate? {
        let century = today.year - today.year % 100
        var year = century + twoDigitYear
        if year > today.year || (year == today.year && (month, day) > (today.month, today.day)) { year -= 100 }
        return LocalDate(year: year, month: month, day: day)
    }
}
