import Foundation

/// SplitMix64: a small seeded generator, so that every fuzz run can be repeated from its seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Seeded mutations of byte strings, for feeding readers inputs close to real files: bit flips, random bytes,
/// inserted tokens of the format (delimiters, quotes, line ends, BOMs, MIME boundaries), deleted, duplicated and
/// truncated runs, splices from other seeds, swapped lines and long runs of one character.
public struct ByteMutator: Sendable {
    /// Byte strings that matter to the reader under test.
    public var tokens: [[UInt8]]
    /// Whether random bytes may be NUL (a NUL makes most readers refuse the file as binary at once, so fuzzing the
    /// parsing itself leaves it out).
    public var allowsNUL: Bool
    /// The most edits one mutation makes.
    public var maximumEdits: Int

    public init(tokens: [[UInt8]], allowsNUL: Bool = false, maximumEdits: Int = 4) {
        precondition(!tokens.isEmpty && maximumEdits > 0)
        self.tokens = tokens
        self.allowsNUL = allowsNUL
        self.maximumEdits = maximumEdits
    }

    /// One mutation of `input`, drawing splices from `seeds`.
    public func mutate(_ input: [UInt8], seeds: [[UInt8]], using random: inout SplitMix64) -> [UInt8] {
        var bytes = input
        let lowestByte: UInt8 = allowsNUL ? 0 : 1
        for _ in 0..<Int.random(in: 1...maximumEdits, using: &random) {
            let position = Int.random(in: 0...bytes.count, using: &random)
            let inside = bytes.isEmpty ? 0 : min(position, bytes.count - 1)
            switch Int.random(in: 0..<10, using: &random) {
            case 0 where !bytes.isEmpty:
                bytes[inside] ^= UInt8(1) << UInt8.random(in: 0...7, using: &random)
            case 1 where !bytes.isEmpty:
                bytes[inside] = UInt8.random(in: lowestByte...255, using: &random)
            case 2:
                bytes.insert(contentsOf: tokens.randomElement(using: &random)!, at: position)
            case 3 where !bytes.isEmpty:
                bytes.removeSubrange(inside..<min(bytes.count, inside + Int.random(in: 1...64, using: &random)))
            case 4:
                bytes.removeSubrange(position...)
            case 5 where !bytes.isEmpty:
                let run = Array(bytes[inside..<min(bytes.count, inside + Int.random(in: 1...256, using: &random))])
                bytes.insert(contentsOf: run, at: position)
            case 6:
                guard let other = seeds.randomElement(using: &random), !other.isEmpty else { break }
                let start = Int.random(in: 0..<other.count, using: &random)
                bytes.insert(contentsOf: other[start..<min(other.count, start + Int.random(in: 1...400, using: &random))], at: position)
            case 7:
                var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
                guard lines.count > 2 else { break }
                lines.swapAt(Int.random(in: 0..<lines.count, using: &random), Int.random(in: 0..<lines.count, using: &random))
                bytes = Array(lines.joined(separator: [0x0A]))
            case 8:
                let filler = UInt8.random(in: 0x20...0x7E, using: &random)
                bytes.insert(contentsOf: repeatElement(filler, count: Int.random(in: 1...4000, using: &random)), at: position)
            default:
                bytes.insert(UInt8.random(in: lowestByte...255, using: &random), at: position)
            }
        }
        return bytes
    }
}

/// This process's resident set size in bytes (`VmRSS` in /proc/self/status), 0 where there is none.
/// Read with stdio: /proc files report a size of 0, which whole-file readers may take at its word.
public func residentBytes() -> Int {
    guard let file = fopen("/proc/self/status", "r") else { return 0 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix("VmRSS:") { return (Int(text.filter(\.isNumber)) ?? 0) * 1024 }
    }
    return 0
}
