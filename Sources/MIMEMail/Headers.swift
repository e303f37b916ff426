// Header values: parameters (RFC 2045, RFC 2231), encoded words (RFC 2047), charsets, addresses, file names.

/// A header value's main part and parameters, e.g. `text/csv; name="x.csv"`.
struct HeaderValue {
    var main: String
    /// Raw parameters in order: name (lower case, with any `*N*` suffix), value (quotes removed).
    var parameters: [(name: String, value: [UInt8])]

    init(_ raw: [UInt8]) {
        var main = ""
        var parameters: [(name: String, value: [UInt8])] = []
        raw.withUnsafeBufferPointer { r in
            let n = r.count
            var i = 0
            @inline(__always) func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 || c == 10 }
            /// Index after spaces and (nested) comments from `k`.
            func skipSpace(_ k: Int) -> Int {
                var k = k
                while k < n {
                    if isSpace(r[k]) {
                        k += 1
                        continue
                    }
                    if r[k] == UInt8(ascii: "(") {
                        var depth = 0
                        while k < n {
                            let c = r[k]
                            if c == UInt8(ascii: "\\") {
                                k += 2
                                continue
                            }
                            if c == UInt8(ascii: "(") { depth += 1 }
                            if c == UInt8(ascii: ")") {
                                depth -= 1
                                if depth == 0 {
                                    k += 1
                                    break
                                }
                            }
                            k += 1
                        }
                        continue
                    }
                    break
                }
                return min(k, n)
            }
            i = skipSpace(0)
            let ms = i
            while i < n && r[i] != UInt8(ascii: ";") { i += 1 }
            var me = i
            while me > ms && isSpace(r[me - 1]) { me -= 1 }
            main = String(decoding: UnsafeBufferPointer(rebasing: r[ms..<me]), as: UTF8.self)
            while i < n {
                // At a ';' (or junk): move to the next attribute.
                i = skipSpace(i + 1)
                let ns = i
                while i < n && r[i] != UInt8(ascii: "=") && r[i] != UInt8(ascii: ";") && !isSpace(r[i]) { i += 1 }
                let name = String(decoding: UnsafeBufferPointer(rebasing: r[ns..<i]), as: UTF8.self).lowercased()
                i = skipSpace(i)
                guard i < n && r[i] == UInt8(ascii: "=") else {
                    while i < n && r[i] != UInt8(ascii: ";") { i += 1 }
                    continue
                }
                i = skipSpace(i + 1)
                var value: [UInt8] = []
                if i < n && r[i] == UInt8(ascii: "\"") {
                    i += 1
                    while i < n && r[i] != UInt8(ascii: "\"") {
                        if r[i] == UInt8(ascii: "\\") && i + 1 < n { i += 1 }
                        value.append(r[i])
                        i += 1
                    }
                    i += 1
                } else {
                    let vs = i
                    while i < n && r[i] != UInt8(ascii: ";") { i += 1 }
                    var ve = i
                    while ve > vs && isSpace(r[ve - 1]) { ve -= 1 }
                    value = Array(UnsafeBufferPointer(rebasing: r[vs..<ve]))
                }
                while i < n && r[i] != UInt8(ascii: ";") { i += 1 }
                if !name.isEmpty && parameters.count < 200 { parameters.append((name, value)) }
            }
        }
        self.main = main
        self.parameters = parameters
    }

    /// A parameter's value: RFC 2231 (`name*`, `name*0*`, `name*1`...) first, then the plain one with any RFC 2047
    /// encoded words decoded.
    func parameter(_ name: String) -> String? {
        if let ext = parameters.first(where: { $0.name == name + "*" }) {
            return decode2231(segments: [(ext.value, true)])
        }
        var sections: [(Int, [UInt8], Bool)] = []
        for p in parameters where p.name.hasPrefix(name + "*") {
            var rest = p.name.dropFirst(name.count + 1)
            var extended = false
            if rest.hasSuffix("*") {
                extended = true
                rest = rest.dropLast()
            }
            guard let k = Int(rest), k >= 0, k < 1000, !sections.contains(where: { $0.0 == k }) else { continue }
            sections.append((k, p.value, extended))
        }
        if !sections.isEmpty {
            sections.sort { $0.0 < $1.0 }
            return decode2231(segments: sections.map { ($0.1, $0.2) })
        }
        if let plain = parameters.first(where: { $0.name == name }) {
            return decodeEncodedWords(plain.value)
        }
        return nil
    }
}

/// RFC 2231: the first extended segment is `charset'language'%XX...`; later extended segments are %-encoded;
/// plain segments are literal.
func decode2231(segments: [([UInt8], Bool)]) -> String {
    var charset = "utf-8"
    var bytes: [UInt8] = []
    for (index, (value, extended)) in segments.enumerated() {
        var v = value[...]
        if extended && index == 0 {
            let parts = v.split(separator: UInt8(ascii: "'"), maxSplits: 2, omittingEmptySubsequences: false)
            if parts.count == 3 {
                let cs = String(decoding: parts[0], as: UTF8.self)
                if !cs.isEmpty { charset = cs }
                v = parts[2]
            }
        }
        if extended {
            var i = v.startIndex
            while i < v.endIndex {
                if v[i] == UInt8(ascii: "%"), v.endIndex - i >= 3, let h = hexValue(v[i + 1]), let l = hexValue(v[i + 2]) {
                    bytes.append(h << 4 | l)
                    i += 3
                } else {
                    bytes.append(v[i])
                    i += 1
                }
            }
        } else {
            bytes.append(contentsOf: v)
        }
    }
    return decodeCharset(bytes, charset)
}

@inline(__always)
func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x30...0x39: return c - 0x30
    case 0x41...0x46: return c - 0x41 + 10
    case 0x61...0x66: return c - 0x61 + 10
    default: return nil
    }
}

let windows1252High: [UInt16] = [
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
    0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
]

/// Bytes in a named charset as a String (UTF-8, ASCII, ISO-8859-1/-15, Windows-1252; anything else as lossy UTF-8).
func decodeCharset(_ bytes: [UInt8], _ charset: String) -> String {
    var cs = charset.lowercased()
    if let star = cs.firstIndex(of: "*") { cs = String(cs[..<star]) }  // RFC 2231 language suffix
    switch cs {
    case "iso-8859-1", "iso_8859-1", "latin1", "l1", "iso8859-1", "iso-8859-15", "latin-9", "iso8859-15":
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(b)) }
        return String(s)
    case "windows-1252", "cp1252", "x-cp1252":
        var s = String.UnicodeScalarView()
        for b in bytes {
            if b >= 0x80 && b < 0xA0 { s.append(Unicode.Scalar(windows1252High[Int(b - 0x80)])!) } else { s.append(Unicode.Scalar(b)) }
        }
        return String(s)
    default:
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Decodes RFC 2047 encoded words (`=?utf-8?B?...?=`, `=?iso-8859-1?Q?...?=`); whitespace between two encoded words
/// is dropped. Other bytes are read as UTF-8.
func decodeEncodedWords(_ s: [UInt8]) -> String {
    // Fast path: nothing encoded.
    var hasWord = false
    for i in s.indices.dropLast() where s[i] == UInt8(ascii: "=") && s[i + 1] == UInt8(ascii: "?") {
        hasWord = true
        break
    }
    if !hasWord { return String(decoding: s, as: UTF8.self) }
    var out: [UInt8] = []
    out.reserveCapacity(s.count)
    var spaceStart = -1  // start of pending whitespace in `s`
    var lastEncoded = false
    var i = 0
    let n = s.count
    while i < n {
        let c = s[i]
        if c == UInt8(ascii: "="), i + 1 < n, s[i + 1] == UInt8(ascii: "?"), let (text, end) = encodedWord(s, at: i) {
            if !lastEncoded && spaceStart >= 0 { out.append(contentsOf: s[spaceStart..<i]) }
            spaceStart = -1
            out.append(contentsOf: text.utf8)
            lastEncoded = true
            i = end
            continue
        }
        if c == 32 || c == 9 || c == 13 || c == 10 {
            if spaceStart < 0 { spaceStart = i }
            i += 1
            continue
        }
        if spaceStart >= 0 { out.append(contentsOf: s[spaceStart..<i]) }
        spaceStart = -1
        out.append(c)
        lastEncoded = false
        i += 1
    }
    if spaceStart >= 0 { out.append(contentsOf: s[spaceStart..<n]) }
    return String(decoding: out, as: UTF8.self)
}

/// One encoded word starting at `start` ("=?"): its text and the index after "?=".
func encodedWord(_ s: [UInt8], at start: Int) -> (String, Int)? {
    let n = s.count
    var i = start + 2
    let csStart = i
    while i < n && s[i] != UInt8(ascii: "?") {
        if s[i] <= 32 || i - csStart > 64 { return nil }
        i += 1
    }
    guard i + 2 < n, s[i + 2] == UInt8(ascii: "?") else { return nil }
    let charset = String(decoding: s[csStart..<i], as: UTF8.self)
    let encoding = s[i + 1] | 0x20
    guard encoding == UInt8(ascii: "b") || encoding == UInt8(ascii: "q") else { return nil }
    i += 3
    let textStart = i
    while i + 1 < n && !(s[i] == UInt8(ascii: "?") && s[i + 1] == UInt8(ascii: "=")) {
        if s[i] <= 32 || i - textStart > 4096 { return nil }
        i += 1
    }
    guard i + 1 < n else { return nil }
    let text = s[textStart..<i]
    var bytes: [UInt8] = []
    if encoding == UInt8(ascii: "b") {
        var quad: UInt32 = 0
        var k = 0
        for c in text {
            guard let v = base64Value(c) else { continue }
            quad = quad << 6 | UInt32(v)
            k += 1
            if k == 4 {
                bytes.append(UInt8(truncatingIfNeeded: quad >> 16))
                bytes.append(UInt8(truncatingIfNeeded: quad >> 8))
                bytes.append(UInt8(truncatingIfNeeded: quad))
                quad = 0
                k = 0
            }
        }
        if k == 2 { bytes.append(UInt8(truncatingIfNeeded: quad >> 4)) }
        if k == 3 {
            bytes.append(UInt8(truncatingIfNeeded: quad >> 10))
            bytes.append(UInt8(truncatingIfNeeded: quad >> 2))
        }
    } else {
        var j = text.startIndex
        while j < text.endIndex {
            let c = text[j]
            if c == UInt8(ascii: "_") {
                bytes.append(32)
            } else if c == UInt8(ascii: "="), j + 2 < text.endIndex, let h = hexValue(text[j + 1]), let l = hexValue(text[j + 2]) {
                bytes.append(h << 4 | l)
                j += 2
            } else {
                bytes.append(c)
            }
            j += 1
        }
    }
    return (decodeCharset(bytes, charset), i + 2)
}

@inline(__always)
func base64Value(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x41...0x5A: return c - 0x41
    case 0x61...0x7A: return c - 0x61 + 26
    case 0x30...0x39: return c - 0x30 + 52
    case UInt8(ascii: "+"): return 62
    case UInt8(ascii: "/"): return 63
    default: return nil
    }
}

/// The address of a From header: inside the last `<...>`, or the first word with an `@`.
func extractAddress(_ header: String) -> String? {
    if let lt = header.lastIndex(of: "<") {
        let rest = header[header.index(after: lt)...]
        if let gt = rest.firstIndex(of: ">") {
            let a = rest[..<gt].trimmingCharacters()
            return a.contains("@") ? a : nil
        }
    }
    for word in header.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," || $0 == ";" }) where word.contains("@") {
        var w = Substring(word)
        while let c = w.first, c == "\"" || c == "(" || c == "'" { w = w.dropFirst() }
        while let c = w.last, c == "\"" || c == ")" || c == "'" { w = w.dropLast() }
        return String(w)
    }
    return nil
}

extension Substring {
    func trimmingCharacters() -> String {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return String(s)
    }
}

extension String {
    var trimmed: String { Substring(self).trimmingCharacters() }
}

/// A safe file name: the last path component, without control or bidi-formatting characters or characters that
/// are reserved on common file systems, without leading/trailing dots and spaces, at most 255 bytes (keeping the
/// extension). Empty results become `fallback`.
func sanitiseFilename(_ name: String, fallback: String) -> String {
    var s = Substring(name)
    if let sep = s.lastIndex(where: { $0 == "/" || $0 == "\\" }) { s = s[s.index(after: sep)...] }
    var scalars = String.UnicodeScalarView()
    for u in s.unicodeScalars {
        let v = u.value
        if v < 0x20 || (v >= 0x7F && v < 0xA0) { continue }  // control characters
        if (0x200B...0x200F).contains(v) || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
            || v == 0xFEFF || v == 0xFFFD
        {
            continue
        }  // invisible and bidi overrides
        if ":*?\"<>|".unicodeScalars.contains(u) {
            scalars.append("_")
            continue
        }
        scalars.append(u)
    }
    var out = Substring(String(scalars))
    while let c = out.first, c == "." || c == " " { out = out.dropFirst() }
    while let c = out.last, c == "." || c == " " { out = out.dropLast() }
    var result = out.isEmpty ? fallback : String(out)
    if result.utf8.count > 255 {
        var ext = ""
        if let dot = result.lastIndex(of: "."), result.utf8.distance(from: dot, to: result.endIndex) <= 16 {
            ext = String(result[dot...])
        }
        let budget = 255 - ext.utf8.count
        var stem = String.UnicodeScalarView()
        var used = 0
        for u in result.dropLast(ext.count).unicodeScalars {
            let len = String(u).utf8.count
            if used + len > budget { break }
            stem.append(u)
            used += len
        }
        result = String(stem) + ext
    }
    return result
}
