// Layouts: how a delimited or fixed-width file is laid out. Pure values; the readers interpret them.

/// The text encoding a feed declares. Every reader hands out UTF-8.
public enum TextEncoding: String, Sendable, CaseIterable {
    case utf8 = "utf-8"
    case windows1252 = "windows-1252"
    case iso8859_1 = "iso-8859-1"
}

/// 1-based inclusive character columns, as legacy layouts are written ("1-7", "42").
public struct ColumnRange: Sendable, Hashable, CustomStringConvertible {
    public let first: Int
    public let last: Int

    public init(first: Int, last: Int) {
        precondition(first >= 1 && last >= first, "ColumnRange needs 1 <= first <= last")
        self.first = first
        self.last = last
    }

    /// "1-7" or "42" (spaces around the numbers are allowed). Nil when malformed, zero or reversed.
    public init?(parsing text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        func number(_ s: Substring) -> Int? {
            let t = s.trimmingSpaces()
            guard !t.isEmpty, t.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), t.utf8.count <= 9 else { return nil }
            return Int(t)
        }
        switch parts.count {
        case 1:
            guard let n = number(parts[0]), n >= 1 else { return nil }
            self.first = n
            self.last = n
        case 2:
            guard let a = number(parts[0]), let b = number(parts[1]), a >= 1, b >= a else { return nil }
            self.first = a
            self.last = b
        default:
            return nil
        }
    }

    /// Number of characters covered.
    public var width: Int { last - first + 1 }

    public var description: String { first == last ? "\(first)" : "\(first)-\(last)" }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }
}

/// Lines before the header (or before the first data line when there is no header).
public enum Preamble: Sendable, Hashable {
    case none
    /// Skip exactly this many physical lines.
    case lines(Int)
    /// Skip leading lines that contain the text (TPS "RESTRICTED").
    case matching(String)
}

/// What to do with empty (or, when trimming, whitespace-only) lines.
public enum BlankLines: Sendable, Hashable {
    case skip
    /// Yield an issue with code `blank-row`.
    case report
}

/// A delimited trailer: the last line starting with `prefix` carries the data record count (and optionally the
/// sum of one data field). Field indexes are 0-based positions in the trailer line / in data records.
public struct DelimitedTrailer: Sendable, Hashable {
    public var prefix: String
    /// Field of the trailer line holding the number of data records.
    public var countField: Int
    /// Field of the trailer line holding a control sum, if any.
    public var sumField: Int?
    /// Data field whose values are summed and compared with `sumField`.
    public var sumOfField: Int?

    public init(prefix: String, countField: Int, sumField: Int? = nil, sumOfField: Int? = nil) {
        self.prefix = prefix
        self.countField = countField
        self.sumField = sumField
        self.sumOfField = sumOfField
    }
}

public struct DelimitedLayout: Sendable {
    public var encoding: TextEncoding = .utf8
    public var delimiter: UInt8 = UInt8(ascii: ",")
    /// Nil: quotes are ordinary characters.
    public var quote: UInt8? = UInt8(ascii: "\"")
    public var hasHeader = true
    public var preamble: Preamble = .none
    /// An unquoted field equal to this text (after trimming) is null (`FlatRecord.isNull`).
    public var nullLiteral: String? = nil
    /// Trim spaces and tabs around fields (outside quotes).
    public var trim = true
    public var blankLines: BlankLines = .skip
    public var trailer: DelimitedTrailer? = nil
    /// A record longer than this (in file bytes) is reported as `record-too-long` and skipped.
    public var maxRecordBytes = 1 << 20

    public init() {}
}

public struct FixedWidthField: Sendable, Hashable {
    public var name: String
    public var columns: ColumnRange
    public init(name: String, columns: ColumnRange) {
        self.name = name
        self.columns = columns
    }
}

/// A data line whose `flag` columns hold `flagValue` is followed by a line of type `typeCode` whose `matchFields`
/// equal the first line's; the two form one record.
public struct Continuation: Sendable, Hashable {
    public var flag: ColumnRange
    public var flagValue: String
    public var typeCode: String
    /// Field names present in both record types that must be equal (e.g. the TRN).
    public var matchFields: [String]
    public init(flag: ColumnRange, flagValue: String, typeCode: String, matchFields: [String]) {
        self.flag = flag
        self.flagValue = flagValue
        self.typeCode = typeCode
        self.matchFields = matchFields
    }
}

public struct FixedWidthRecordType: Sendable {
    public enum Role: Sendable, Hashable { case data, header, trailer, continuation }
    /// Discriminator value, exact (may contain spaces, e.g. " 321ZE2*"). Ignored when the layout has no discriminator.
    public var code: String
    public var role: Role
    public var fields: [FixedWidthField]
    public var continuation: Continuation?
    public init(code: String, role: Role = .data, fields: [FixedWidthField], continuation: Continuation? = nil) {
        self.code = code
        self.role = role
        self.fields = fields
        self.continuation = continuation
    }
}

/// Control totals of a fixed-width file: fields of the trailer record type; `sumOfField` is a data field.
public struct ControlTotals: Sendable, Hashable {
    public var countField: String
    public var sumField: String?
    public var sumOfField: String?
    public init(countField: String, sumField: String? = nil, sumOfField: String? = nil) {
        self.countField = countField
        self.sumField = sumField
        self.sumOfField = sumOfField
    }
}

public struct FixedWidthLayout: Sendable {
    public var encoding: TextEncoding = .utf8
    /// Expected characters per line (without the line end). Nil: not checked.
    public var lineLength: Int? = nil
    /// False = ragged right: short lines are padded with spaces; longer lines are still errors.
    public var strictLength = true
    /// Nil: a single data record type.
    public var discriminator: ColumnRange? = nil
    public var recordTypes: [FixedWidthRecordType] = []
    public var trim = true
    public var blankLines: BlankLines = .skip
    public var controlTotals: ControlTotals? = nil
    public var maxRecordBytes = 1 << 20
    public init() {}
}
