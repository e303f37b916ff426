// Encoding checks and transcoding to UTF-8, with an ASCII fast path.

/// Index of the first byte >= 0x80 in p[0..<n], or n.
@inline(__always)
func firstNonASCII(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
    var i = 0
    while i &+ 8 <= n {
        let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
        if w & 0x8080_8080_8080_8080 != 0 { break }
        i &+= 8
    }
    while i < n {
        if p[i] & 0x80 != 0 { return i }
        i &+= 1
    }
    return n
}

/// Index of the first byte that does not start or continue a valid UTF-8 sequence in p[0..<n] (overlongs,
/// surrogates, code points above U+10FFFF and truncated sequences are invalid), or nil when all of it is valid.
func firstInvalidUTF8(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int? {
    var i = firstNonASCII(p, n)
    while i < n {
        let b0 = p[i]
        if b0 < 0x80 {
            i &+= 1
            // Skip ASCII runs quickly.
            if i < n && p[i] < 0x80 { i &+= firstNonASCII(p + i, n &- i) }
            continue
        }
        @inline(__always) func cont(_ k: Int) -> Bool { k < n && p[k] & 0xC0 == 0x80 }
        if b0 >= 0xC2 && b0 <= 0xDF {
            guard cont(i + 1) else { return i }
            i &+= 2
        } else if b0 >= 0xE0 && b0 <= 0xEF {
            guard i + 1 < n else { return i }
            let b1 = p[i + 1]
            let lo: UInt8 = b0 == 0xE0 ? 0xA0 : 0x80
            let hi: UInt8 = b0 == 0xED ? 0x9F : 0xBF
            guard b1 >= lo && b1 <= hi, cont(i + 2) else { return i }
            i &+= 3
        } else if b0 >= 0xF0 && b0 <= 0xF4 {
            guard i + 1 < n else { return i }
            let b1 = p[i + 1]
            let lo: UInt8 = b0 == 0xF0 ? 0x90 : 0x80
            let hi: UInt8 = b0 == 0xF4 ? 0x8F : 0xBF
            guard b1 >= lo && b1 <= hi, cont(i + 2), cont(i + 3) else { return i }
            i &+= 4
        } else {
            return i
        }
    }
    return nil
}

/// Windows-1252 0x80...0x9F as Unicode scalars; 0 marks the five undefined bytes.
let windows1252High: [UInt16] = [
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
    0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
]

/// The Unicode scalar of a single-byte-encoding byte, or nil when the byte is undefined.
@inline(__always)
func singleByteScalar(_ b: UInt8, windows1252: Bool) -> UInt32? {
    if b < 0x80 || b >= 0xA0 || !windows1252 { return UInt32(b) }
    let s = windows1252High[Int(b &- 0x80)]
    return s == 0 ? nil : UInt32(s)
}

@inline(__always)
func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
    if scalar < 0x80 {
        out.append(UInt8(scalar))
    } else if scalar < 0x800 {
        out.append(UInt8(0xC0 | (scalar >> 6)))
        out.append(UInt8(0x80 | (scalar & 0x3F)))
    } else {
        out.append(UInt8(0xE0 | (scalar >> 12)))
        out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (scalar & 0x3F)))
    }
}

/// Index of the first byte undefined in the encoding (only Windows-1252 has any), or nil.
func firstUndefinedByte(_ p: UnsafePointer<UInt8>, _ n: Int, encoding: TextEncoding) -> Int? {
    guard encoding == .windows1252 else { return nil }
    for i in 0..<n {
        let b = p[i]
        if b == 0x81 || b == 0x8D || b == 0x8F || b == 0x90 || b == 0x9D { return i }
    }
    return nil
}

/// Appends p[0..<n] transcoded from a single-byte encoding to UTF-8 (undefined bytes become U+FFFD; callers
/// check `firstUndefinedByte` first).
func appendTranscoded(_ p: UnsafePointer<UInt8>, _ n: Int, encoding: TextEncoding, to out: inout [UInt8]) {
    let w = encoding == .windows1252
    var i = 0
    while i < n {
        let a = firstNonASCII(p + i, n - i)
        if a > 0 {
            out.append(contentsOf: UnsafeBufferPointer(start: p + i, count: a))
            i += a
            if i >= n { break }
        }
        appendUTF8(singleByteScalar(p[i], windows1252: w) ?? 0xFFFD, to: &out)
        i += 1
    }
}

/// Number of UTF-8 encoded characters (scalars) in valid UTF-8.
@inline(__always)
func utf8ScalarCount(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
    var c = 0
    for i in 0..<n where p[i] & 0xC0 != 0x80 { c &+= 1 }
    return c
}

/// Lossy UTF-8 text of raw bytes in the given encoding (for issue context).
func lossyText(_ p: UnsafePointer<UInt8>, _ n: Int, encoding: TextEncoding) -> String {
    if encoding == .utf8 { return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self) }
    var out: [UInt8] = []
    out.reserveCapacity(n)
    appendTranscoded(p, n, encoding: encoding, to: &out)
    return String(decoding: out, as: UTF8.self)
}
