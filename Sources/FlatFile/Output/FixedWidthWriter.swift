/// One column of a written fixed-width line.
public struct FixedWidthColumn: Sendable, Hashable {
    public enum Alignment: String, Sendable, Hashable { case left, right }
    public var name: String
    public var columns: ColumnRange
    /// `left`: the value starts at the first column and the padding follows; `right`: the padding comes first.
    public var alignment: Alignment
    public var pad: Unicode.Scalar
    /// A longer value is cut to the width (`true`) or refused (`false`, a `ValueTooLong` error).
    public var truncate: Bool

    public init(name: String, columns: ColumnRange, alignment: Alignment = .left, pad: Unicode.Scalar = " ", truncate: Bool = false) {
        self.name = name
        self.columns = columns
        self.alignment = alignment
        self.pad = pad
        self.truncate = truncate
    }
}

/// The columns of one record type; every character of the line belongs to exactly one column.
public struct FixedWidthLineFormat: Sendable, Hashable {
    public let lineLength: Int
    /// In column order.
    public let columns: [FixedWidthColumn]

    /// Throws the problems unless the columns cover 1...lineLength exactly once.
    public init(lineLength: Int, columns: [FixedWidthColumn]) throws(FixedWidthFormatProblems) {
        let problems = Self.problems(lineLength: lineLength, columns: columns.map(\.columns))
        guard problems.isEmpty else { throw FixedWidthFormatProblems(problems: problems.map(\.message)) }
        self.lineLength = lineLength
        self.columns = columns.sorted { $0.columns.first < $1.columns.first }
    }

    /// Overlaps, gaps and columns past the line's end, each with the index (in `columns`) of the column it is found
    /// at, as readable sentences (for `mappings lint`).
    public static func problems(lineLength: Int, columns: [ColumnRange]) -> [(column: Int, message: String)] {
        var problems: [(column: Int, message: String)] = []
        let sorted = columns.indices.sorted { columns[$0].first < columns[$1].first }
        var next = 1
        for index in sorted {
            let range = columns[index]
            if range.first > next { problems.append((index, "columns \(ColumnRange(first: next, last: range.first - 1)) are not declared")) }
            if range.first < next { problems.append((index, "columns \(range) overlap the columns before them")) }
            if range.last > lineLength { problems.append((index, "columns \(range) go past the line length \(lineLength)")) }
            next = max(next, range.last + 1)
        }
        if next <= lineLength, let last = sorted.last {
            problems.append((last, "columns \(ColumnRange(first: next, last: lineLength)) are not declared"))
        }
        return problems
    }
}

public struct FixedWidthFormatProblems: Error, Sendable, CustomStringConvertible {
    public var problems: [String]
    public var description: String { problems.joined(separator: "; ") }
}

/// A value wider than its column, or holding a line break, that the column may not cut; located by line and field.
public struct ValueDoesNotFit: Error, Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var field: String
    public var reason: String
    public var description: String { "line \(line), field \(field): \(reason)" }
}

/// Writes fixed-width lines, each in the format of its record type, padding or cutting every value to its column.
/// Widths count Unicode characters (scalars), as the fixed-width reader does.
public struct FixedWidthWriter<Sink: ByteSink> {
    var lines: LineWriter<Sink>

    public init(sink: Sink, encoding: TextEncoding, lineEnd: LineEnd = .crlf, finalNewline: Bool = true) {
        lines = LineWriter(sink: sink, encoding: encoding, lineEnd: lineEnd, finalNewline: finalNewline)
    }

    public var linesWritten: Int { lines.lines }

    /// The sink, with everything written so far (a memory sink's bytes, once finished).
    public var sink: Sink { lines.sink }

    /// Writes one line: `values[i]` fills `format.columns[i]`.
    public mutating func write(_ values: [String], as format: FixedWidthLineFormat) throws {
        precondition(values.count == format.columns.count, "one value per column")
        var parts: [(text: String, field: String)] = []
        parts.reserveCapacity(values.count)
        for (value, column) in zip(values, format.columns) {
            parts.append((try fit(value, column), column.name))
        }
        try lines.writeLine(parts)
    }

    public mutating func finish() throws -> Sink { try lines.finish() }

    func fit(_ value: String, _ column: FixedWidthColumn) throws -> String {
        let width = column.columns.width
        var scalars = value.unicodeScalars
        if scalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw ValueDoesNotFit(line: lines.lines + 1, field: column.name, reason: "a control character or line break cannot be written")
        }
        let count = scalars.count
        if count > width {
            guard column.truncate else {
                throw ValueDoesNotFit(line: lines.lines + 1, field: column.name, reason: "\(count) characters do not fit columns \(column.columns)")
            }
            scalars = String.UnicodeScalarView(scalars.prefix(width))
            return String(scalars)
        }
        if count == width { return value }
        let padding = String(repeating: Character(column.pad), count: width - count)
        return column.alignment == .left ? value + padding : padding + value
    }
}
