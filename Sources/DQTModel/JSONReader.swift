import Foundation

/// A strict RFC 8259 reader over UTF-8 bytes, for hot paths (dqt-api's batch endpoint, the bridge's change feed). It
/// vouches only for input that Foundation's `JSONDecoder` is sure to read the same way: anything else (not JSON, invalid UTF-8, an unpaired
/// surrogate escape, an escaped, non-ASCII or repeated key, a number other than a short integer, nesting deeper than
/// ``maximumDepth``, an object of more than ``maximumKeys`` members) throws ``Unsure``, and the caller falls back to
/// the Codable path, which answers as the reference path does (with its error messages).
package struct JSONReader {
    /// The input is not one this reader vouches for.
    package struct Unsure: Error {
        package init() {}
    }

    package enum Value {
        case string(Range<Int>, escaped: Bool)
        /// An integer of at most 15 digits, without fraction or exponent (so every decoder reads it exactly).
        case integer(Range<Int>)
        case bool(Bool)
        case null
        /// An object or array, checked and skipped.
        case composite
    }

    package static let maximumDepth = 64
    /// Repeated keys are looked for pairwise; wider objects are left to `JSONDecoder`.
    package static let maximumKeys = 64

    package let bytes: UnsafeBufferPointer<UInt8>
    package private(set) var position: Int

    package init(_ bytes: UnsafeBufferPointer<UInt8>, at position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    // MARK: Structure

    package mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    /// Only whitespace is left.
    package mutating func end() throws(Unsure) {
        skipWhitespace()
        guard position == bytes.count else { throw Unsure() }
    }

    package mutating func enterObject() throws(Unsure) { try expect(UInt8(ascii: "{")) }
    package mutating func enterArray() throws(Unsure) { try expect(UInt8(ascii: "[")) }

    /// The next member's key (the reader is then at its value), or nil past the object's `}`. `count` is how many
    /// members came before.
    package mutating func nextKey(after count: Int) throws(Unsure) -> Range<Int>? {
        guard try next(after: count, closing: UInt8(ascii: "}")) else { return nil }
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw Unsure() }
        let (key, escaped) = try string()
        guard !escaped else { throw Unsure() }
        try expect(UInt8(ascii: ":"))
        return key
    }

    /// Whether another element follows (the reader is then at it); false past the array's `]`.
    package mutating func nextElement(after count: Int) throws(Unsure) -> Bool {
        try next(after: count, closing: UInt8(ascii: "]"))
    }

    /// An object whose members `member` knows, each at most once: `member` reads the value of the member `key` names
    /// and returns the member's number (0..<32), or throws for a key it does not know. Returns the members seen, bit
    /// `1 << number` for each.
    @discardableResult
    package mutating func members(_ member: (inout JSONReader, _ key: Range<Int>) throws(Unsure) -> Int) throws(Unsure) -> UInt32 {
        try enterObject()
        var seen: UInt32 = 0
        var count = 0
        while let key = try nextKey(after: count) {
            count += 1
            let bit: UInt32 = try 1 << member(&self, key)
            guard seen & bit == 0 else { throw Unsure() }
            seen |= bit
        }
        return seen
    }

    /// The value at the reader, objects and arrays checked and skipped; `depth` is how deep the value sits.
    package mutating func value(depth: Int) throws(Unsure) -> Value {
        skipWhitespace()
        guard position < bytes.count else { throw Unsure() }
        switch bytes[position] {
        case UInt8(ascii: "\""):
            let (range, escaped) = try string()
            return .string(range, escaped: escaped)
        case UInt8(ascii: "{"):
            try skipObject(depth: depth + 1)
            return .composite
        case UInt8(ascii: "["):
            try skipArray(depth: depth + 1)
            return .composite
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .integer(try integer())
        default:
            throw Unsure()
        }
    }

    /// An escape-free string, or nil for `null`.
    package mutating func plainString(orNull: Bool = false) throws(Unsure) -> String? {
        switch try value(depth: 0) {
        case .string(let range, escaped: false): return text(range)
        case .null where orNull: return nil
        default: throw Unsure()
        }
    }

    // MARK: Reading what was found

    package func isKey(_ range: Range<Int>, _ name: StaticString) -> Bool {
        range.count == name.utf8CodeUnitCount && memcmp(bytes.baseAddress! + range.lowerBound, name.utf8Start, range.count) == 0
    }

    /// The text of an escape-free string's range (already checked to be UTF-8).
    package func text(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// The text of a string's range (already checked), its escapes decoded.
    package func string(_ range: Range<Int>, escaped: Bool) -> String {
        guard escaped else { return text(range) }
        var scalars = String.UnicodeScalarView()
        var utf8: [UInt8] = []
        var index = range.lowerBound
        func flush() {
            if !utf8.isEmpty { scalars.append(contentsOf: String(decoding: utf8, as: UTF8.self).unicodeScalars) }
            utf8.removeAll(keepingCapacity: true)
        }
        while index < range.upperBound {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "\\") else {
                utf8.append(byte)
                index += 1
                continue
            }
            flush()
            let code = bytes[index + 1]
            index += 2
            switch code {
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                var unit = UInt32(hexValue(at: index))
                index += 4
                if (0xD800...0xDBFF).contains(unit) {
                    unit = 0x10000 + (unit - 0xD800) << 10 + (UInt32(hexValue(at: index + 2)) - 0xDC00)
                    index += 6
                }
                scalars.append(Unicode.Scalar(unit) ?? "\u{FFFD}")
            default: scalars.append(Unicode.Scalar(code))
            }
        }
        flush()
        return String(scalars)
    }

    package func integerValue(_ range: Range<Int>) -> Int {
        var value = 0
        for byte in bytes[range] where byte != UInt8(ascii: "-") { value = value * 10 + Int(byte - UInt8(ascii: "0")) }
        return bytes[range.lowerBound] == UInt8(ascii: "-") ? -value : value
    }

    // MARK: Tokens

    private mutating func expect(_ byte: UInt8) throws(Unsure) {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == byte else { throw Unsure() }
        position += 1
    }

    /// Past a `,` (or, for the first member, nothing) to the next member: false past the closing byte.
    private mutating func next(after count: Int, closing: UInt8) throws(Unsure) -> Bool {
        skipWhitespace()
        guard position < bytes.count else { throw Unsure() }
        if bytes[position] == closing {
            position += 1
            return false
        }
        if count > 0 {
            guard bytes[position] == UInt8(ascii: ",") else { throw Unsure() }
            position += 1
            skipWhitespace()
        }
        return true
    }

    private mutating func skipObject(depth: Int) throws(Unsure) {
        guard depth <= Self.maximumDepth else { throw Unsure() }
        try enterObject()
        var keys: [Range<Int>] = []
        while let key = try nextKey(after: keys.count) {
            // Swift compares keys up to canonical equivalence: only ASCII keys are equal exactly when their bytes are.
            guard keys.count < Self.maximumKeys, bytes[key].allSatisfy({ $0 < 0x80 }), !keys.contains(where: { same($0, key) })
            else { throw Unsure() }
            keys.append(key)
            _ = try value(depth: depth)
        }
    }

    private mutating func skipArray(depth: Int) throws(Unsure) {
        guard depth <= Self.maximumDepth else { throw Unsure() }
        try enterArray()
        var count = 0
        while try nextElement(after: count) {
            _ = try value(depth: depth)
            count += 1
        }
    }

    private func same(_ a: Range<Int>, _ b: Range<Int>) -> Bool {
        a.count == b.count && memcmp(bytes.baseAddress! + a.lowerBound, bytes.baseAddress! + b.lowerBound, a.count) == 0
    }

    private mutating func literal(_ word: StaticString) throws(Unsure) {
        guard bytes.count - position >= word.utf8CodeUnitCount,
            memcmp(bytes.baseAddress! + position, word.utf8Start, word.utf8CodeUnitCount) == 0
        else { throw Unsure() }
        position += word.utf8CodeUnitCount
    }

    /// `-? (0 | [1-9][0-9]*)` of at most 15 digits, not `-0`; a fraction or exponent is left to `JSONDecoder`.
    private mutating func integer() throws(Unsure) -> Range<Int> {
        let start = position
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        let digitsStart = position
        while position < bytes.count, bytes[position] &- UInt8(ascii: "0") < 10 { position += 1 }
        let digits = position - digitsStart
        guard digits > 0, digits <= 15, bytes[digitsStart] != UInt8(ascii: "0") || digits == 1 else { throw Unsure() }
        if digits == 1 && bytes[digitsStart] == UInt8(ascii: "0") && digitsStart > start { throw Unsure() }
        if position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): throw Unsure()
            default: break
            }
        }
        return start..<position
    }

    /// At `"`: the string's content range (without quotes) and whether it holds escapes, UTF-8 checked.
    private mutating func string() throws(Unsure) -> (Range<Int>, escaped: Bool) {
        position += 1
        let start = position
        var escaped = false
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return (start..<position - 1, escaped)
            case UInt8(ascii: "\\"):
                escaped = true
                try escape()
            case ..<0x20:
                throw Unsure()
            case ..<0x80:
                position += 1
            default:
                try scalar(lead: byte)
            }
        }
        throw Unsure()
    }

    /// At `\`: one escape; a `\u` surrogate must be a high one followed by a low one.
    private mutating func escape() throws(Unsure) {
        guard position + 1 < bytes.count else { throw Unsure() }
        switch bytes[position + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            position += 2
        case UInt8(ascii: "u"):
            let unit = try hex4(at: position + 2)
            position += 6
            switch unit {
            case 0xD800...0xDBFF:
                guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u"),
                    (0xDC00...0xDFFF).contains(try hex4(at: position + 2))
                else { throw Unsure() }
                position += 6
            case 0xDC00...0xDFFF:
                throw Unsure()
            default:
                break
            }
        default:
            throw Unsure()
        }
    }

    /// Four hex digits already checked by ``hex4(at:)``.
    private func hexValue(at start: Int) -> UInt16 {
        (try? hex4(at: start)) ?? 0
    }

    private func hex4(at start: Int) throws(Unsure) -> UInt16 {
        guard start + 4 <= bytes.count else { throw Unsure() }
        var value: UInt16 = 0
        for byte in bytes[start..<start + 4] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw Unsure()
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    /// One multi-byte UTF-8 scalar (Unicode table 3-7: no overlong forms, surrogates or values past U+10FFFF).
    private mutating func scalar(lead: UInt8) throws(Unsure) {
        let length: Int
        var second: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            second = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            second = 0x80...0x9F
        case 0xF0:
            length = 4
            second = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            second = 0x80...0x8F
        default: throw Unsure()
        }
        guard position + length <= bytes.count, second.contains(bytes[position + 1]) else { throw Unsure() }
        for offset in 2..<length where bytes[position + offset] & 0xC0 != 0x80 { throw Unsure() }
        position += length
    }
}
