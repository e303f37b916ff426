/// How a delimited writer quotes fields (RFC 4180).
public enum Quoting: String, Sendable, CaseIterable {
    /// Only fields holding the delimiter, a quote, CR or LF (or starting or ending with a space) are quoted.
    case minimal
    /// Every field is quoted.
    case all
}

/// Writes delimited rows: an optional header, then one row per call, quoted per RFC 4180 (a quote inside a quoted
/// field is doubled). Rows are written as they come; nothing but the current row is held.
public struct DelimitedWriter<Sink: ByteSink> {
    var lines: LineWriter<Sink>
    public let columns: [String]
    let delimiter: String
    let quoting: Quoting

    /// Writes the header row at once when `header` is true.
    public init(
        sink: Sink, columns: [String], header: Bool = true, delimiter: Unicode.Scalar = ",", quoting: Quoting = .minimal,
        encoding: TextEncoding = .utf8, lineEnd: LineEnd = .crlf, finalNewline: Bool = true
    ) throws {
        precondition(delimiter != "\"" && delimiter != "\r" && delimiter != "\n", "a delimiter cannot be a quote or a line break")
        lines = LineWriter(sink: sink, encoding: encoding, lineEnd: lineEnd, finalNewline: finalNewline)
        self.columns = columns
        self.delimiter = String(Character(delimiter))
        self.quoting = quoting
        if header { try write(columns, fields: columns.map { _ in "header" }) }
    }

    public var linesWritten: Int { lines.lines }

    /// The sink, with everything written so far (a memory sink's bytes, once finished).
    public var sink: Sink { lines.sink }

    /// Writes one row: `values[i]` under `columns[i]`.
    public mutating func write(_ values: [String]) throws {
        precondition(values.count == columns.count, "one value per column")
        try write(values, fields: columns)
    }

    public mutating func finish() throws -> Sink { try lines.finish() }

    mutating func write(_ values: [String], fields: [String]) throws {
        var parts: [(text: String, field: String)] = []
        parts.reserveCapacity(values.count * 2)
        for (index, value) in values.enumerated() {
            if index > 0 { parts.append((delimiter, "delimiter")) }
            parts.append((quoted(value), fields[index]))
        }
        try lines.writeLine(parts)
    }

    func quoted(_ value: String) -> String {
        let needsQuotes =
            quoting == .all
            || value.unicodeScalars.contains { $0 == "\"" || $0 == "\r" || $0 == "\n" || String($0) == delimiter }
            || value.hasPrefix(" ") || value.hasSuffix(" ")
        guard needsQuotes else { return value }
        var result = String.UnicodeScalarView()
        result.append("\"")
        for scalar in value.unicodeScalars {
            if scalar == "\"" { result.append("\"") }
            result.append(scalar)
        }
        result.append("\"")
        return String(result)
    }
}
