// Streaming delimited (CSV-like) reader.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// Flag bits on a field's start offset in the scan scratch.
let spanQuoted: Int32 = 1 << 30
let spanCopy: Int32 = 1 << 29
let spanMask: Int32 = (1 << 29) - 1

/// Index of the first CR or LF in p[0..<n], or nil.
@inline(__always)
func findLineEnd(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int? {
    guard n > 0 else { return nil }
    let lf = memchr(p, 10, n)
    let limit = lf.map { UnsafeRawPointer($0) - UnsafeRawPointer(p) } ?? n
    if limit > 0, let cr = memchr(p, 13, limit) { return UnsafeRawPointer(cr) - UnsafeRawPointer(p) }
    return lf == nil ? nil : limit
}

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
    private(set) var header: [String]?
    private(set) var headerLine: Int?
    private(set) var dataRecordCount = 0
    private(set) var trailerRecord: FlatRecord?
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

    // MARK: Preamble

    mutating func skipPreamble() throws(FileRefusal) {
        switch layout.preamble {
        case .none:
            return
        case .lines(let n):
            var k = 0
            while k < n {
                if input.available == 0, !(try input.fill()) { return }
                try skipLine()
                k += 1
            }
        case .matching(let text):
            let needle = Array(text.utf8)
            guard !needle.isEmpty else { return }
            while true {
                guard let len = try peekLineLength() else { return }
                if !contains(input.pointer + input.start, len, needle) { return }
                try skipLine()
            }
        }
    }

    /// Length of the physical line at `start` (without its line end), or nil at the end of input or when the line
    /// is longer than the record limit.
    mutating func peekLineLength() throws(FileRefusal) -> Int? {
        var searched = 0
        while true {
            if let i = findLineEnd(input.pointer + input.start + searched, input.available - searched) {
                return searched + i
            }
            searched = input.available
            if searched > maxRecordBytes { return nil }
            if !(try input.fill()) { return input.available == 0 ? nil : input.available }
        }
    }

    /// Consumes the rest of the physical line at `start`, including its line end, without buffering it.
    mutating func skipLine() throws(FileRefusal) {
        if try input.skipLine() { line += 1 }
    }

    // MARK: Reading

    @usableFromInline
    mutating func next() throws(FileRefusal) -> ReadItem? {
        if layout.trailer == nil {
            // Fast path: no trailer to hold back.
            if let raw = try readRaw() {
                if rawIsData { dataRecordCount &+= 1 }
                return item(raw)
            }
            finished = true
            return nil
        }
        if let q = queued {
            queued = nil
            return q
        }
        if finished { return nil }
        while true {
            guard let item = try readRaw().map({ self.item($0) }) else {
                finished = true
                if let p = pendingTrailer {
                    // The last line starting with the prefix is the trailer.
                    pendingTrailer = nil
                    trailerRecord = p
                }
                try checkTrailer()
                return nil
            }
            switch item {
            case .issue(let issue):
                if !rawIsData { return item }
                dataRecordCount += 1
                if let p = pendingTrailer {
                    pendingTrailer = nil
                    countData(p)
                    queued = .issue(issue)
                    return .record(p)
                }
                return item
            case .record(let r):
                if let prefix = prefixBytes, r.hasPrefix(prefix) {
                    if let p = pendingTrailer {
                        pendingTrailer = r
                        countData(p)
                        return .record(p)
                    }
                    pendingTrailer = r
                    continue
                }
                countData(r)
                if let p = pendingTrailer {
                    pendingTrailer = nil
                    countData(p)
                    queued = item
                    return .record(p)
                }
                return item
            }
        }
    }

    /// What `readRaw` found: a record, whose bytes and spans are in `bytes` and `spans` until the next read, or an
    /// issue.
    enum RawItem {
        case record(RawRecord)
        case issue(RowIssue)
    }

    struct RawRecord {
        let line: Int
        let lineCount: Int
        let byteOffset: Int
        let count: Int
        let textLength: Int
        /// Set when the record was read in place: its bytes are still in the input window here (until the next
        /// read) and its spans in `scratch`, not in `bytes` and `spans`.
        var inPlace: UnsafePointer<UInt8>? = nil
    }

    func item(_ raw: RawItem) -> ReadItem {
        switch raw {
        case .record(let r):
            .record(
                FlatRecord(
                    line: r.line, lineCount: r.lineCount, byteOffset: r.byteOffset, typeCode: nil, count: r.count,
                    bytes: bytes, spans: spans, textLength: r.textLength))
        case .issue(let issue): .issue(issue)
        }
    }

    /// ``RecordReader/read(into:maxItems:maxBytes:)`` with no trailer to hold back: records go from the scan
    /// buffers straight into the batch, with no ``FlatRecord`` in between.
    mutating func read(into batch: inout RecordBatch, maxItems: Int, maxBytes: Int) throws(FileRefusal) -> Bool {
        let before = batch.count
        while batch.count < maxItems, batch.byteCount < maxBytes {
            guard let raw = try readRaw(inPlace: true) else {
                finished = true
                break
            }
            if rawIsData { dataRecordCount &+= 1 }
            switch raw {
            case .record(let r) where r.inPlace != nil:
                batch.append(
                    line: r.line, typeCode: nil, bytes: UnsafeBufferPointer(start: r.inPlace, count: r.textLength),
                    spans: UnsafeBufferPointer(start: scratch.pointer, count: 2 * r.count))
            case .record(let r):
                bytes.withUnsafeBufferPointer { bytes in
                    spans.withUnsafeBufferPointer { spans in
                        batch.append(line: r.line, typeCode: nil, bytes: bytes, spans: UnsafeBufferPointer(rebasing: spans[0..<2 * r.count]))
                    }
                }
            case .issue(let issue):
                batch.append(issue)
            }
        }
        return batch.count > before
    }

    mutating func countData(_ r: FlatRecord) {
        dataRecordCount += 1
        guard let t = layout.trailer else { return }
        if let f = t.sumOfField, t.sumField != nil {
            r.withBytes(f) { b in
                let t = trimmed(b)
                if let v = ControlSum.parse(t) { sum.add(v) }
            }
        }
    }

    mutating func checkTrailer() throws(FileRefusal) {
        guard let t = layout.trailer else { return }
        guard let tr = trailerRecord else {
            throw FileRefusal(
                code: .missingTrailer, line: nil,
                message: "no trailer line starting with the configured prefix was found")
        }
        // Records counted when yielded; the pending trailer was never counted.
        let count = dataRecordCount
        guard let declared = tr.withBytes(t.countField, { parseCount(trimmed($0)) }) else {
            throw FileRefusal(
                code: .controlTotalMismatch, line: tr.line,
                message: "the trailer's record count (field \(t.countField + 1)) is not a whole number")
        }
        if declared != count {
            throw FileRefusal(
                code: .controlTotalMismatch, line: tr.line,
                message: "the trailer declares \(declared) data records but the file has \(count)")
        }
        if let sf = t.sumField, t.sumOfField != nil {
            guard let declaredSum = tr.withBytes(sf, { ControlSum.parse(trimmed($0)) }) else {
                throw FileRefusal(
                    code: .controlTotalMismatch, line: tr.line,
                    message: "the trailer's control sum (field \(sf + 1)) is not a number")
            }
            if sum.overflow || declaredSum != sum.scaled {
                throw FileRefusal(
                    code: .controlTotalMismatch, line: tr.line,
                    message: "the trailer declares a control sum of \(ControlSum.format(declaredSum)) but the data sums to \(sum)")
            }
        }
    }

    enum ScanResult {
        case record(length: Int, next: Int, lines: Int, fields: Int, quoted: Bool)
        case needMore
        case unclosedQuote
    }

    /// Scans one record at `input.start`: field spans (relative to the record start) go to `scratch`.
    @inline(__always)
    func scan() -> ScanResult {
        let base = UnsafePointer(input.pointer + input.start)
        let n = input.available
        let eof = input.eof
        let d = delimiter
        let q = quote
        let quoting = hasQuote
        let trim = self.trim
        let s1 = space1
        let s2 = space2
        let md = UInt64(d) &* 0x0101_0101_0101_0101
        var sp = scratch.pointer
        var scap = scratch.capacity
        var nf = 0
        var p = 0
        var lines = 1
        var anyQuoted = false
        while true {
            if nf &* 2 &+ 2 > scap {
                scratch.grow(minimum: nf * 2 + 2, keep: nf * 2)
                sp = scratch.pointer
                scap = scratch.capacity
            }
            if trim {
                while p < n, base[p] == s1 || base[p] == s2 { p &+= 1 }
            }
            if quoting && p < n && base[p] == q {
                p &+= 1
                anyQuoted = true
                let cs = p
                var flags = spanQuoted
                var ce = 0
                while true {
                    while p < n {
                        let c = base[p]
                        if c == q { break }
                        if c == 10 {
                            lines &+= 1
                        } else if c == 13 && (p &+ 1 >= n || base[p &+ 1] != 10) {
                            lines &+= 1
                        }
                        p &+= 1
                    }
                    if p >= n { return eof ? .unclosedQuote : .needMore }
                    if p &+ 1 < n {
                        if base[p &+ 1] == q {
                            flags |= spanCopy
                            p &+= 2
                            continue
                        }
                    } else if !eof {
                        return .needMore
                    }
                    ce = p
                    p &+= 1
                    break
                }
                var junk = false
                while p < n {
                    let c = base[p]
                    if c == d || c == 10 || c == 13 { break }
                    if !(trim && (c == s1 || c == s2)) { junk = true }
                    p &+= 1
                }
                if p >= n && !eof { return .needMore }
                if junk {
                    flags |= spanCopy
                    sp[nf &* 2] = Int32(truncatingIfNeeded: cs) | flags
                    sp[nf &* 2 &+ 1] = Int32(truncatingIfNeeded: p)
                } else {
                    sp[nf &* 2] = Int32(truncatingIfNeeded: cs) | flags
                    sp[nf &* 2 &+ 1] = Int32(truncatingIfNeeded: ce)
                }
            } else {
                let cs = p
                // Unquoted field: 8 bytes at a time; the lowest marked byte is the first delimiter, CR or LF.
                var found = false
                while p &+ 8 <= n {
                    let w = UnsafeRawPointer(base + p).loadUnaligned(as: UInt64.self)
                    let m = zeroByteMask(w ^ md) | zeroByteMask(w ^ 0x0A0A_0A0A_0A0A_0A0A) | zeroByteMask(w ^ 0x0D0D_0D0D_0D0D_0D0D)
                    if m != 0 {
                        p &+= m.trailingZeroBitCount &>> 3
                        found = true
                        break
                    }
                    p &+= 8
                }
                if !found {
                    while p < n {
                        let c = base[p]
                        if c == d || c == 10 || c == 13 { break }
                        p &+= 1
                    }
                }
                if p >= n && !eof { return .needMore }
                var ce = p
                if trim {
                    while ce > cs && (base[ce &- 1] == s1 || base[ce &- 1] == s2) { ce &-= 1 }
                }
                sp[nf &* 2] = Int32(truncatingIfNeeded: cs)
                sp[nf &* 2 &+ 1] = Int32(truncatingIfNeeded: ce)
            }
            nf &+= 1
            if p < n && base[p] == d {
                p &+= 1
                continue
            }
            let length = p
            if p < n {
                if base[p] == 13 {
                    if p &+ 1 < n {
                        p &+= base[p &+ 1] == 10 ? 2 : 1
                    } else if eof {
                        p &+= 1
                    } else {
                        return .needMore
                    }
                } else {
                    p &+= 1
                }
            }
            return .record(length: length, next: p, lines: lines, fields: nf, quoted: anyQuoted)
        }
    }

    /// The next record or row issue (blank rows included), before trailer handling; nil at the end of input.
    /// - Parameter inPlace: a record that needs no unescaping, null marking or transcoding may be left where it was
    ///   read (``RawRecord/inPlace``) rather than copied to `bytes` and `spans`.
    mutating func readRaw(inPlace: Bool = false) throws(FileRefusal) -> RawItem? {
        if skipRestOfLine {
            skipRestOfLine = false
            try skipLine()
        }
        while true {
            if input.available == 0, !(try input.fill()) { return nil }
            let result = scan()
            switch result {
            case .needMore:
                if input.available > maxRecordBytes { return tooLong() }
                _ = try input.fill()
                continue
            case .unclosedQuote:
                if input.available > maxRecordBytes { return tooLong() }
                let issue = RowIssue(
                    line: line, byteOffset: input.fileOffset(input.start), field: nil, column: nil,
                    code: .unclosedQuote,
                    message: "a quoted field opened on this line is never closed before the end of the file; reading resumes on the next line",
                    text: lossyText(input.pointer + input.start, min(input.available, 4096), encoding: layout.encoding))
                // Resume on the next physical line.
                skipRestOfLine = true
                rawIsData = true
                return .issue(issue)
            case .record(let length, let next, let lines, let nf, let quoted):
                if length > maxRecordBytes { return tooLong() }
                if let item = build(length: length, lines: lines, fields: nf, quoted: quoted, inPlace: inPlace) {
                    input.start += next
                    line += lines
                    return item
                }
                input.start += next
                line += lines
                continue
            }
        }
    }

    mutating func tooLong() -> RawItem {
        let issue = RowIssue(
            line: line, byteOffset: input.fileOffset(input.start), field: nil, column: nil,
            code: .recordTooLong,
            message: "the record is longer than the limit of \(maxRecordBytes) bytes; the rest of its line was skipped",
            text: nil)
        skipRestOfLine = true
        rawIsData = true
        return .issue(issue)
    }

    /// Turns the scanned record into a record (in `bytes` and `spans`) or an issue; nil for a skipped blank line.
    mutating func build(length: Int, lines: Int, fields nf: Int, quoted: Bool, inPlace: Bool) -> RawItem? {
        let raw = UnsafePointer(input.pointer + input.start)
        let sp = scratch.pointer
        let recordLine = line
        let offset = input.fileOffset(input.start)

        // Blank line: one empty unquoted field, and nothing but spaces/tabs (when trimming) or nothing at all.
        if nf == 1 && sp[0] & spanQuoted == 0 && sp[0] == sp[1] && (trim || length == 0) {
            if layout.blankLines == .skip { return nil }
            rawIsData = false
            return .issue(
                RowIssue(
                    line: recordLine, byteOffset: offset, field: nil, column: nil, code: .blankRow,
                    message: "the row is blank", text: nil))
        }

        rawIsData = true
        // Encoding check on the raw bytes.
        let encoding = layout.encoding
        var needsTranscoding = false
        if encoding == .utf8 {
            if let bad = firstInvalidUTF8(raw, length) {
                return .issue(
                    encodingIssue(
                        raw, length, bad: bad, fields: nf, line: recordLine, offset: offset,
                        what: "bytes that are not valid UTF-8"))
            }
        } else if firstNonASCII(raw, length) < length {
            if let bad = firstUndefinedByte(raw, length, encoding: encoding) {
                return .issue(
                    encodingIssue(
                        raw, length, bad: bad, fields: nf, line: recordLine, offset: offset,
                        what: "a byte that is undefined in \(encoding.rawValue)"))
            }
            needsTranscoding = true
        }

        let nullBytes = self.nullBytes
        if inPlace && !quoted && nullBytes == nil && !needsTranscoding {
            return .record(RawRecord(line: recordLine, lineCount: lines, byteOffset: offset, count: nf, textLength: length, inPlace: raw))
        }
        bytes.removeAll(keepingCapacity: true)
        bytes.append(contentsOf: UnsafeBufferPointer(start: raw, count: length))
        // Flags off, null fields marked, quoted fields with doubled quotes unescaped (skipped when none can apply).
        if quoted || nullBytes != nil {
            for i in 0..<nf {
                var s = sp[i &* 2]
                if s & (spanCopy | spanQuoted) == 0 {
                    if let nb = nullBytes, Int(sp[i &* 2 &+ 1] &- s) == nb.count,
                        nb.isEmpty || nb.withUnsafeBufferPointer({ memcmp(raw + Int(s), $0.baseAddress!, nb.count) == 0 })
                    {
                        sp[i &* 2] = ~s
                    }
                } else if s & spanCopy != 0 {
                    let from = Int(s & spanMask)
                    let ns = bytes.count
                    unescape(raw + from, Int(sp[i &* 2 &+ 1]) - from)
                    s = Int32(truncatingIfNeeded: ns)
                    sp[i &* 2] = s
                    sp[i &* 2 &+ 1] = Int32(truncatingIfNeeded: bytes.count)
                } else {
                    sp[i &* 2] = s & spanMask
                }
            }
        }
        spans.removeAll(keepingCapacity: true)
        spans.append(contentsOf: UnsafeBufferPointer(start: sp, count: nf &* 2))
        var textLength = length
        if needsTranscoding {
            transcoded.removeAll(keepingCapacity: true)
            bytes.withUnsafeBufferPointer { b in
                appendTranscoded(b.baseAddress!, length, encoding: encoding, to: &transcoded)
                textLength = transcoded.count
                for i in 0..<nf {
                    let s0 = Int(spans[i &* 2])
                    let isNull = s0 < 0
                    let s = isNull ? ~s0 : s0
                    let e = Int(spans[i &* 2 &+ 1])
                    let ns = transcoded.count
                    appendTranscoded(b.baseAddress! + s, e - s, encoding: encoding, to: &transcoded)
                    spans[i &* 2] = isNull ? ~Int32(ns) : Int32(ns)
                    spans[i &* 2 &+ 1] = Int32(transcoded.count)
                }
            }
            bytes.removeAll(keepingCapacity: true)
            bytes.append(contentsOf: transcoded)
        }
        return .record(RawRecord(line: recordLine, lineCount: lines, byteOffset: offset, count: nf, textLength: textLength))
    }

    /// Appends a quoted field's content (from after its opening quote to the end of its raw extent) with doubled
    /// quotes undone and any text after the closing quote kept literally.
    mutating func unescape(_ p: UnsafePointer<UInt8>, _ n: Int) {
        let q = quote
        var i = 0
        var runStart = 0
        while i < n {
            if p[i] == q {
                bytes.append(contentsOf: UnsafeBufferPointer(start: p + runStart, count: i - runStart))
                if i + 1 < n && p[i + 1] == q {
                    bytes.append(q)
                    i += 2
                    runStart = i
                    continue
                }
                i += 1
                runStart = i
                break
            }
            i += 1
        }
        if runStart < i || i < n {
            // Text after the closing quote (or the rest when no closing quote was seen).
            var e = n
            if trim { while e > runStart && (p[e - 1] == space1 || p[e - 1] == space2) { e -= 1 } }
            if e > runStart { bytes.append(contentsOf: UnsafeBufferPointer(start: p + runStart, count: e - runStart)) }
        }
    }

    func encodingIssue(
        _ raw: UnsafePointer<UInt8>, _ length: Int, bad: Int, fields nf: Int, line recordLine: Int,
        offset: Int, what: String
    ) -> RowIssue {
        // Physical line and character column of the bad byte.
        var l = recordLine
        var lineStart = 0
        var i = 0
        while i < bad {
            let c = raw[i]
            if c == 10 || (c == 13 && !(i + 1 < length && raw[i + 1] == 10)) {
                l += 1
                lineStart = i + 1
            }
            i += 1
        }
        var column = 1
        if layout.encoding == .utf8 {
            for k in lineStart..<bad where raw[k] & 0xC0 != 0x80 { column += 1 }
        } else {
            column += bad - lineStart
        }
        var field = 0
        let sp = scratch.pointer
        for f in 0..<nf {
            let s = Int(sp[f * 2] & spanMask) - (sp[f * 2] & spanQuoted != 0 ? 1 : 0)
            if s <= bad { field = f } else { break }
        }
        return RowIssue(
            line: l, byteOffset: offset + bad, field: field, column: column, code: .encodingError,
            message: "field \(field + 1) has \(what) at byte offset \(offset + bad)",
            text: lossyText(raw, length, encoding: layout.encoding))
    }
}

/// 0x80 in the lowest zero byte of `v` (and possibly in higher bytes: only the lowest mark is exact).
@inline(__always)
func zeroByteMask(_ v: UInt64) -> UInt64 {
    (v &- 0x0101_0101_0101_0101) & ~v & 0x8080_8080_8080_8080
}

@inline(__always)
func trimmed(_ b: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
    var s = 0
    var e = b.count
    while s < e && (b[s] == 32 || b[s] == 9) { s += 1 }
    while e > s && (b[e - 1] == 32 || b[e - 1] == 9) { e -= 1 }
    return UnsafeBufferPointer(rebasing: b[s..<e])
}

func contains(_ p: UnsafePointer<UInt8>, _ n: Int, _ needle: [UInt8]) -> Bool {
    let m = needle.count
    guard m > 0, n >= m else { return m == 0 }
    return needle.withUnsafeBufferPointer { nb in
        var i = 0
        while i <= n - m {
            guard let hit = memchr(p + i, Int32(nb[0]), n - m - i + 1) else { return false }
            let k = UnsafeRawPointer(hit) - UnsafeRawPointer(p)
            if memcmp(p + k, nb.baseAddress!, m) == 0 { return true }
            i = k + 1
        }
        return false
    }
}

/// The literal's bytes in the file's encoding (so that raw fields can be compared without decoding).
func encodeLiteral(_ text: String, _ encoding: TextEncoding) -> [UInt8] {
    if encoding == .utf8 { return Array(text.utf8) }
    var out: [UInt8] = []
    for s in text.unicodeScalars {
        if s.value < 0x80 {
            out.append(UInt8(s.value))
            continue
        }
        var found: UInt8? = nil
        for b in 0x80...0xFF where singleByteScalar(UInt8(b), windows1252: encoding == .windows1252) == s.value {
            found = UInt8(b)
            break
        }
        out.append(found ?? 0x3F)
    }
    return out
}

extension FlatRecord {
    func hasPrefix(_ prefix: [UInt8]) -> Bool {
        guard prefix.count <= _textLength else { return false }
        return _bytes.withUnsafeBufferPointer { b in
            prefix.withUnsafeBufferPointer { memcmp(b.baseAddress!, $0.baseAddress!, prefix.count) == 0 }
        }
    }
}
