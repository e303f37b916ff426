/// A Teacher Reference Number: exactly seven digits, leading zeros significant (`0001234`).
///
/// Legacy files bend this in two ways that ``parse(_:allowGenderDigit:padLeadingZeros:)`` undoes on request:
/// pensions files may append an eighth digit that is a gender code (1 male, 2 female), and some extracts trim
/// leading zeros.
public struct TRN: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// The seven digits.
    public let digits: String

    /// A strict TRN: seven ASCII digits, nothing else.
    public init?(_ text: some StringProtocol) {
        guard text.utf8.count == 7, text.utf8.allSatisfy(ASCII.isDigit) else { return nil }
        digits = String(text)
    }

    public var description: String { digits }
    public static func < (lhs: TRN, rhs: TRN) -> Bool { lhs.digits < rhs.digits }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let trn = TRN(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a TRN is 7 digits"))
        }
        self = trn
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(digits)
    }

    /// A TRN read from a legacy field, with the pensions gender digit when one was appended.
    public struct Parsed: Sendable, Equatable {
        public let trn: TRN
        public let genderDigit: UInt8?
        @inlinable public init(trn: TRN, genderDigit: UInt8?) {
            self.trn = trn
            self.genderDigit = genderDigit
        }
    }

    /// Why a legacy field is not a TRN.
    public enum ParseFailure: Error, Sendable, Equatable {
        case notDigits
        case wrongLength(Int)
        case badGenderDigit
    }

    /// Reads a TRN from a field's UTF-8 bytes.
    /// - Parameters:
    ///   - allowGenderDigit: accept eight digits whose last is 1 or 2 (the pensions gender code); that digit is returned.
    ///   - padLeadingZeros: accept one to six digits and pad them back to seven.
    @inlinable
    public static func parse(
        _ bytes: UnsafeBufferPointer<UInt8>, allowGenderDigit: Bool = false, padLeadingZeros: Bool = false
    ) -> Result<Parsed, ParseFailure> {
        for byte in bytes where !ASCII.isDigit(byte) { return .failure(.notDigits) }
        switch bytes.count {
        case 7:
            return .success(Parsed(trn: TRN(uncheckedDigits: bytes), genderDigit: nil))
        case 8 where allowGenderDigit:
            let gender = bytes[7]
            guard gender == UInt8(ascii: "1") || gender == UInt8(ascii: "2") else { return .failure(.badGenderDigit) }
            return .success(Parsed(trn: TRN(uncheckedDigits: UnsafeBufferPointer(rebasing: bytes[0..<7])), genderDigit: gender &- 48))
        case 1...6 where padLeadingZeros:
            let padded = String(repeating: "0", count: 7 - bytes.count) + String(decoding: bytes, as: UTF8.self)
            return .success(Parsed(trn: TRN(uncheckedDigits: padded), genderDigit: nil))
        default:
            return .failure(.wrongLength(bytes.count))
        }
    }

    @usableFromInline
    init(uncheckedDigits bytes: UnsafeBufferPointer<UInt8>) {
        digits = String(decoding: bytes, as: UTF8.self)
    }

    @usableFromInline
    init(uncheckedDigits text: String) {
        digits = text
    }
}

/// Byte classes used by the parsers; legacy files are read as UTF-8 bytes.
public enum ASCII {
    @inlinable public static func isDigit(_ byte: UInt8) -> Bool { byte &- 48 < 10 }
    @inlinable public static func isUpper(_ byte: UInt8) -> Bool { byte &- 65 < 26 }
    @inlinable public static func isLower(_ byte: UInt8) -> Bool { byte &- 97 < 26 }
    @inlinable public static func isSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 }
    @inlinable public static func upper(_ byte: UInt8) -> UInt8 { isLower(byte) ? byte &- 32 : byte }
}
