#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

enum TransferEncoding { case identity, base64, quotedPrintable }

/// base64 character values; 64 = whitespace (skipped), 65 = '=', 255 = not base64.
let base64Table: [UInt8] = {
    var t = [UInt8](repeating: 255, count: 256)
    for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { t[Int(c)] = UInt8(i) }
    for c in [32, 9, 13, 10] { t[c] = 64 }
    t[Int(UInt8(ascii: "="))] = 65
    return t
}()

/// Streaming base64: whitespace anywhere, padding, concatenated encodings; anything else is an error.
struct Base64Decoder {
    var quad: UInt32 = 0
    var count = 0
    var padding = 0
    var writeFailure: MailError?

    /// False on a character that is not base64 (or a failed write, kept in `writeFailure`).
    mutating func feed(_ input: UnsafeBufferPointer<UInt8>, to sink: PartSink) -> Bool {
        let block = 48 << 10
        var start = 0
        while start < input.count {
            let end = min(input.count, start + block)
            let ok = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: block / 4 * 3 + 8) { out -> Bool in
                var o = 0
                var q = quad
                var c = count
                var pad = padding
                var valid = true
                base64Table.withUnsafeBufferPointer { t in
                    var i = start
                    while i < end {
                        let v = t[Int(input[i])]
                        i &+= 1
                        if v < 64 {
                            q = q << 6 | UInt32(v)
                            c &+= 1
                            pad = 0
                            if c == 4 {
                                out[o] = UInt8(truncatingIfNeeded: q >> 16)
                                out[o &+ 1] = UInt8(truncatingIfNeeded: q >> 8)
                                out[o &+ 2] = UInt8(truncatingIfNeeded: q)
                                o &+= 3
                                q = 0
                                c = 0
                            }
                        } else if v == 64 {
                            continue
                        } else if v == 65 {
                            // Padding: after two or three characters of a group, or a second '=' after two.
                            guard c >= 2 || (c == 0 && pad == 1) else {
                                valid = false
                                return
                            }
                            pad += 1
                            if c >= 2 {
                                let w = q << (6 * UInt32(4 - c))
                                out[o] = UInt8(truncatingIfNeeded: w >> 16)
                                o &+= 1
                                if c == 3 {
                                    out[o] = UInt8(truncatingIfNeeded: w >> 8)
                                    o &+= 1
                                }
                                q = 0
                                c = 0
                            }
                        } else {
                            valid = false
                            return
                        }
                    }
                }
                quad = q
                count = c
                padding = pad
                do throws(MailError) {
                    try sink.write(UnsafeBufferPointer(rebasing: out[0..<o]))
                } catch {
                    writeFailure = error
                    return false
                }
                return valid
            }
            if !ok { return false }
            start = end
        }
        return true
    }

    /// At the end of the part: a group of one character is truncated; two or three without padding are accepted.
    mutating func finish(to sink: PartSink) -> Bool {
        switch count {
        case 0: return true
        case 1: return false
        default:
            let w = quad << (6 * UInt32(4 - count))
            do {
                try sink.write(UInt8(truncatingIfNeeded: w >> 16))
                if count == 3 { try sink.write(UInt8(truncatingIfNeeded: w >> 8)) }
            } catch {
                writeFailure = error
                return false
            }
            count = 0
            return true
        }
    }
}
