// Exact decimal sums for control totals.

/// A decimal number as an Int128 scaled by 10^9 (exact for the amounts legacy trailers carry).
struct ControlSum: Equatable, CustomStringConvertible {
    static let scaleDigits = 9
    var scaled: Int128 = 0
    var overflow = false

    /// Parses `[+-]digits[.digits]` (spaces trimmed by the caller); nil when not a plain decimal.
    static func parse(_ b: UnsafeBufferPointer<UInt8>) -> Int128? {
        var i = 0
        var negative = false
        if i < b.count && (b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+")) {
            negative = b[i] == UInt8(ascii: "-")
            i += 1
        }
        var value: Int128 = 0
        var digits = 0
        var fraction = -1
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: ".") {
                guard fraction < 0 else { return nil }
                fraction = 0
            } else if c >= 0x30 && c <= 0x39 {
                if fraction >= 0 {
                    if fraction >= scaleDigits {
                        i += 1
                        continue
                    }  // beyond the scale: ignored
                    fraction += 1
                }
                digits += 1
                guard digits <= 28 else { return nil }
                value = value * 10 + Int128(c - 0x30)
            } else {
                return nil
            }
            i += 1
        }
        guard digits > 0 else { return nil }
        var f = max(fraction, 0)
        while f < scaleDigits {
            value *= 10
            f += 1
        }
        return negative ? -value : value
    }

    mutating func add(_ v: Int128) {
        let (r, o) = scaled.addingReportingOverflow(v)
        if o { overflow = true } else { scaled = r }
    }

    var description: String { ControlSum.format(scaled) }

    static func format(_ v: Int128) -> String {
        let neg = v < 0
        let m = neg ? -v : v
        var p: Int128 = 1
        for _ in 0..<scaleDigits { p *= 10 }
        let whole = m / p
        var frac = String(m % p)
        frac = String(repeating: "0", count: scaleDigits - frac.count) + frac
        while frac.hasSuffix("0") { frac.removeLast() }
        return (neg ? "-" : "") + String(whole) + (frac.isEmpty ? "" : "." + frac)
    }
}

/// Parses a non-negative record count (digits only, at most 18).
func parseCount(_ b: UnsafeBufferPointer<UInt8>) -> Int? {
    guard b.count > 0 && b.count <= 18 else { return nil }
    var v = 0
    for c in b {
        guard c >= 0x30 && c <= 0x39 else { return nil }
        v = v * 10 + Int(c - 0x30)
    }
    return v
}
