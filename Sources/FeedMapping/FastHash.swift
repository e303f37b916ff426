/// A fast 64-bit hash of short byte strings, for fingerprints and value counting where SipHash's per-call seeding
/// would dominate: eight bytes at a time, each folded in with a full-width multiply (as wyhash does), then a final
/// avalanche. Not for untrusted hash tables that an attacker could flood: both users bound their tables.
@usableFromInline
struct FastHash {
    @usableFromInline var state: UInt64 = 0x243F_6A88_85A3_08D3

    @inlinable init() {}

    @inlinable static func fold(_ value: UInt64, _ multiplier: UInt64) -> UInt64 {
        let product = value.multipliedFullWidth(by: multiplier)
        return product.high ^ product.low
    }

    @inlinable mutating func combine(_ bytes: UnsafeBufferPointer<UInt8>) {
        var state = self.state
        var index = 0
        if let base = bytes.baseAddress {
            while index &+ 8 <= bytes.count {
                state = Self.fold(state ^ UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self), 0x9E37_79B9_7F4A_7C15)
                index &+= 8
            }
        }
        // The last 0-7 bytes, with their count in the top byte: "a" and "a\0" differ.
        var tail = UInt64(truncatingIfNeeded: bytes.count &- index) << 56
        var shift: UInt64 = 0
        while index < bytes.count {
            tail |= UInt64(bytes[index]) << shift
            shift &+= 8
            index &+= 1
        }
        self.state = Self.fold(state ^ tail, 0xD6E8_FEB8_6659_FD93)
    }

    @inlinable mutating func combine(separator: UInt8) {
        state = Self.fold(state ^ UInt64(separator), 0xA076_1D64_78BD_642F)
    }

    @inlinable func finalize() -> UInt64 {
        var x = state
        x ^= x >> 33
        x = x &* 0xff51_afd7_ed55_8ccd
        x ^= x >> 33
        x = x &* 0xc4ce_b9fe_1a85_ec53
        x ^= x >> 33
        return x == 0 ? 1 : x
    }

    @inlinable static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hasher = FastHash()
        hasher.combine(bytes)
        return hasher.finalize()
    }
}

/// Counts distinct short values by their bytes' 64-bit hash, creating a `String` only for a value seen for the
/// first time. Once `limit` distinct values are seen the field is not a coded one (TRNs, dates, e-mails) and
/// counting stops: its top values would mean nothing, and counting them would cost every row.
struct ValueCounter {
    private var slots: [Int32]  // index into entries, or -1
    private var hashes: [UInt64] = []
    private(set) var values: [String] = []
    private(set) var counts: [Int] = []
    /// True once more than `limit` distinct values were seen.
    private(set) var saturated = false
    let limit: Int

    init(limit: Int) {
        self.limit = limit
        var size = 16
        while size < limit * 2 { size *= 2 }
        slots = [Int32](repeating: -1, count: size)
    }

    mutating func count(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard !saturated else { return }
        add(hash: FastHash.hash(bytes), count: 1) { String(decoding: bytes, as: UTF8.self) }
    }

    /// Adds another counter's values (one thread's share of a file): saturated when the two together hold more
    /// than `limit` distinct values, as one counter fed every row would be.
    mutating func merge(_ other: ValueCounter) {
        if other.saturated { saturated = true }
        for entry in other.values.indices where !saturated {
            add(hash: other.hashes[entry], count: other.counts[entry]) { other.values[entry] }
        }
    }

    private mutating func add(hash: UInt64, count: Int, value: () -> String) {
        let mask = slots.count - 1
        var index = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = Int(slots[index])
            if entry < 0 { break }
            if hashes[entry] == hash {
                counts[entry] += count
                return
            }
            index = (index + 1) & mask
        }
        guard values.count < limit else {
            saturated = true
            return
        }
        slots[index] = Int32(values.count)
        hashes.append(hash)
        values.append(value())
        counts.append(count)
    }
}
