// Streaming delimited (CSV-like) reader.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

public struct DelimitedReader<Source: ByteSource>: RecordReader {
    @usableFromInline var core: DelimitedCore

    public init(source: Source, layout: DelimitedLayout) throws(FileRefusal) {
        core = try DelimitedCore(source: source, layout: layout)
    }

    public var header: [String]? { core.header }
    public var fieldNames: [String]? { core.header }
    /// Physical line of the header, when there is one.
    public var headerLine: Int? { core.headerLine }
    /// Data records so far: records yielded plus data rows yielded as issues (not the header or trailer).
    public var dataRecordCount: Int { core.dataRecordCount }
    /// The trailer line, once the end of input has been reached (when a trailer is configured).
    public var trailerRecord: FlatRecord? { core.trailerRecord }
    public var layout: DelimitedLayout { core.layout }

    @inlinable
    public mutating func next() throws(FileRefusal) -> ReadItem? {
        try core.next()
    }

    public mutating func read(into batch: inout RecordBatch, maxItems: Int, maxBytes: Int) throws(FileRefusal) -> Bool {
        // A trailer is recognised one record late: that needs the record by record path.
        guard core.layout.trailer == nil else { return try readRecords(into: &batch, maxItems: maxItems, maxBytes: maxBytes) }
        return try core.read(into: &batch, maxItems: maxItems, maxBytes: maxBytes)
    }
}

/// The non-generic reader (the source is an existential called once per chunk).
@usableFromInline
struct DelimitedCore {
    var header: [String]?
    var headerLine: Int?
    var dataRecordCount = 0
    var trailerRecord: FlatRecord?
    let layout: DelimitedLayout

    var input: InputWindow
    /// Physical line number of `input.start`.
    var line = 1
    var bytes: [UInt8] = []
    var spans: [Int32] = []
    var transcoded: [UInt8] = []
    let scratch = Int32Scratch(capacity: 256)
    let maxRecordBytes: Int
    let delimiter: UInt8
    let quote: UInt8
    let hasQuote: Bool
    let trim: Bool
    /// The characters trimming removes: space and tab, except the one that is the delimiter.
    let space1: UInt8
    let space2: UInt8
    let nullBytes: [UInt8]?
    let prefixBytes: [UInt8]?
    var skipRestOfLine = false
    var finished = false
    var pendingTrailer: FlatRecord?
    var queued: ReadItem?
    var sum = ControlSum()
    /// Whether the last item from readRaw counts as a data record.
    var rawIsData = true

    init(source: any ByteSource, layout: DelimitedLayout) throws(FileRefusal) {
        self.layout = layout
        let limit = min(max(layout.maxRecordBytes, 16), recordLimitCeiling)
        self.maxRecordBytes = limit
        self.delimiter = layout.delimiter
        self.quote = layout.quote ?? 0
        self.hasQuote = layout.quote != nil
        self.trim = layout.trim
        self.space1 = layout.delimiter == 32 ? 9 : 32
        self.space2 = layout.delimiter == 9 ? 32 : 9
        if layout.delimiter == 10 || layout.delimiter == 13 || (layout.quote != nil && layout.quote == layout.delimiter)
            || layout.quote == 10 || layout.quote == 13
        {
            throw FileRefusal(code: .layoutError, message: "the delimiter and quote must differ and must not be line ends")
        }
        self.nullBytes = layout.nullLiteral.map { encodeLiteral($0, layout.encoding) }
        self.prefixBytes = layout.trailer.map { Array($0.prefix.utf8) }
        if let t = layout.trailer, t.prefix.isEmpty || t.countField < 0 || (t.sumField ?? 0) < 0 || (t.sumOfField ?? 0) < 0 {
            throw FileRefusal(code: .layoutError, message: "the trailer needs a non-empty prefix and field indexes from 0")
        }
        self.input = InputWindow(source: source, maxRecordBytes: limit)
        bytes.reserveCapacity(4096)
        spans.reserveCapacity(64)

        try input.begin()

        try skipPreamble()
        if layout.hasHeader {
            while true {
                guard let item = try readRaw().map({ self.item($0) }) else {
                    throw FileRefusal(code: .missingHeader, line: line, message: "the file has no header line")
                }
                switch item {
                case .record(let r):
                    header = r.strings
                    headerLine = r.line
                case .issue(let issue):
                    if issue.code == .blankRow { continue }
                    throw FileRefusal(code: issue.code, line: issue.line, message: "the header line: " + issue.message)
                }
                break
            }
        }
    }
}
