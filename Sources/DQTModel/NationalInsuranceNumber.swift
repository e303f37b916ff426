/// A UK National Insurance number, normalised (no spaces or hyphens, upper case) and validated by the rules that
/// the DQT exchanges use: `^[A-CEGHJ-PQR-TW-Z][A-CEGHJ-NPQR-TW-Z][0-9]{6}[A-DFMU]$`, with the prefixes BG, GB, KN,
/// NK, NT, TN and ZZ refused. The suffixes F, M, U and the prefix QQ occur in pensions data and are accepted.
///
/// The number is personal data: `description` masks it, so it cannot reach a log by interpolation.
public struct NationalInsuranceNumber: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Nine characters, e.g. `AB123456C`.
    public let normalized: String

    /// Normalises and validates; nil when the text is not a valid number.
    public init?(_ text: some StringProtocol) {
        let utf8 = ContiguousArray(text.utf8)
        guard let parsed = utf8.withUnsafeBufferPointer({ Self.parse($0) }) else { return nil }
        self = parsed
    }

    @usableFromInline
    init(uncheckedNormalized: String) { normalized = uncheckedNormalized }

    /// Parses a field's UTF-8 bytes: spaces and `-` removed, letters upper-cased, then the rules applied.
    @inlinable
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> NationalInsuranceNumber? {
        var chars: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        let ok = withUnsafeMutableBytes(of: &chars) { out -> Bool in
            for byte in bytes {
                if byte == 32 || byte == 45 || byte == 9 { continue }
                guard count < 9 else { return false }
                out[count] = ASCII.upper(byte)
                count += 1
            }
            guard count == 9,
                Rules.firstLetter(out[0]), Rules.secondLetter(out[1]),
                out[2...7].allSatisfy(ASCII.isDigit), Rules.suffix(out[8]),
                !Rules.refusedPrefix(out[0], out[1])
            else { return false }
            return true
        }
        guard ok else { return nil }
        let text = withUnsafeBytes(of: &chars) { String(decoding: $0, as: UTF8.self) }
        return NationalInsuranceNumber(uncheckedNormalized: text)
    }

    /// `AB 12 34 56 C`.
    public var displayForm: String {
        let c = Array(normalized)
        return "\(c[0])\(c[1]) \(c[2])\(c[3]) \(c[4])\(c[5]) \(c[6])\(c[7]) \(c[8])"
    }

    /// Masked: only the suffix letter shows.
    public var description: String { "********" + String(normalized.suffix(1)) }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = NationalInsuranceNumber(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a valid NI number"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(normalized)
    }

    @usableFromInline
    enum Rules {
        // [A-CEGHJ-PQR-TW-Z]: not D F I U V.
        @inlinable static func firstLetter(_ b: UInt8) -> Bool {
            ASCII.isUpper(b) && b != 68 && b != 70 && b != 73 && b != 85 && b != 86
        }
        // [A-CEGHJ-NPQR-TW-Z]: not D F I O U V.
        @inlinable static func secondLetter(_ b: UInt8) -> Bool { firstLetter(b) && b != 79 }
        // [A-DFMU]
        @inlinable static func suffix(_ b: UInt8) -> Bool { (b >= 65 && b <= 68) || b == 70 || b == 77 || b == 85 }
        // BG GB KN NK NT TN ZZ
        @inlinable static func refusedPrefix(_ a: UInt8, _ b: UInt8) -> Bool {
            switch (a, b) {
            case (66, 71), (71, 66), (75, 78), (78, 75), (78, 84), (84, 78), (90, 90): return true
            default: return false
            }
        }
    }
}
