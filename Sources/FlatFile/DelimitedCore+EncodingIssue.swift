#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension DelimitedCore {
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
