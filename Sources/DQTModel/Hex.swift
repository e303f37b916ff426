/// Lower-case hexadecimal text of bytes (digests, keys), written byte by byte: `String(format: "%02x")` costs about a
/// microsecond a byte.
public enum Hex {
    /// Two digits a byte, most significant first: `[0x0f, 0xa0]` is `0fa0`.
    public static func lowercase(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        // A digest's sequence does not tell its length: room for SHA-256's 64 digits without growing.
        out.reserveCapacity(max(bytes.underestimatedCount * 2, 64))
        for byte in bytes {
            out.append(digit(byte >> 4))
            out.append(digit(byte & 0x0F))
        }
        return String(decoding: out, as: UTF8.self)
    }

    @inline(__always)
    private static func digit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") - 10 + nibble
    }
}
