#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension FixedWidthCore {
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
}
