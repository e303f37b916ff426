import DQTModel
import Foundation

/// Collects field errors (names and rules, never values) and turns them into one 400 problem.
struct Validator {
    var errors: [String: [String]] = [:]
    /// Computed once per validation (the calendar is not free).
    lazy var today = LocalDate.today()

    mutating func fail(_ field: String, _ message: String) { errors[field, default: []].append(message) }

    var isValid: Bool { errors.isEmpty }

    func check() throws(Problem) {
        if !errors.isEmpty { throw Problem.invalid(errors) }
    }

    /// The range every date of a write must fall in (`LocalDate.earliestPlausible...latestPlausible`); nil for a
    /// read, where an implausible date finds nothing instead of being refused.
    var plausibleDates: ClosedRange<LocalDate>? = LocalDate.earliestPlausible...LocalDate.latestPlausible

    /// A required `yyyy-MM-dd`.
    mutating func date(_ field: String, _ text: String?, notFuture: Bool = false) -> LocalDate? {
        guard let text else {
            fail(field, "\(field) is required.")
            return nil
        }
        return optionalDate(field, text, notFuture: notFuture)
    }

    mutating func optionalDate(_ field: String, _ text: String?, notFuture: Bool = false) -> LocalDate? {
        guard let text else { return nil }
        guard let date = LocalDate(iso: text) else {
            fail(field, "\(field) must be a date, yyyy-MM-dd.")
            return nil
        }
        if let range = plausibleDates, !range.contains(date) {
            fail(field, "\(field) must be between \(range.lowerBound) and \(range.upperBound).")
            return nil
        }
        if notFuture && date > today { fail(field, "\(field) cannot be in the future.") }
        return date
    }

    mutating func trn(_ field: String, _ text: String) -> String? {
        guard let trn = TRN(text) else {
            fail(field, "\(field) must be 7 digits.")
            return nil
        }
        return trn.digits
    }

    /// A name or single-line text: at most `max` code points once trimmed, no control characters, no bidirectional
    /// overrides or isolates. The value stored is the trimmed text in NFC (`WriteTransaction.trimmed`).
    mutating func name(_ field: String, _ text: String?, required: Bool, max: Int = 100) -> String? {
        checkedText(field, text, required: required, max: max, allowLineBreaks: false)
    }

    /// Free text that may run over several lines (tab, LF and CR allowed), otherwise as ``name(_:_:required:max:)``.
    mutating func freeText(_ field: String, _ text: String?, max: Int) -> String? {
        checkedText(field, text, required: false, max: max, allowLineBreaks: true)
    }

    private mutating func checkedText(_ field: String, _ text: String?, required: Bool, max: Int, allowLineBreaks: Bool) -> String? {
        // The whole text is judged, surrounding whitespace included, as the contract's pattern judges it.
        if let text, let violation = PlausibleText.violation(in: text, allowLineBreaks: allowLineBreaks) {
            fail(field, "\(field) \(violation.rule).")
            return nil
        }
        let trimmed = text.map(Self.trimmed)
        guard let trimmed, !trimmed.isEmpty else {
            if required { fail(field, "\(field) is required.") }
            return nil
        }
        // No more bytes than `max` means no more code points: count them only past that.
        if trimmed.utf8.count > max && PlausibleText.length(trimmed) > max {
            fail(field, "\(field) is longer than \(max) characters.")
        }
        return trimmed
    }

    /// `text` without surrounding whitespace and newlines; when both ends are visible ASCII (nearly always) that is
    /// `text` itself, and Foundation's character-set walk is skipped.
    static func trimmed(_ text: String) -> String {
        if let first = text.utf8.first, let last = text.utf8.last, isVisibleASCII(first), isVisibleASCII(last) { return text }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func isVisibleASCII(_ byte: UInt8) -> Bool { byte > 0x20 && byte < 0x7F }

    mutating func nino(_ field: String, _ text: String?, required: Bool = false) -> String? {
        guard let text, text.utf8.first.map(Self.isVisibleASCII) == true || !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            if required { fail(field, "\(field) is required.") }
            return nil
        }
        guard let nino = NationalInsuranceNumber(text) else {
            fail(field, "\(field) is not a valid National Insurance number.")
            return nil
        }
        return nino.normalized
    }

    /// Exactly `count` ASCII digits.
    mutating func digits(_ field: String, _ text: String?, count: Int) {
        guard let text else { return }
        if text.utf8.count != count || !text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            fail(field, "\(field) must be \(count) digits.")
        }
    }

    /// 1...max ASCII characters, each allowed by `allowed`.
    mutating func charset(_ field: String, _ text: String?, max: Int, rule: String, _ allowed: (UInt8) -> Bool) {
        guard let text else { return }
        let utf8 = text.utf8
        if utf8.isEmpty || utf8.count > max || !utf8.allSatisfy(allowed) { fail(field, "\(field) must be \(rule).") }
    }
}

/// Minimal JSON text building for bulk statements (json_to_recordset) and stored bodies.
enum JSONText {
    /// `value` as a JSON string literal.
    static func string(_ value: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count + 2)
        JSONValue.writeString(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func encode<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try canonicalEncoder.encode(value), as: UTF8.self)
    }

    static let canonicalEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(RFC3339DateTime.format(date))
        }
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            if let date = try? RFC3339DateTime.parse(text, strict: true) { return date }
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected an ISO 8601 date-time")
        }
        return decoder
    }()
}
