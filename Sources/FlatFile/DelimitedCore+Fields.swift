#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension DelimitedCore {
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
}
