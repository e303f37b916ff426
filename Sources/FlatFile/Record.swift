// Records, issues and refusals: what the readers hand out.

/// One record, a value that stays valid after the reader moves on.
///
/// Storage is two arrays (the record's UTF-8 bytes and its field spans). The reader keeps its own reference and
/// reuses the buffers once the caller has dropped the record (copy-on-write makes them uniquely referenced again),
/// so reading allocates nothing per record in the steady state. Keeping records is fine: the reader then
/// allocates fresh buffers.
public struct FlatRecord: Sendable {
    /// 1-based physical line where the record starts (a header is line 1; preamble lines count).
    public var line: Int
    /// Physical lines spanned (newlines inside quotes, continuation lines).
    public var lineCount: Int
    /// Offset of the record's first byte in the file.
    public var byteOffset: Int
    /// Fixed width: the data record type's code.
    public var typeCode: String?
    /// Number of fields.
    public var count: Int

    /// The record's physical text (UTF-8) in `[0, _textLength)`, then any unescaped field copies.
    @usableFromInline var _bytes: [UInt8]
    /// Two entries per field: start and end offsets into `_bytes`. A negative start marks a null field (`~start`).
    @usableFromInline var _spans: [Int32]
    @usableFromInline var _textLength: Int

    @inlinable
    init(
        line: Int, lineCount: Int, byteOffset: Int, typeCode: String?, count: Int,
        bytes: [UInt8], spans: [Int32], textLength: Int
    ) {
        self.line = line
        self.lineCount = lineCount
        self.byteOffset = byteOffset
        self.typeCode = typeCode
        self.count = count
        self._bytes = bytes
        self._spans = spans
        self._textLength = textLength
    }

    @inlinable
    func _span(_ field: Int) -> (start: Int, end: Int)? {
        guard field >= 0, field < count, 2 &* field &+ 1 < _spans.count else { return nil }
        let s = Int(_spans[2 &* field])
        return (s < 0 ? ~s : s, Int(_spans[2 &* field &+ 1]))
    }

    /// The field's bytes as UTF-8: quotes removed, doubled quotes undone, trimmed when the layout says.
    /// An index outside `0..<count` gives an empty buffer.
    @inlinable
    public func withBytes<R>(_ field: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        guard let (s, e) = _span(field) else {
            return try body(UnsafeBufferPointer(start: nil, count: 0))
        }
        return try _bytes.withUnsafeBufferPointer { all in
            try body(UnsafeBufferPointer(rebasing: all[s..<e]))
        }
    }

    /// True for an unquoted field equal to the layout's null literal.
    @inlinable
    public func isNull(_ field: Int) -> Bool {
        guard field >= 0, field < count, 2 &* field < _spans.count else { return false }
        return _spans[2 &* field] < 0
    }

    /// Byte length of the field (0 for an index outside `0..<count`).
    @inlinable
    public func byteCount(_ field: Int) -> Int {
        guard let (s, e) = _span(field) else { return 0 }
        return e &- s
    }

    /// True when the field is empty (after trimming) or outside `0..<count`.
    @inlinable
    public func isEmpty(_ field: Int) -> Bool { byteCount(field) == 0 }

    /// The field as a String (empty for an index outside `0..<count`).
    @inlinable
    public func string(_ field: Int) -> String {
        withBytes(field) { String(decoding: $0, as: UTF8.self) }
    }

    /// All fields as Strings (convenience; allocates).
    public var strings: [String] { (0..<count).map { string($0) } }

    /// The record's physical text as UTF-8 (line ends inside the record kept; for rejected-row exports and
    /// error context only: it may hold personal data).
    public var text: String {
        _bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[0..<_textLength]), as: UTF8.self) }
    }
}

public struct IssueCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static let encodingError = IssueCode(rawValue: "encoding-error")
    public static let blankRow = IssueCode(rawValue: "blank-row")
    public static let lineLengthError = IssueCode(rawValue: "line-length-error")
    public static let unknownRecordType = IssueCode(rawValue: "unknown-record-type")
    public static let missingContinuation = IssueCode(rawValue: "missing-continuation")
    public static let orphanContinuation = IssueCode(rawValue: "orphan-continuation")
    public static let recordTooLong = IssueCode(rawValue: "record-too-long")
    public static let unclosedQuote = IssueCode(rawValue: "unclosed-quote")
    public static let controlTotalMismatch = IssueCode(rawValue: "control-total-mismatch")
    public static let missingHeader = IssueCode(rawValue: "missing-header")
    public static let missingTrailer = IssueCode(rawValue: "missing-trailer")
    public static let binaryFile = IssueCode(rawValue: "binary-file")
    public static let ioError = IssueCode(rawValue: "io-error")
    /// A layout that cannot be read (e.g. a continuation naming an unknown record type).
    public static let layoutError = IssueCode(rawValue: "layout-error")
    /// A header record appearing after data (fixed width).
    public static let misplacedRecord = IssueCode(rawValue: "misplaced-record")
}

/// A problem with one row; the row is not yielded as a record.
public struct RowIssue: Error, Sendable, CustomStringConvertible {
    /// 1-based physical line (of the offending byte for encoding errors, else of the row's first line).
    public var line: Int
    /// File offset (of the offending byte for encoding errors, else of the row's first byte).
    public var byteOffset: Int
    /// 0-based field index, when known.
    public var field: Int?
    /// 1-based character column within the physical line, when known.
    public var column: Int?
    public var code: IssueCode
    /// Plain English, never a field's value (it may be personal data).
    public var message: String
    /// The raw row as UTF-8 (lossy), for the analyst's report only: may hold personal data.
    public var text: String?

    public init(
        line: Int, byteOffset: Int, field: Int? = nil, column: Int? = nil, code: IssueCode,
        message: String, text: String? = nil
    ) {
        self.line = line
        self.byteOffset = byteOffset
        self.field = field
        self.column = column
        self.code = code
        self.message = message
        self.text = text
    }

    /// Safe to log: no row text.
    public var description: String {
        var s = "line \(line)"
        if let field { s += ", field \(field)" }
        if let column { s += ", column \(column)" }
        return s + ": \(code): \(message)"
    }
}

/// The file as a whole is refused.
public struct FileRefusal: Error, Sendable, CustomStringConvertible {
    public var code: IssueCode
    public var line: Int?
    public var message: String
    public init(code: IssueCode, line: Int? = nil, message: String) {
        self.code = code
        self.line = line
        self.message = message
    }
    public var description: String {
        if let line { return "\(code) at line \(line): \(message)" }
        return "\(code): \(message)"
    }
}

public enum ReadItem: Sendable {
    case record(FlatRecord)
    case issue(RowIssue)
}

public protocol RecordReader: SendableMetatype {
    /// Delimited with a header: the header's names as written (duplicates kept; the mapping disambiguates by
    /// position). Otherwise nil.
    var header: [String]? { get }
    /// Names of the data record's fields, when known (the header, or a fixed-width layout's single data type).
    var fieldNames: [String]? { get }
    /// The next record or row issue; nil at the end. Control-total checks at the end throw from the call that
    /// would have returned nil.
    mutating func next() throws(FileRefusal) -> ReadItem?
    /// Appends records and issues to `batch` until it holds `maxItems` entries or `maxBytes` bytes, or the input
    /// ends. Returns false when nothing more was read (the end). A refusal leaves `batch` partly filled.
    mutating func read(into batch: inout RecordBatch, maxItems: Int, maxBytes: Int) throws(FileRefusal) -> Bool
}
