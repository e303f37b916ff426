public import FeedMapping
import Foundation

/// Changes a mapping's `status:` line in place: only the value changes; every other byte of the file (comments,
/// quoting, line ends) stays as it was.
public enum MappingStatusEdit {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// `text` with its one top-level `status: <from>` line set to `to`.
    public static func replacing(in text: String, from: FeedStatus, to: FeedStatus, file: String) throws -> String {
        // Split on the LF scalar: as a Character "\r\n" is one grapheme and would never match "\n".
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String($0) }
        var found: [Int] = []
        for (index, line) in lines.enumerated() where line.hasPrefix("status:") { found.append(index) }
        guard found.count == 1, let index = found.first else {
            throw Failure(description: "\(file): expected one top-level 'status:' line, found \(found.count)")
        }
        let line = lines[index]
        let rest = line.dropFirst("status:".count)
        let leading = rest.prefix { $0 == " " || $0 == "\t" }
        var value = rest.dropFirst(leading.count)
        let quote = value.first.flatMap { $0 == "\"" || $0 == "'" ? $0 : nil }
        if quote != nil { value = value.dropFirst() }
        let word = value.prefix { $0.isLetter }
        guard word == from.rawValue else {
            throw Failure(description: "\(file):\(index + 1): the status is '\(word)', not '\(from.rawValue)' (the mapping changed meanwhile?)")
        }
        let tail = value.dropFirst(word.count)
        lines[index] = "status:" + String(leading) + (quote.map { String($0) } ?? "") + to.rawValue + String(tail)
        return lines.joined(separator: "\n")
    }

    /// Rewrites `file` through a temporary file renamed over it, so a crash leaves the old or the new mapping whole.
    public static func apply(file: String, from: FeedStatus, to: FeedStatus) throws -> (before: String, after: String) {
        let before = try String(contentsOfFile: file, encoding: .utf8)
        let after = try replacing(in: before, from: from, to: to, file: file)
        try write(after, to: file)
        return (before, after)
    }

    static func write(_ text: String, to file: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
    }
}
