/// A calendar date with no time zone, as the legacy files and the API's `yyyy-MM-dd` fields carry them.
///
/// Deliberately not `Foundation.Date`: parsing half a million legacy dates must not touch calendars or locales.
public struct LocalDate: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public let year: Int
    public let month: Int
    public let day: Int

    /// Nil unless the day exists in that month and year (leap years included).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1,
            day <= LocalDate.daysIn(month: month, year: year)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `yyyy-MM-dd`.
    public init?(iso text: some StringProtocol) {
        let utf8 = ContiguousArray(text.utf8)
        guard let date = utf8.withUnsafeBufferPointer({ DatePattern.iso.parse($0, pivot: nil) }) else { return nil }
        self = date
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    public static func < (lhs: LocalDate, rhs: LocalDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    /// `yyyy-MM-dd`.
    public var description: String { text(separator: UInt8(ascii: "-")) }

    /// `yyyyMMdd`, as keys and legacy layouts write it.
    public var compact: String { text(separator: nil) }

    /// The year's four digits, the month's and the day's two, `separator` between them: written byte by byte, as
    /// this runs for every date of every workforce row.
    private func text(separator: UInt8?) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(10)
        func append(_ value: Int, _ divisor: Int) {
            var divisor = divisor
            while divisor > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                divisor /= 10
            }
        }
        append(year, 1000)
        if let separator { bytes.append(separator) }
        append(month, 10)
        if let separator { bytes.append(separator) }
        append(day, 10)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Today in UTC.
    public static func today() -> LocalDate {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        return LocalDate(year: Int(parts.tm_year) + 1900, month: Int(parts.tm_mon) + 1, day: Int(parts.tm_mday))!
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let date = LocalDate(iso: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected yyyy-MM-dd"))
        }
        self = date
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
