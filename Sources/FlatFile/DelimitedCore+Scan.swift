#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension DelimitedCore {
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
}
