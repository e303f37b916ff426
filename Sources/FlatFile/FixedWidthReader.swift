// Streaming fixed-width reader: character columns, record types, continuation lines, control totals.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

public struct FixedWidthReader<Source: ByteSource>: RecordReader {
    @usableFromInline var core: FixedWidthCore

    public init(source: Source, layout: FixedWidthLayout) throws(FileRefusal) {
        core = try FixedWidthCore(source: source, layout: layout)
    }

    /// Fixed-width files have no header names: always nil (see `fieldNames`).
    public var header: [String]? { nil }
    /// The data record's field names when the layout has a single data record type (followed by its continuation
    /// type's fields, when it has one); nil with several data types (see `fieldNames(forType:)`).
    public var fieldNames: [String]? { core.singleDataNames }
    /// Field names of records with this type code (a continued record: the first type's then the continuation's).
    public func fieldNames(forType code: String) -> [String]? { core.names(forType: code) }
    /// The header-role record, once read.
    public var headerRecord: FlatRecord? { core.headerRecord }
    /// The trailer-role record (the last one), once read.
    public var trailerRecord: FlatRecord? { core.trailerRecord }
    /// Data records so far: records yielded plus data lines yielded as issues.
    public var dataRecordCount: Int { core.dataCount }
    public var layout: FixedWidthLayout { core.layout }

    @inlinable
    public mutating func next() throws(FileRefusal) -> ReadItem? {
        try core.next()
    }
}

struct ResolvedContinuation {
    var flagFirst: Int  // 0-based character index
    var flagLast: Int  // exclusive
    var flagValue: [UInt8]
    var typeIndex: Int
    /// (field index in the first type, field index in the continuation type)
    var match: [(Int, Int)]
}

struct ResolvedType {
    var code: String
    var codeBytes: [UInt8]
    var role: FixedWidthRecordType.Role
    var fields: [FixedWidthField]
    var continuation: ResolvedContinuation?
    /// Index of the control-sum field among this type's fields (data types only).
    var sumIndex: Int?
}

@usableFromInline
struct FixedWidthCore {
    let layout: FixedWidthLayout
    var input: InputWindow
    var line = 1
    let maxRecordBytes: Int
    let types: [ResolvedType]
    let discriminator: (first: Int, last: Int)?
    let expectHeader: Bool
    let hasTrailerType: Bool
    let countIndex: Int?
    let sumIndex: Int?
    let trailerTypeIndex: Int?

    var current = LineState()
    var haveCurrent = false
    var pending = LineState()
    var pendingType: Int?
    var bytes: [UInt8] = []
    var spans: [Int32] = []
    var processedAny = false
    var finished = false
    var headerRecord: FlatRecord?
    var trailerRecord: FlatRecord?
    var dataCount = 0
    var sum = ControlSum()

    init(source: any ByteSource, layout: FixedWidthLayout) throws(FileRefusal) {
        self.layout = layout
        let limit = min(max(layout.maxRecordBytes, 16), recordLimitCeiling)
        self.maxRecordBytes = limit
        func refuse(_ m: String) -> FileRefusal { FileRefusal(code: .layoutError, message: m) }
        guard !layout.recordTypes.isEmpty else { throw refuse("the layout has no record types") }
        if layout.discriminator == nil && layout.recordTypes.count != 1 {
            throw refuse("several record types need a discriminator")
        }
        if layout.discriminator == nil && layout.recordTypes[0].role != .data {
            throw refuse("a layout without a discriminator has one data record type")
        }
        if let l = layout.lineLength, l < 0 { throw refuse("the line length is negative") }
        discriminator = layout.discriminator.map { ($0.first - 1, $0.last) }
        var resolved: [ResolvedType] = []
        for t in layout.recordTypes {
            if let d = layout.discriminator, t.code.unicodeScalars.count != d.width {
                throw refuse("record type code '\(t.code)' is not \(d.width) characters wide")
            }
            resolved.append(
                ResolvedType(
                    code: t.code, codeBytes: Array(t.code.utf8), role: t.role, fields: t.fields,
                    continuation: nil, sumIndex: nil))
        }
        for (i, t) in layout.recordTypes.enumerated() {
            if layout.recordTypes[..<i].contains(where: { $0.code == t.code }) {
                throw refuse("record type code '\(t.code)' appears twice")
            }
            guard let c = t.continuation else { continue }
            guard t.role == .data else { throw refuse("only data record types can have a continuation") }
            guard let ci = layout.recordTypes.firstIndex(where: { $0.code == c.typeCode }),
                layout.recordTypes[ci].role == .continuation
            else {
                throw refuse("continuation type '\(c.typeCode)' is not a record type with the continuation role")
            }
            var match: [(Int, Int)] = []
            for name in c.matchFields {
                guard let a = t.fields.firstIndex(where: { $0.name == name }),
                    let b = layout.recordTypes[ci].fields.firstIndex(where: { $0.name == name })
                else {
                    throw refuse("match field '\(name)' is not in both record types")
                }
                match.append((a, b))
            }
            resolved[i].continuation = ResolvedContinuation(
                flagFirst: c.flag.first - 1, flagLast: c.flag.last,
                flagValue: Array(c.flagValue.utf8), typeIndex: ci,
                match: match)
        }
        expectHeader = layout.recordTypes.contains { $0.role == .header }
        let trailerIndex = layout.recordTypes.firstIndex { $0.role == .trailer }
        trailerTypeIndex = trailerIndex
        hasTrailerType = trailerIndex != nil
        if let ct = layout.controlTotals {
            guard let ti = trailerIndex else { throw refuse("control totals need a trailer record type") }
            let tf = layout.recordTypes[ti].fields
            guard let ci = tf.firstIndex(where: { $0.name == ct.countField }) else {
                throw refuse("control count field '\(ct.countField)' is not a field of the trailer")
            }
            countIndex = ci
            if let sf = ct.sumField {
                guard let si = tf.firstIndex(where: { $0.name == sf }), let of = ct.sumOfField else {
                    throw refuse("control sum field '\(sf)' is not a field of the trailer, or no data field is summed")
                }
                sumIndex = si
                var any = false
                for i in resolved.indices where resolved[i].role == .data {
                    resolved[i].sumIndex = resolved[i].fields.firstIndex { $0.name == of }
                    if resolved[i].sumIndex != nil { any = true }
                }
                if !any { throw refuse("summed field '\(of)' is not a field of any data record type") }
            } else {
                sumIndex = nil
            }
        } else {
            countIndex = nil
            sumIndex = nil
        }
        types = resolved
        input = InputWindow(source: source, maxRecordBytes: limit)
        bytes.reserveCapacity(512)
        spans.reserveCapacity(64)
        try input.begin()
    }

    var singleDataNames: [String]? {
        let data = types.filter { $0.role == .data }
        guard data.count == 1 else { return nil }
        return names(forType: data[0].code)
    }

    func names(forType code: String) -> [String]? {
        guard let t = types.first(where: { $0.code == code }) else { return nil }
        var n = t.fields.map(\.name)
        if let c = t.continuation { n += types[c.typeIndex].fields.map(\.name) }
        return n
    }
}
