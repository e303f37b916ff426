import Foundation

/// The plausibility rules for people's names, free text and dates, shared by dqt-api (which refuses a request that
/// breaks one with 400) and the bridge's mappings (which refuse the row before anything is sent). `openapi.yaml`
/// states the same rules as patterns, lengths and descriptions.
public enum PlausibleText {
    /// Why a text is refused.
    public enum Violation: Sendable, Equatable {
        /// A C0 control (U+0000-U+001F), DEL (U+007F) or a C1 control (U+0080-U+009F, NEL among them).
        case controlCharacter
        /// A bidirectional embedding, override or isolate (U+202A-U+202E, U+2066-U+2069): it can make a name
        /// display as something other than what is stored.
        case bidirectionalControl

        public var rule: String {
            switch self {
            case .controlCharacter: return "cannot contain control characters"
            case .bidirectionalControl: return "cannot contain bidirectional overrides or isolates"
            }
        }
    }

    /// The first rule `text` breaks, or nil. `allowLineBreaks` lets multi-line free text keep tab, LF and CR (and
    /// only those); a name never has them.
    public static func violation(in text: String, allowLineBreaks: Bool = false) -> Violation? {
        var text = text
        let ascii = text.withUTF8 { judgeASCII($0, allowLineBreaks: allowLineBreaks) }
        return ascii.isASCII ? ascii.violation : scalarViolation(in: text, allowLineBreaks: allowLineBreaks)
    }

    /// Judges UTF-8 `bytes` byte by byte, without decoding, when they are all ASCII (nearly every value: then they are
    /// also NFC already, one code point per byte). `isASCII` false: nothing was judged, the decoded text needs
    /// ``scalarViolation(in:allowLineBreaks:)``. Inlinable because the bridge calls it for every text cell.
    @inlinable
    public static func judgeASCII(_ bytes: UnsafeBufferPointer<UInt8>, allowLineBreaks: Bool) -> (isASCII: Bool, violation: Violation?) {
        var found: Violation?
        for byte in bytes {
            if byte >= 0x80 { return (false, nil) }
            if found == nil && (byte < 0x20 || byte == 0x7F) {
                if allowLineBreaks && (byte == 0x09 || byte == 0x0A || byte == 0x0D) { continue }
                found = .controlCharacter
            }
        }
        return (true, found)
    }

    /// The first rule a text breaks, judged by its code points.
    public static func scalarViolation(in text: String, allowLineBreaks: Bool) -> Violation? {
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x09, 0x0A, 0x0D: if !allowLineBreaks { return .controlCharacter }
            case 0x00...0x1F, 0x7F...0x9F: return .controlCharacter
            case 0x202A...0x202E, 0x2066...0x2069: return .bidirectionalControl
            default: continue
            }
        }
        return nil
    }

    /// `text` in Unicode normalization form C (composed), so the same name is stored as the same code points
    /// whichever way a client's keyboard produced it. ASCII is already NFC and is returned as it is.
    public static func normalized(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text }
        return text.precomposedStringWithCanonicalMapping
    }

    /// How long a text is for a maximum length: its Unicode code points, as JSON Schema's `maxLength` counts.
    public static func length(_ text: some StringProtocol) -> Int { text.unicodeScalars.count }
}

extension LocalDate {
    /// The earliest date of birth for a person created today (the legacy register's rule for new records).
    public static let earliestNewRecordBirth = LocalDate(year: 1940, month: 1, day: 1)!
    /// The plausible range of every date a record carries (births, awards, inductions, employments, alerts);
    /// a field may narrow it (a date of birth is never in the future).
    public static let earliestPlausible = LocalDate(year: 1900, month: 1, day: 1)!
    public static let latestPlausible = LocalDate(year: 2099, month: 12, day: 31)!
}
