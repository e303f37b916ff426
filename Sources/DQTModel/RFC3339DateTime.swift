public import Foundation

/// RFC 3339 date-times as dqt-api and its client write and read them: written with milliseconds
/// (`2024-05-01T09:30:00.000Z`), read with or without fractional seconds (the OpenAPI runtime's default refuses
/// fractions). The server and the client share this one implementation so that what one writes the other reads.
public enum RFC3339DateTime {
    /// A text that is not an RFC 3339 date-time with every field in range.
    public struct NotADateTime: Error {}

    /// `date` with milliseconds, in UTC.
    public static func format(_ date: Date) -> String { date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)) }

    /// The date-time `text` names. With `strict`, a field out of its range (minute 99, February 30) is refused with
    /// ``NotADateTime``; without it Foundation's parser rolls such a field over, which is enough for a client reading
    /// what the server wrote.
    public static func parse(_ text: String, strict: Bool) throws -> Date {
        if strict { guard fieldsInRange(Array(text.utf8)) else { throw NotADateTime() } }
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        return try Date.ISO8601FormatStyle().parse(text)
    }

    /// `yyyy-MM-ddTHH:mm:ss[.fraction](Z|±HH:mm)` with every field in range.
    static func fieldsInRange(_ bytes: [UInt8]) -> Bool {
        func number(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[start..<start + count] {
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        func byte(_ index: Int, _ allowed: String) -> Bool { index < bytes.count && allowed.utf8.contains(bytes[index]) }
        guard let year = number(0, 4), byte(4, "-"), let month = number(5, 2), byte(7, "-"), let day = number(8, 2),
            LocalDate(year: year, month: month, day: day) != nil, byte(10, "T"), let hour = number(11, 2), hour < 24,
            byte(13, ":"), let minute = number(14, 2), minute < 60, byte(16, ":"), let second = number(17, 2), second < 61
        else { return false }
        var index = 19
        if byte(index, ".") {
            index += 1
            let digits = index
            while number(index, 1) != nil { index += 1 }
            guard index > digits else { return false }
        }
        if byte(index, "Z") { return index + 1 == bytes.count }
        guard byte(index, "+-"), let offsetHours = number(index + 1, 2), offsetHours < 24, byte(index + 3, ":"),
            let offsetMinutes = number(index + 4, 2), offsetMinutes < 60
        else { return false }
        return index + 6 == bytes.count
    }
}
