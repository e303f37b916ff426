import Foundation

/// A date or timestamp layout for writing: `yyyy`, `yy`, `MM`, `dd`, `HH`, `mm`, `ss`; any other character is written
/// as it is (so `ddMMyy*` writes `010285*`). The reverse of the readers' `DatePattern` for the layouts outbound files use.
public struct TimestampPattern: Sendable, Hashable, CustomStringConvertible {
    enum Part: Sendable, Hashable {
        case year4, year2, month, day, hour, minute, second
        case literal(Character)
    }
    let parts: [Part]
    public let description: String

    /// Nil when the layout holds a letter run that is not a token.
    public init?(_ layout: String) {
        var parts: [Part] = []
        var rest = Substring(layout)
        let tokens: [(String, Part)] = [
            ("yyyy", .year4), ("yy", .year2), ("MM", .month), ("dd", .day), ("HH", .hour), ("mm", .minute), ("ss", .second),
        ]
        while let first = rest.first {
            if let (token, part) = tokens.first(where: { rest.hasPrefix($0.0) }) {
                parts.append(part)
                rest = rest.dropFirst(token.count)
            } else if first.isLetter {
                return nil
            } else {
                parts.append(.literal(first))
                rest = rest.dropFirst()
            }
        }
        self.parts = parts
        description = layout
    }

    /// Whether the layout has a time of day.
    var hasTime: Bool { parts.contains { $0 == .hour || $0 == .minute || $0 == .second } }

    /// The text for these parts of a date and time.
    func format(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) -> String {
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : String(n) }
        var out = ""
        for part in parts {
            switch part {
            case .year4: out += String(repeating: "0", count: max(0, 4 - String(year).count)) + String(year)
            case .year2: out += two(year % 100)
            case .month: out += two(month)
            case .day: out += two(day)
            case .hour: out += two(hour)
            case .minute: out += two(minute)
            case .second: out += two(second)
            case .literal(let c): out.append(c)
            }
        }
        return out
    }

    /// An ISO date (`yyyy-MM-dd`, with or without `THH:mm:ss...` after it) in this layout; nil when it is not one.
    func format(iso text: String) -> String? {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count, range.allSatisfy({ bytes[$0] >= 48 && bytes[$0] <= 57 }) else { return nil }
            return range.reduce(0) { $0 * 10 + Int(bytes[$1] - 48) }
        }
        guard bytes.count >= 10, bytes[4] == 45, bytes[7] == 45,
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        let hasClock = bytes.count >= 19 && (bytes[10] == 84 || bytes[10] == 32)
        let hour = hasClock ? number(11..<13) : nil
        let minute = hasClock ? number(14..<16) : nil
        let second = hasClock ? number(17..<19) : nil
        if hasTime && (hour == nil || minute == nil || second == nil) { return nil }
        return format(year: year, month: month, day: day, hour: hour ?? 0, minute: minute ?? 0, second: second ?? 0)
    }

    /// `{token}` groups of a file name pattern written for `date` in UTC; the rest is kept.
    static func expandTokens(in pattern: String, at date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        var out = ""
        var rest = Substring(pattern)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            out += rest[..<open]
            let layout = String(rest[rest.index(after: open)..<close])
            if let token = TimestampPattern(layout) {
                out += token.format(year: c.year!, month: c.month!, day: c.day!, hour: c.hour!, minute: c.minute!, second: c.second!)
            } else {
                out += rest[open...close]
            }
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }

    /// The `{token}` groups of a file name pattern that are not timestamp layouts (for `mappings lint`).
    static func badTokens(in pattern: String) -> [String] {
        var bad: [String] = []
        var rest = Substring(pattern)
        while let open = rest.firstIndex(of: "{") {
            guard let close = rest[open...].firstIndex(of: "}") else { return bad + [String(rest[open...])] }
            let layout = String(rest[rest.index(after: open)..<close])
            if layout.isEmpty || TimestampPattern(layout) == nil { bad.append("{\(layout)}") }
            rest = rest[rest.index(after: close)...]
        }
        if rest.contains("}") { bad.append("}") }
        return bad
    }
}
