#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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

extension FixedWidthCore {
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
}
