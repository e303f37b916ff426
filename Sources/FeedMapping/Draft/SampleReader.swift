import DQTModel
import FlatFile
import Foundation

/// The first rows of a sample delimited file, with what was guessed about its layout: encoding (a byte-order mark,
/// else UTF-8 when every byte read is valid UTF-8, else Windows-1252), delimiter (`,` `;` `|` or tab: the one that
/// splits the first lines into the same number of cells, more than one) and header.
///
/// Reads at most `maxRows` rows and `maxBytes` bytes, however large the file: a sample is only looked at.
struct SampleTable {
    var encoding: TextEncoding
    var hasByteOrderMark: Bool
    var delimiter: UInt8
    var hasHeader: Bool
    /// Empty without a header.
    var header: [String]
    var rows: [[String]]
    /// True when the file has more than was read.
    var truncated: Bool

    static let delimiters: [UInt8] = [UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "|"), 9]

    static func read(path: String, maxRows: Int = 1000, maxBytes: Int = 8 << 20) throws -> SampleTable {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw DraftError("cannot open \(path): \(FileProblem.reading(file: path) ?? "unreadable")")
        }
        defer { try? handle.close() }
        var bytes: [UInt8] = []
        var lines = 0
        var truncated = false
        while lines <= maxRows + 1 {
            let chunk = handle.readData(ofLength: 64 << 10)
            if chunk.isEmpty { break }
            lines += chunk.reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
            bytes.append(contentsOf: chunk)
            if bytes.count >= maxBytes {
                truncated = true
                break
            }
        }
        if lines > maxRows + 1 { truncated = true }
        let hasBOM = bytes.starts(with: [0xEF, 0xBB, 0xBF])
        if hasBOM { bytes.removeFirst(3) }
        // A multi-byte character may be cut at the end of what was read: judged on whole lines only.
        let whole = truncated ? bytes[..<(bytes.lastIndex(of: 10) ?? bytes.endIndex)] : bytes[...]
        let isUTF8 = String(validating: whole, as: UTF8.self) != nil
        let text =
            isUTF8
            ? String(decoding: whole, as: UTF8.self)
            : String(data: Data(whole), encoding: .windowsCP1252) ?? String(decoding: whole, as: UTF8.self)
        let physical = text.split(omittingEmptySubsequences: true) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }.map(String.init)
        guard !physical.isEmpty else { throw DraftError("the sample is empty") }
        let delimiter = guessDelimiter(Array(physical.prefix(20)))
        var records = physical.prefix(maxRows + 1).map { Self.split($0, delimiter: delimiter) }
        // A first line with a cell that reads as a value (digits, a date) is data: the columns are then numbered.
        let hasHeader = !records[0].contains { cell in cell.first.map { $0.isNumber } ?? false }
        let header = hasHeader ? records.removeFirst() : []
        return SampleTable(
            encoding: isUTF8 ? .utf8 : .windows1252, hasByteOrderMark: hasBOM, delimiter: delimiter, hasHeader: hasHeader, header: header,
            rows: records, truncated: truncated)
    }

    /// The delimiter that splits the lines into the most cells consistently (the same count on most lines).
    static func guessDelimiter(_ lines: [String]) -> UInt8 {
        var best: (delimiter: UInt8, score: Int) = (UInt8(ascii: ","), 0)
        for delimiter in delimiters {
            let counts = lines.map { Self.split($0, delimiter: delimiter).count }
            guard let first = counts.first, first > 1 else { continue }
            let score = counts.filter { $0 == first }.count * 100 + first
            if score > best.score { best = (delimiter, score) }
        }
        return best.delimiter
    }

    /// One line's cells; `"` quotes a cell (a doubled quote inside is one quote). Cells are trimmed.
    static func split(_ line: String, delimiter: UInt8) -> [String] {
        var cells: [String] = []
        var cell: [UInt8] = []
        var quoted = false
        var bytes = Array(line.utf8).makeIterator()
        var pending = bytes.next()
        while let byte = pending {
            pending = bytes.next()
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    if pending == UInt8(ascii: "\"") {
                        cell.append(byte)
                        pending = bytes.next()
                    } else {
                        quoted = false
                    }
                } else {
                    cell.append(byte)
                }
            } else if byte == UInt8(ascii: "\"") {
                quoted = true
            } else if byte == delimiter {
                cells.append(String(decoding: cell, as: UTF8.self).trimmingCharacters(in: .whitespaces))
                cell.removeAll()
            } else {
                cell.append(byte)
            }
        }
        cells.append(String(decoding: cell, as: UTF8.self).trimmingCharacters(in: .whitespaces))
        return cells
    }
}

/// A sample that cannot be drafted from.
public struct DraftError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
