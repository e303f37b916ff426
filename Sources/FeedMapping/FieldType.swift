public import DQTModel
import Foundation

/// How a mapping field turns a legacy value into a typed one. Each case is one `type:` in a mapping file.
public enum FieldType: Sendable {
    /// `type: trn`, with `genderDigit: true` for pensions files and `padZeros: true` for extracts that trim zeros.
    case trn(allowGenderDigit: Bool, padLeadingZeros: Bool)
    /// `type: nino`.
    case nationalInsuranceNumber
    /// `type: date, format: dd/MM/yyyy` (any ``DatePattern``), with optional bounds.
    case date(DatePattern, DateBounds)
    /// `type: timestamp, format: dd/MM/yyyy HH:mm:ss`: an instant, sent as `yyyy-MM-ddTHH:mm:ssZ`.
    case timestamp(DatePattern)
    /// `type: text`, with optional length, character-set and allowed-value constraints.
    case text(TextConstraints)
    /// `type: enum, lookup: NAME`: the value must be a key of the mapping's lookup table.
    case lookup(LookupTable)
    /// `type: boolean`, words for true and false (default Yes/No, true/false, Y/N, 1/0, any case).
    case boolean(BooleanWords)
    /// `type: integer`, optional `min` and `max`.
    case integer(minimum: Int?, maximum: Int?)
    /// `type: decimal`, with `impliedDecimals: N` for fixed-width amounts written without a point.
    case decimal(impliedDecimals: Int)

    public var kind: FieldKind {
        switch self {
        case .trn: .trn
        case .nationalInsuranceNumber: .nationalInsuranceNumber
        case .date: .date
        case .timestamp: .timestamp
        case .text: .text
        case .lookup: .code
        case .boolean: .boolean
        case .integer: .integer
        case .decimal: .decimal
        }
    }
}

public struct DateBounds: Sendable, Hashable {
    /// Strictly before the day of the check (a date of birth).
    public var past = false
    /// On or before the day of the check.
    public var notFuture = false
    public var minimum: LocalDate?
    public var maximum: LocalDate?
    public init() {}
}

public struct TextConstraints: Sendable, Hashable {
    public enum Charset: String, Sendable, Hashable { case digits, letters, alphanumeric }
    public var minimumLength: Int?
    public var maximumLength: Int?
    public var charset: Charset?
    /// When set, the only values allowed (exact, after trimming).
    public var allowed: Set<String>?
    /// `multiline: true`: free text that may hold tab, line feed and carriage return. Any other control character,
    /// and every bidirectional override or isolate, refuses the value (``PlausibleText``) whatever this says.
    public var multiline = false
    /// `pattern: REGEX`: the whole value must match (e.g. a partner's reference, `DBS[0-9]{10}`).
    public var pattern: TextPattern?
    public init() {}
}

/// A regular expression a whole text value must match, compiled once per use.
///
/// `NSRegularExpression` is immutable and documented thread safe; each check's tables still compile their own.
public struct TextPattern: @unchecked Sendable, Hashable {
    public let source: String
    let regex: NSRegularExpression

    public init?(_ source: String) {
        guard let regex = try? NSRegularExpression(pattern: "^(?:\(source))$") else { return nil }
        self.source = source
        self.regex = regex
    }

    /// Whether the whole of `text` matches.
    func matches(_ text: String) -> Bool {
        regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    public static func == (lhs: TextPattern, rhs: TextPattern) -> Bool { lhs.source == rhs.source }
    public func hash(into hasher: inout Hasher) { hasher.combine(source) }
}

/// A table of legacy codes and what they mean to the API, e.g. `Pass` -> `Passed`. An empty meaning is a known
/// code that carries no value.
public struct LookupTable: Sendable, Hashable {
    public let name: String
    public let caseInsensitive: Bool
    let entries: [String: String]

    public init(name: String, entries: [String: String], caseInsensitive: Bool) {
        self.name = name
        self.caseInsensitive = caseInsensitive
        self.entries =
            caseInsensitive
            ? Dictionary(entries.map { ($0.key.uppercased(), $0.value) }, uniquingKeysWith: { first, _ in first })
            : entries
    }

    public func resolve(_ code: String) -> String? { entries[caseInsensitive ? code.uppercased() : code] }
    /// The meanings the table can give (the empty "no value" aside).
    public var outputs: Set<String> { Set(entries.values.filter { !$0.isEmpty }) }
}

public struct BooleanWords: Sendable, Hashable {
    public let trueWords: Set<String>
    public let falseWords: Set<String>
    public static let standard = BooleanWords(trueWords: ["YES", "TRUE", "Y", "1"], falseWords: ["NO", "FALSE", "N", "0"])
    public init(trueWords: Set<String>, falseWords: Set<String>) {
        self.trueWords = Set(trueWords.map { $0.uppercased() })
        self.falseWords = Set(falseWords.map { $0.uppercased() })
    }
}

/// The outcome of converting one field.
@usableFromInline
enum Conversion: Sendable {
    case value(FieldValue, genderDigit: UInt8?)
    case failure(code: String, message: String)
    /// A lookup miss: a constraint error that the report also counts by code.
    case unmapped(code: String)
}

extension FieldType {
    /// Converts a present (non-empty, non-null) value. Messages describe the problem, never the value.
    /// (A check compiles each field once, ``FieldTables/compile(_:)``; this is the one-off form.)
    @usableFromInline
    func convert(_ bytes: UnsafeBufferPointer<UInt8>, context: CheckContext) -> Conversion {
        var tables = FieldTables()
        return tables.compile(self).convert(bytes, context: context, tables: tables)
    }
}

/// A field type compiled for the per-row loop: plain values only. What needs storage (date layouts, allowed
/// values, lookup tables, boolean words) sits once in ``FieldTables``, so converting a field copies nothing that
/// is reference counted.
struct FieldCheck: Sendable {
    enum Kind: Sendable {
        case trn(allowGenderDigit: Bool, padLeadingZeros: Bool)
        case nationalInsuranceNumber
        case date(DateBounds)
        case timestamp
        case text(minimumLength: Int?, maximumLength: Int?, charset: TextConstraints.Charset?, multiline: Bool, pattern: Int)
        case lookup
        case boolean
        case integer(minimum: Int?, maximum: Int?)
        case decimal(impliedDecimals: Int)
    }

    let kind: Kind
    /// The field's entry in its ``FieldTables`` table (date layout, allowed values, lookup table or words), or -1.
    let table: Int

    func convert(_ bytes: UnsafeBufferPointer<UInt8>, context: CheckContext, tables: borrowing FieldTables) -> Conversion {
        switch kind {
        case .trn(let allowGenderDigit, let padLeadingZeros):
            switch TRN.parse(bytes, allowGenderDigit: allowGenderDigit, padLeadingZeros: padLeadingZeros) {
            case .success(let parsed): return .value(.trn(parsed.trn), genderDigit: parsed.genderDigit)
            case .failure(.notDigits): return .failure(code: "type-error", message: "a TRN has digits only")
            case .failure(.badGenderDigit): return .failure(code: "type-error", message: "the TRN's eighth digit must be a gender code, 1 or 2")
            case .failure(.wrongLength(let count)):
                return .failure(code: "type-error", message: "a TRN has 7 digits, this has \(count)")
            }
        case .nationalInsuranceNumber:
            guard let nino = NationalInsuranceNumber.parse(bytes) else {
                return .failure(code: "type-error", message: "not a valid National Insurance number")
            }
            return .value(.nationalInsuranceNumber(nino), genderDigit: nil)
        case .date(let bounds):
            guard let date = tables.patterns.withUnsafeBufferPointer({ $0[table].parse(bytes, pivot: context.pivot) }) else {
                return .failure(code: "type-error", message: "not a real date in the layout \(tables.patterns[table])")
            }
            if bounds.past, date >= context.today {
                return .failure(code: "constraint-error", message: "must be in the past")
            }
            if bounds.notFuture, date > context.today {
                return .failure(code: "constraint-error", message: "must not be in the future")
            }
            if let minimum = bounds.minimum, date < minimum {
                return .failure(code: "constraint-error", message: "must be on or after \(minimum)")
            }
            if let maximum = bounds.maximum, date > maximum {
                return .failure(code: "constraint-error", message: "must be on or before \(maximum)")
            }
            if date < .earliestPlausible || date > .latestPlausible {
                return .failure(code: "date-range-error", message: "must be between \(LocalDate.earliestPlausible) and \(LocalDate.latestPlausible)")
            }
            return .value(.date(date), genderDigit: nil)
        case .timestamp:
            guard let instant = tables.patterns.withUnsafeBufferPointer({ $0[table].parseInstant(bytes) }) else {
                return .failure(code: "type-error", message: "not a real date and time in the layout \(tables.patterns[table])")
            }
            return .value(.timestamp(instant), genderDigit: nil)
        case .text(let minimumLength, let maximumLength, let charset, let multiline, let pattern):
            if let charset {
                let ok: Bool
                switch charset {
                case .digits: ok = bytes.allSatisfy(ASCII.isDigit)
                case .letters: ok = bytes.allSatisfy { ASCII.isUpper($0) || ASCII.isLower($0) || $0 >= 0x80 }
                case .alphanumeric: ok = bytes.allSatisfy { ASCII.isDigit($0) || ASCII.isUpper($0) || ASCII.isLower($0) || $0 >= 0x80 }
                }
                if !ok { return .failure(code: "constraint-error", message: "must contain \(charset.rawValue) only") }
            }
            let ascii = PlausibleText.judgeASCII(bytes, allowLineBreaks: multiline)
            let decoded = String(decoding: bytes, as: UTF8.self)
            if let violation = ascii.isASCII ? ascii.violation : PlausibleText.scalarViolation(in: decoded, allowLineBreaks: multiline) {
                return .failure(code: "character-error", message: violation.rule)
            }
            // ASCII text (nearly all of it) is NFC already and has one code point per byte.
            let text = ascii.isASCII ? decoded : PlausibleText.normalized(decoded)
            if minimumLength != nil || maximumLength != nil {
                // Code points, as the API's contract counts them.
                let length = ascii.isASCII ? bytes.count : PlausibleText.length(text)
                if let minimumLength, let maximumLength, minimumLength == maximumLength, length != minimumLength {
                    return .failure(code: "constraint-error", message: "must be exactly \(minimumLength) characters long")
                }
                if let minimumLength, length < minimumLength {
                    return .failure(code: "constraint-error", message: "must be at least \(minimumLength) characters long")
                }
                if let maximumLength, length > maximumLength {
                    return .failure(code: "constraint-error", message: "must be at most \(maximumLength) characters long")
                }
            }
            if pattern >= 0, !tables.textPatterns[pattern].matches(text) {
                return .failure(code: "constraint-error", message: "must match the pattern \(tables.textPatterns[pattern].source)")
            }
            if table >= 0, !tables.allowed[table].contains(text) {
                return .failure(code: "constraint-error", message: "must be one of \(tables.allowed[table].sorted().joined(separator: ", "))")
            }
            return .value(.text(text), genderDigit: nil)
        case .lookup:
            if let output = tables.codes.withUnsafeBufferPointer({ $0[table].resolve(bytes) }) {
                return .value(output.isEmpty ? .absent : .code(output), genderDigit: nil)
            }
            let code = String(decoding: bytes, as: UTF8.self)
            guard let output = tables.lookups.withUnsafeBufferPointer({ $0[table].resolve(code) }) else { return .unmapped(code: code) }
            return .value(output.isEmpty ? .absent : .code(output), genderDigit: nil)
        case .boolean:
            let word = String(decoding: bytes, as: UTF8.self).uppercased()
            if tables.words[table].trueWords.contains(word) { return .value(.boolean(true), genderDigit: nil) }
            if tables.words[table].falseWords.contains(word) { return .value(.boolean(false), genderDigit: nil) }
            return .failure(code: "type-error", message: "not a recognised yes/no value")
        case .integer(let minimum, let maximum):
            guard let value = FieldType.parseInteger(bytes) else {
                return .failure(code: "type-error", message: "not a whole number")
            }
            if let minimum, value < minimum { return .failure(code: "constraint-error", message: "must be at least \(minimum)") }
            if let maximum, value > maximum { return .failure(code: "constraint-error", message: "must be at most \(maximum)") }
            return .value(.integer(value), genderDigit: nil)
        case .decimal(let impliedDecimals):
            guard let text = FieldType.parseDecimal(bytes, impliedDecimals: impliedDecimals) else {
                return .failure(code: "type-error", message: "not a decimal number")
            }
            return .value(.decimal(text), genderDigit: nil)
        }
    }
}

/// The storage that a plan's ``FieldCheck``s refer to. Each thread of a check compiles its own, fresh rather than
/// shared with the mapping, so converting a field never touches a reference count that another thread touches.
struct FieldTables: Sendable {
    var patterns: [DatePattern] = []
    var allowed: [Set<String>] = []
    var lookups: [LookupTable] = []
    /// `lookups` again as bytes, at the same indexes.
    var codes: [CodeTable] = []
    var words: [BooleanWords] = []
    var textPatterns: [TextPattern] = []

    mutating func compile(_ type: FieldType) -> FieldCheck {
        func fresh(_ text: String) -> String { String(decoding: Array(text.utf8), as: UTF8.self) }
        func fresh(_ texts: Set<String>) -> Set<String> { Set(texts.map { fresh($0) }) }
        func add<T>(_ value: T, to table: inout [T]) -> Int {
            table.append(value)
            return table.count - 1
        }
        switch type {
        case .trn(let allowGenderDigit, let padLeadingZeros):
            return FieldCheck(kind: .trn(allowGenderDigit: allowGenderDigit, padLeadingZeros: padLeadingZeros), table: -1)
        case .nationalInsuranceNumber:
            return FieldCheck(kind: .nationalInsuranceNumber, table: -1)
        case .date(let pattern, let bounds):
            return FieldCheck(kind: .date(bounds), table: add(DatePattern(validating: pattern.description)!, to: &patterns))
        case .timestamp(let pattern):
            return FieldCheck(kind: .timestamp, table: add(DatePattern(validating: pattern.description)!, to: &patterns))
        case .text(let constraints):
            return FieldCheck(
                kind: .text(
                    minimumLength: constraints.minimumLength, maximumLength: constraints.maximumLength, charset: constraints.charset,
                    multiline: constraints.multiline,
                    pattern: constraints.pattern.flatMap { TextPattern($0.source) }.map { add($0, to: &textPatterns) } ?? -1),
                table: constraints.allowed.map { add(fresh($0), to: &allowed) } ?? -1
            )
        case .lookup(let table):
            let entries = Dictionary(uniqueKeysWithValues: table.entries.map { (fresh($0.key), fresh($0.value)) })
            codes.append(CodeTable(entries: entries, caseInsensitive: table.caseInsensitive))
            return FieldCheck(
                kind: .lookup, table: add(LookupTable(name: table.name, entries: entries, caseInsensitive: table.caseInsensitive), to: &lookups))
        case .boolean(let booleanWords):
            return FieldCheck(
                kind: .boolean,
                table: add(BooleanWords(trueWords: fresh(booleanWords.trueWords), falseWords: fresh(booleanWords.falseWords)), to: &words))
        case .integer(let minimum, let maximum):
            return FieldCheck(kind: .integer(minimum: minimum, maximum: maximum), table: -1)
        case .decimal(let impliedDecimals):
            return FieldCheck(kind: .decimal(impliedDecimals: impliedDecimals), table: -1)
        }
    }
}

/// A small lookup table of ASCII codes searched by comparing bytes, so that a code in the table costs no String and
/// no hashing. Answers nil (ask the ``LookupTable``) for anything it cannot decide exactly as the table would:
/// a code that is not ASCII, or a table that is large or has a key that is not ASCII.
struct CodeTable: Sendable {
    static let maximumEntries = 32
    /// The keys' bytes (upper case when the table ignores case), one after the other, ending at `ends`.
    private var keys: [UInt8] = []
    private var ends: [Int] = []
    private var outputs: [String] = []
    private let caseInsensitive: Bool

    /// `entries` as the ``LookupTable`` holds them (keys already upper case when it ignores case).
    init(entries: [String: String], caseInsensitive: Bool) {
        self.caseInsensitive = caseInsensitive
        guard entries.count <= Self.maximumEntries, entries.keys.allSatisfy({ $0.utf8.allSatisfy { $0 < 0x80 } }) else { return }
        for (key, output) in entries {
            keys.append(contentsOf: key.utf8)
            ends.append(keys.count)
            outputs.append(output)
        }
    }

    /// The code's meaning; nil when it is not in the table or only the ``LookupTable`` can tell.
    func resolve(_ code: UnsafeBufferPointer<UInt8>) -> String? {
        guard !ends.isEmpty else { return nil }
        return keys.withUnsafeBufferPointer { keys in
            var start = 0
            for (entry, end) in ends.enumerated() {
                defer { start = end }
                guard end - start == code.count else { continue }
                var index = 0
                while index < code.count {
                    var byte = code[index]
                    if byte >= 0x80 { return nil }
                    if caseInsensitive { byte = ASCII.upper(byte) }
                    if byte != keys[start + index] { break }
                    index += 1
                }
                if index == code.count { return outputs[entry] }
            }
            return nil
        }
    }
}

extension FieldType {
    static func parseInteger(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var index = 0
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            index = 1
        }
        guard index < bytes.count, bytes.count - index <= 18 else { return nil }
        var value = 0
        while index < bytes.count {
            guard ASCII.isDigit(bytes[index]) else { return nil }
            value = value * 10 + Int(bytes[index] &- 48)
            index += 1
        }
        return negative ? -value : value
    }

    /// Normalises `-12.5`, `0012.50` or, with implied decimals, `001250` into exact decimal text.
    static func parseDecimal(_ bytes: UnsafeBufferPointer<UInt8>, impliedDecimals: Int) -> String? {
        var text = String(decoding: bytes, as: UTF8.self)
        var sign = ""
        if text.hasPrefix("-") || text.hasPrefix("+") {
            sign = text.hasPrefix("-") ? "-" : ""
            text.removeFirst()
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard !text.isEmpty, parts.count <= 2, parts.allSatisfy({ $0.utf8.allSatisfy(ASCII.isDigit) }) else { return nil }
        var whole = String(parts[0])
        var fraction = parts.count == 2 ? String(parts[1]) : ""
        if parts.count == 1, impliedDecimals > 0 {
            let padded = String(repeating: "0", count: max(0, impliedDecimals + 1 - whole.count)) + whole
            whole = String(padded.dropLast(impliedDecimals))
            fraction = String(padded.suffix(impliedDecimals))
        }
        guard !(whole.isEmpty && fraction.isEmpty) else { return nil }
        whole = String(whole.drop(while: { $0 == "0" }))
        if whole.isEmpty { whole = "0" }
        return sign + whole + (fraction.isEmpty ? "" : "." + fraction)
    }
}

extension DatePattern {
    /// `yyyy-MM-ddTHH:mm:ssZ` for a layout with a time part (missing parts are zero).
    func parseInstant(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard let parts = parseWithTime(bytes, pivot: nil) else { return nil }
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.date)T\(two(parts.hour)):\(two(parts.minute)):\(two(parts.second))Z"
    }
}

/// The day a check is made, and the two-digit-year pivot that follows from it.
public struct CheckContext: Sendable {
    public let today: LocalDate
    public let pivot: TwoDigitYearPivot
    /// False: field profiles count rows, filled and invalid values but not the most common values, which only a
    /// report shows (counting them is a hash and a table probe per field and row).
    public let countsValues: Bool
    public init(today: LocalDate, countsValues: Bool = true) {
        self.today = today
        self.pivot = TwoDigitYearPivot(today: today)
        self.countsValues = countsValues
    }
}
