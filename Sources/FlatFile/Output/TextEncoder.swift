/// A character the target encoding has no byte for, located by output line, field and character position. The
/// character itself is named only by its code point: the text around it may be personal data.
public struct UnencodableCharacter: Error, Sendable, Hashable, CustomStringConvertible {
    /// 1-based output line.
    public var line: Int
    public var field: String
    /// 1-based character position within the field's value.
    public var position: Int
    public var codePoint: UInt32
    public var encoding: TextEncoding

    public var description: String {
        let hex = String(codePoint, radix: 16, uppercase: true)
        let code = String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        return "line \(line), field \(field), character \(position): U+\(code) cannot be written in \(encoding.rawValue) (encoding-error)"
    }
}

/// Why a value could not be encoded, before the writer adds the line and field.
struct EncodeFailure: Error {
    var position: Int
    var codePoint: UInt32
}

extension TextEncoding {
    /// Appends `text` in this encoding. Throws at the first character the encoding cannot hold.
    func append(_ text: String, to out: inout [UInt8]) throws(EncodeFailure) {
        if self == .utf8 {
            out.append(contentsOf: text.utf8)
            return
        }
        var position = 0
        for scalar in text.unicodeScalars {
            position += 1
            guard let byte = singleByte(scalar.value) else { throw EncodeFailure(position: position, codePoint: scalar.value) }
            out.append(byte)
        }
    }

    /// The byte for a code point in a single-byte encoding, or nil.
    func singleByte(_ value: UInt32) -> UInt8? {
        if value < 0x80 || (value >= 0xA0 && value <= 0xFF) { return UInt8(value) }
        switch self {
        case .utf8: return nil
        case .iso8859_1: return value <= 0xFF ? UInt8(value) : nil
        case .windows1252:
            guard let index = windows1252High.firstIndex(of: UInt16(truncatingIfNeeded: value)), value <= 0xFFFF, value != 0 else { return nil }
            return UInt8(0x80 + index)
        }
    }
}

/// How lines end in a written file.
public enum LineEnd: String, Sendable, CaseIterable {
    case crlf
    case lf

    var bytes: [UInt8] { self == .crlf ? [13, 10] : [10] }
}
