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
