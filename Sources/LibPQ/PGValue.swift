import Foundation

/// A bound parameter value, sent to the server in text format with its type left for the server to infer
/// (cast in SQL where the inference is ambiguous: `$1::date`, `$2::jsonb`, `$3::text[]`).
///
/// Values are never spliced into SQL text: every ``PGConnection/query(_:_:)`` call binds them with `PQexecParams`.
public struct PGValue: Sendable, Hashable, CustomStringConvertible {
    /// The text form sent to the server.
    public let text: String

    public init(text: String) { self.text = text }

    public static func text(_ value: String) -> PGValue { PGValue(text: value) }
    public static func int(_ value: Int) -> PGValue { PGValue(text: String(value)) }
    public static func int64(_ value: Int64) -> PGValue { PGValue(text: String(value)) }
    public static func bool(_ value: Bool) -> PGValue { PGValue(text: value ? "t" : "f") }
    public static func double(_ value: Double) -> PGValue { PGValue(text: String(value)) }
    /// A JSON document as text (cast with `::json` or `::jsonb`).
    public static func json(_ value: String) -> PGValue { PGValue(text: value) }

    /// A point in time, as an ISO 8601 UTC timestamp with microseconds (for `timestamptz`).
    public static func timestamp(_ value: Date) -> PGValue { PGValue(text: PGTimestamp.format(value)) }

    /// Binary data in PostgreSQL's hex `bytea` input form.
    public static func bytea(_ value: Data) -> PGValue {
        var out = "\\x"
        out.reserveCapacity(2 + value.count * 2)
        let digits = Array("0123456789abcdef")
        for byte in value {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return PGValue(text: out)
    }

    /// A one-dimensional array literal (`{"a","b"}`) of texts; cast with `::text[]`. NULL elements are written as NULL.
    ///
    /// Written byte by byte: bulk statements send thousands of elements per call, and in UTF-8 the bytes of `"` and
    /// `\` never occur inside another character, so escaping them byte-wise is exact.
    public static func textArray(_ values: [String?]) -> PGValue {
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(values.count * 24)
        for (index, value) in values.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            guard let value else {
                out.append(contentsOf: "NULL".utf8)
                continue
            }
            out.append(UInt8(ascii: "\""))
            for byte in value.utf8 {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                out.append(byte)
            }
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "}"))
        return PGValue(text: String(decoding: out, as: UTF8.self))
    }

    /// Values are never logged by this library; the description says only how long the text is.
    public var description: String { "PGValue(\(text.utf8.count) bytes)" }
}

extension PGValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self.init(text: value) }
}

extension PGValue: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int) { self.init(text: String(value)) }
}

extension PGValue: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

/// Parsing and formatting of `timestamptz` text (the connection is set to UTC and ISO date style).
enum PGTimestamp {
    static func format(_ date: Date) -> String {
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC")!)
        return date.formatted(style)
    }

    /// Parses `2024-05-06 07:08:09.123456+00` (also without fraction, with `T`, or with `+00:00`), or a bare date.
    static func parse(_ text: String) -> Date? {
        let utf8 = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= utf8.count else { return nil }
            var value = 0
            for index in from..<(from + count) {
                let digit = Int(utf8[index]) - 48
                guard digit >= 0 && digit <= 9 else { return nil }
                value = value * 10 + digit
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2) else { return nil }
        var components = DateComponents()
        components.year = year
        components.month = month
        components.day = day
        components.hour = 0
        components.minute = 0
        components.second = 0
        var fraction = 0.0
        var offsetSeconds = 0
        if utf8.count > 10 {
            guard let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2) else { return nil }
            components.hour = hour
            components.minute = minute
            components.second = second
            var index = 19
            if index < utf8.count && utf8[index] == UInt8(ascii: ".") {
                index += 1
                var scale = 0.1
                while index < utf8.count, utf8[index] >= 48, utf8[index] <= 57 {
                    fraction += Double(utf8[index] - 48) * scale
                    scale /= 10
                    index += 1
                }
            }
            if index < utf8.count {
                let sign = utf8[index]
                if sign == UInt8(ascii: "Z") {
                    offsetSeconds = 0
                } else if sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                    let hours = number(index + 1, 2) ?? 0
                    var minutes = 0
                    if index + 3 < utf8.count {
                        let minuteStart = utf8[index + 3] == UInt8(ascii: ":") ? index + 4 : index + 3
                        minutes = number(minuteStart, 2) ?? 0
                    }
                    offsetSeconds = (hours * 3600 + minutes * 60) * (sign == UInt8(ascii: "-") ? -1 : 1)
                }
            }
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let base = calendar.date(from: components) else { return nil }
        return base.addingTimeInterval(fraction - Double(offsetSeconds))
    }
}
