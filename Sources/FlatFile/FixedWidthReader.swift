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

/// One decoded physical line.
struct LineState {
    var text: [UInt8] = []
    /// Byte offset of each character plus a final end offset; empty when the line is ASCII.
    var charOffsets: [Int32] = []
    var charCount = 0
    var line = 0
    var offset = 0
    var rawLength = 0
    /// Byte index (in the raw line) of the first invalid byte, if any.
    var badByte: Int?
    var badColumn = 0
    var tooLong = false

    @inline(__always) func byteIndex(_ char: Int) -> Int {
        charOffsets.isEmpty ? char : Int(charOffsets[char])
    }
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
    private(set) var headerRecord: FlatRecord?
    private(set) var trailerRecord: FlatRecord?
    private(set) var dataCount = 0
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

    // MARK: Lines

    enum LineRead { case line, blank, end }

    /// Reads and decodes the next physical line into `current`.
    mutating func readLine() throws(FileRefusal) -> LineRead {
        var searched = 0
        while true {
            if input.available == 0, !(try input.fill()) { return .end }
            let p = input.pointer + input.start
            let n = input.available
            var length = -1
            var next = 0
            if let i = findLineEnd(p + searched, n - searched) {
                let k = searched + i
                if p[k] == 13 {
                    if k + 1 < n {
                        length = k
                        next = k + (p[k + 1] == 10 ? 2 : 1)
                    } else if input.eof {
                        length = k
                        next = k + 1
                    } else {
                        searched = k
                    }
                } else {
                    length = k
                    next = k + 1
                }
            } else if input.eof {
                length = n
                next = n
            } else {
                searched = n
            }
            if length > maxRecordBytes || (length < 0 && n > maxRecordBytes) {
                current = LineState()
                current.line = line
                current.offset = input.fileOffset(input.start)
                current.tooLong = true
                try skipLine()
                return .line
            }
            if length < 0 {
                _ = try input.fill()
                continue
            }
            decode(p, length)
            input.start += next
            line += 1
            // Blank: nothing, or only spaces and tabs when trimming.
            if current.badByte == nil {
                var blank = true
                if length > 0 {
                    if !layout.trim {
                        blank = false
                    } else {
                        for i in 0..<length where p[i] != 32 && p[i] != 9 {
                            blank = false
                            break
                        }
                    }
                }
                if blank { return .blank }
            }
            return .line
        }
    }

    /// Consumes the rest of the physical line at `start`, including its line end, without buffering it.
    mutating func skipLine() throws(FileRefusal) {
        if try input.skipLine() { line += 1 }
    }

    mutating func decode(_ p: UnsafePointer<UInt8>, _ n: Int) {
        current.line = line
        current.offset = input.fileOffset(input.start)
        current.rawLength = n
        current.tooLong = false
        current.badByte = nil
        current.text.removeAll(keepingCapacity: true)
        current.charOffsets.removeAll(keepingCapacity: true)
        let ascii = firstNonASCII(p, n)
        if ascii == n {
            current.text.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
            current.charCount = n
            return
        }
        let encoding = layout.encoding
        if encoding == .utf8 {
            if let bad = firstInvalidUTF8(p, n) {
                current.badByte = bad
                current.badColumn = utf8ScalarCount(p, bad) + 1
                let lossy = String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
                current.text.append(contentsOf: lossy.utf8)
            } else {
                current.text.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
            }
        } else {
            if let bad = firstUndefinedByte(p, n, encoding: encoding) {
                current.badByte = bad
                current.badColumn = bad + 1
            }
            appendTranscoded(p, n, encoding: encoding, to: &current.text)
        }
        // Character offsets of the (valid) UTF-8 text; the array's buffer is moved out and back to stay unique.
        var offsets = current.charOffsets
        current.charOffsets = []
        var count = 0
        current.text.withUnsafeBufferPointer { t in
            for i in 0..<t.count where t[i] & 0xC0 != 0x80 { count &+= 1 }
            offsets.append(contentsOf: repeatElement(0, count: count + 1))
            offsets.withUnsafeMutableBufferPointer { o in
                var k = 0
                for i in 0..<t.count where t[i] & 0xC0 != 0x80 {
                    o[k] = Int32(truncatingIfNeeded: i)
                    k &+= 1
                }
                o[k] = Int32(truncatingIfNeeded: t.count)
            }
        }
        current.charOffsets = offsets
        current.charCount = count
    }

    /// The record type of a decoded line, or nil when its code is unknown.
    func typeIndex(of s: LineState) -> Int? {
        guard let (first, last) = discriminator else { return 0 }
        let width = last - first
        return s.text.withUnsafeBufferPointer { t -> Int? in
            let a = min(first, s.charCount)
            let b = min(last, s.charCount)
            let ba = s.byteIndex(a)
            let bb = s.byteIndex(b)
            let pad = width - (b - a)
            for (i, ty) in types.enumerated() {
                let cb = ty.codeBytes
                guard cb.count == (bb - ba) + pad else { continue }
                var equal = true
                for k in 0..<(bb - ba) where t[ba + k] != cb[k] {
                    equal = false
                    break
                }
                if equal {
                    for k in (bb - ba)..<cb.count where cb[k] != 32 {
                        equal = false
                        break
                    }
                }
                if equal { return i }
            }
            return nil
        }
    }

    /// The discriminator text of a line, for an issue message: printable ASCII only.
    func codeText(of s: LineState) -> String {
        guard let (first, last) = discriminator else { return "" }
        let a = min(first, s.charCount)
        let b = min(last, s.charCount)
        let bytes = Array(s.text[s.byteIndex(a)..<s.byteIndex(b)])
        if bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return String(decoding: bytes, as: UTF8.self) }
        return String(repeating: "?", count: b - a)
    }

    /// Field value bytes (trimmed when the layout says) for comparisons.
    func fieldBytes(_ s: LineState, _ f: FixedWidthField) -> ArraySlice<UInt8> {
        let a = min(f.columns.first - 1, s.charCount)
        let b = min(f.columns.last, s.charCount)
        var ba = s.byteIndex(a)
        var bb = s.byteIndex(b)
        while ba < bb && (s.text[ba] == 32 || s.text[ba] == 9) { ba += 1 }
        while bb > ba && (s.text[bb - 1] == 32 || s.text[bb - 1] == 9) { bb -= 1 }
        return s.text[ba..<bb]
    }

    func flagged(_ s: LineState, _ c: ResolvedContinuation) -> Bool {
        let a = min(c.flagFirst, s.charCount)
        let b = min(c.flagLast, s.charCount)
        let ba = s.byteIndex(a)
        let bb = s.byteIndex(b)
        // The flag columns (padded with spaces past the line's end) against the flag value, without copying.
        let width = bb - ba + (c.flagLast - c.flagFirst) - (b - a)
        guard width == c.flagValue.count else { return false }
        for k in 0..<width {
            let ch: UInt8 = ba + k < bb ? s.text[ba + k] : 32
            if ch != c.flagValue[k] { return false }
        }
        return true
    }

    // MARK: Records

    /// Appends the fields of `type` on line `s` (whose text starts at `base` in `bytes`) to `spans`.
    mutating func appendFields(_ s: LineState, type: Int, base: Int) {
        let ragged = !layout.strictLength
        let trim = layout.trim
        let fields = types[type].fields
        let charCount = s.charCount
        s.text.withUnsafeBufferPointer { t in
            s.charOffsets.withUnsafeBufferPointer { co in
                @inline(__always) func byteIndex(_ c: Int) -> Int { co.isEmpty ? c : Int(co[c]) }
                for f in fields {
                    let c0 = f.columns.first &- 1
                    let c1 = f.columns.last
                    var ba = byteIndex(min(c0, charCount))
                    var bb = byteIndex(min(c1, charCount))
                    if trim {
                        while ba < bb && (t[ba] == 32 || t[ba] == 9) { ba &+= 1 }
                        while bb > ba && (t[bb &- 1] == 32 || t[bb &- 1] == 9) { bb &-= 1 }
                    } else if ragged && c1 > charCount {
                        // Ragged right: the missing characters are spaces.
                        let start = bytes.count
                        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: t[ba..<bb]))
                        bytes.append(contentsOf: repeatElement(32, count: c1 - max(c0, charCount)))
                        spans.append(Int32(truncatingIfNeeded: start))
                        spans.append(Int32(truncatingIfNeeded: bytes.count))
                        continue
                    }
                    spans.append(Int32(truncatingIfNeeded: base &+ ba))
                    spans.append(Int32(truncatingIfNeeded: base &+ bb))
                }
            }
        }
    }

    mutating func makeRecord(_ s: LineState, type: Int) -> FlatRecord {
        bytes.removeAll(keepingCapacity: true)
        spans.removeAll(keepingCapacity: true)
        bytes.append(contentsOf: s.text)
        let textLength = bytes.count
        appendFields(s, type: type, base: 0)
        return FlatRecord(
            line: s.line, lineCount: 1, byteOffset: s.offset, typeCode: types[type].code,
            count: types[type].fields.count, bytes: bytes, spans: spans, textLength: textLength)
    }

    mutating func makeCombined(first: LineState, firstType: Int, second: LineState, secondType: Int) -> FlatRecord {
        bytes.removeAll(keepingCapacity: true)
        spans.removeAll(keepingCapacity: true)
        bytes.append(contentsOf: first.text)
        bytes.append(10)
        let secondBase = bytes.count
        bytes.append(contentsOf: second.text)
        let textLength = bytes.count
        appendFields(first, type: firstType, base: 0)
        appendFields(second, type: secondType, base: secondBase)
        return FlatRecord(
            line: first.line, lineCount: second.line - first.line + 1, byteOffset: first.offset,
            typeCode: types[firstType].code,
            count: types[firstType].fields.count + types[secondType].fields.count,
            bytes: bytes, spans: spans, textLength: textLength)
    }

    mutating func addToSum(_ r: FlatRecord, type: Int) {
        guard sumIndex != nil, let i = types[type].sumIndex else { return }
        r.withBytes(i) { b in
            if let v = ControlSum.parse(trimmed(b)) { sum.add(v) }
        }
    }

    func issue(_ s: LineState, _ code: IssueCode, _ message: String, field: Int? = nil, column: Int? = nil) -> ReadItem {
        .issue(
            RowIssue(
                line: s.line, byteOffset: s.offset, field: field, column: column, code: code, message: message,
                text: s.tooLong ? nil : String(decoding: s.text, as: UTF8.self)))
    }

    /// Whether a problem line counts as a data record (data or unknown type).
    func countsAsData(_ type: Int?) -> Bool {
        guard let t = type else { return true }
        return types[t].role == .data
    }

    // MARK: next

    @usableFromInline
    mutating func next() throws(FileRefusal) -> ReadItem? {
        if finished { return nil }
        while true {
            if !haveCurrent {
                switch try readLine() {
                case .end:
                    if let pt = pendingType {
                        pendingType = nil
                        dataCount += 1
                        return missingContinuation(pt)
                    }
                    finished = true
                    try checkTotals()
                    return nil
                case .blank:
                    if layout.blankLines == .report {
                        return issue(current, .blankRow, "the line is blank")
                    }
                    continue
                case .line:
                    haveCurrent = true
                }
            }
            let type = current.tooLong || current.badByte != nil ? nil : typeIndex(of: current)
            let lengthOK: Bool = {
                guard let l = layout.lineLength, !current.tooLong else { return true }
                return current.charCount == l || (!layout.strictLength && current.charCount < l)
            }()

            // A flagged line waits for its continuation.
            if let pt = pendingType {
                let c = types[pt].continuation!
                if let t = type, t == c.typeIndex, lengthOK,
                    c.match.allSatisfy({ fieldBytes(pending, types[pt].fields[$0.0]) == fieldBytes(current, types[t].fields[$0.1]) })
                {
                    pendingType = nil
                    haveCurrent = false
                    let r = makeCombined(first: pending, firstType: pt, second: current, secondType: t)
                    dataCount += 1
                    addToSum(r, type: pt)
                    return .record(r)
                }
                pendingType = nil
                dataCount += 1
                // The current line is processed on the next call.
                return missingContinuation(pt)
            }
            haveCurrent = false

            if current.tooLong {
                dataCount += 1
                return issue(
                    current, .recordTooLong,
                    "the line is longer than the limit of \(maxRecordBytes) bytes; it was skipped")
            }
            let guessedType = type ?? (current.badByte != nil ? typeIndex(of: current) : nil)
            if expectHeader && !processedAny && (guessedType == nil || types[guessedType!].role != .header) {
                throw FileRefusal(
                    code: .missingHeader, line: current.line,
                    message: "the first line is not a header record")
            }
            processedAny = true
            if let bad = current.badByte {
                if countsAsData(guessedType) { dataCount += 1 }
                let what =
                    layout.encoding == .utf8
                    ? "bytes that are not valid UTF-8"
                    : "a byte that is undefined in \(layout.encoding.rawValue)"
                return .issue(
                    RowIssue(
                        line: current.line, byteOffset: current.offset + bad, field: nil,
                        column: current.badColumn, code: .encodingError,
                        message: "the line has \(what) at byte offset \(current.offset + bad) (column \(current.badColumn))",
                        text: String(decoding: current.text, as: UTF8.self)))
            }
            if !lengthOK {
                if countsAsData(type) { dataCount += 1 }
                return issue(
                    current, .lineLengthError,
                    "the line has \(current.charCount) characters; the layout expects \(layout.lineLength!)")
            }
            guard let t = type else {
                dataCount += 1
                let code = codeText(of: current)
                return issue(current, .unknownRecordType, "line \(current.line) has the unknown record type code '\(code)'")
            }
            switch types[t].role {
            case .header:
                if headerRecord == nil {
                    headerRecord = makeRecord(current, type: t)
                    continue
                }
                return issue(current, .misplacedRecord, "a second header record")
            case .trailer:
                trailerRecord = makeRecord(current, type: t)
                continue
            case .continuation:
                return issue(
                    current, .orphanContinuation,
                    "a continuation line (type '\(types[t].code)') that follows no flagged line for the same record")
            case .data:
                if let c = types[t].continuation, flagged(current, c) {
                    swap(&pending, &current)
                    pendingType = t
                    continue
                }
                let r = makeRecord(current, type: t)
                dataCount += 1
                addToSum(r, type: t)
                return .record(r)
            }
        }
    }

    func missingContinuation(_ pt: Int) -> ReadItem {
        let c = types[pt].continuation!
        return .issue(
            RowIssue(
                line: pending.line, byteOffset: pending.offset, field: nil, column: c.flagFirst + 1,
                code: .missingContinuation,
                message: "the line announces a continuation line (type '\(types[c.typeIndex].code)') that does not follow it",
                text: String(decoding: pending.text, as: UTF8.self)))
    }

    mutating func checkTotals() throws(FileRefusal) {
        guard hasTrailerType else { return }
        guard let tr = trailerRecord else {
            throw FileRefusal(code: .missingTrailer, line: nil, message: "the file has no trailer record")
        }
        guard let ci = countIndex else { return }
        guard let declared = tr.withBytes(ci, { parseCount(trimmed($0)) }) else {
            throw FileRefusal(
                code: .controlTotalMismatch, line: tr.line,
                message: "the trailer's record count is not a whole number")
        }
        if declared != dataCount {
            throw FileRefusal(
                code: .controlTotalMismatch, line: tr.line,
                message: "the trailer declares \(declared) data records but the file has \(dataCount)")
        }
        if let si = sumIndex {
            guard let declaredSum = tr.withBytes(si, { ControlSum.parse(trimmed($0)) }) else {
                throw FileRefusal(
                    code: .controlTotalMismatch, line: tr.line,
                    message: "the trailer's control sum is not a number")
            }
            if sum.overflow || declaredSum != sum.scaled {
                throw FileRefusal(
                    code: .controlTotalMismatch, line: tr.line,
                    message: "the trailer declares a control sum of \(ControlSum.format(declaredSum)) but the data sums to \(sum)")
            }
        }
    }
}
