/// Writes lines of text to a sink in one encoding with one line end: the part every flat-file writer shares.
///
/// With `finalNewline` every line, the last included, ends with the line end; without it the line end separates
/// lines, so the file ends with the last character of the last line. One line is built at a time.
public struct LineWriter<Sink: ByteSink> {
    public private(set) var sink: Sink
    public let encoding: TextEncoding
    public let lineEnd: LineEnd
    public let finalNewline: Bool
    /// Lines written so far.
    public private(set) var lines = 0
    var line: [UInt8] = []

    public init(sink: Sink, encoding: TextEncoding, lineEnd: LineEnd, finalNewline: Bool) {
        self.sink = sink
        self.encoding = encoding
        self.lineEnd = lineEnd
        self.finalNewline = finalNewline
    }

    /// Writes one line made of `parts` (text, and the field each part comes from for errors). Nothing of the line
    /// is written when a part cannot be encoded.
    public mutating func writeLine(_ parts: [(text: String, field: String)]) throws {
        line.removeAll(keepingCapacity: true)
        if lines > 0 && !finalNewline { line.append(contentsOf: lineEnd.bytes) }
        for part in parts {
            do {
                try encoding.append(part.text, to: &line)
            } catch {
                throw UnencodableCharacter(
                    line: lines + 1, field: part.field, position: error.position, codePoint: error.codePoint, encoding: encoding)
            }
        }
        if finalNewline { line.append(contentsOf: lineEnd.bytes) }
        try sink.write(line)
        lines += 1
    }

    /// Finishes the sink and hands it back.
    public mutating func finish() throws -> Sink {
        try sink.finish()
        return sink
    }
}
