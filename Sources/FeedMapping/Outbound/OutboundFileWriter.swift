import Crypto
import DQTModel
public import FlatFile

/// A sink that passes bytes on and keeps their count and running SHA-256, so a written file's digest needs no
/// second read.
public struct DigestingSink<Base: ByteSink>: ByteSink {
    public private(set) var base: Base
    public private(set) var size: Int64 = 0
    var hasher = SHA256()

    public init(_ base: Base) { self.base = base }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        try base.write(bytes)
        hasher.update(bufferPointer: bytes)
        size += Int64(bytes.count)
    }

    public mutating func finish() throws { try base.finish() }

    /// Lowercase hex SHA-256 of everything written.
    public var sha256: String { Hex.lowercase(hasher.finalize()) }
}

/// Writes one outbound file: each item through the feed's renderer, each record through the fixed-width or
/// delimited writer, the bytes through a digest into `sink`. Holds one line at a time. A delimited file's header is
/// written when the writer is made.
public struct OutboundFileWriter<Sink: ByteSink> {
    public let definition: OutboundFeedDefinition
    let renderer: OutboundRenderer
    // Exactly one of the two is set. Optionals (not an enum with payloads) so each write mutates the writer in
    // place: taking a writer out of an enum would copy its sink's buffer on every line.
    var fixedWidth: FixedWidthWriter<DigestingSink<Sink>>?
    let formats: [FixedWidthLineFormat]
    var delimited: DelimitedWriter<DigestingSink<Sink>>?
    /// Records (data lines; not the header) written so far.
    public private(set) var records = 0

    public init(definition: OutboundFeedDefinition, sink: Sink) throws {
        self.definition = definition
        renderer = OutboundRenderer(definition: definition)
        let layout = definition.layout
        let digesting = DigestingSink(sink)
        switch layout.shape {
        case .fixedWidth(_, let types):
            fixedWidth = FixedWidthWriter(sink: digesting, encoding: layout.encoding, lineEnd: layout.lineEnd, finalNewline: layout.finalNewline)
            formats = types.map(\.format)
        case .delimited(let columns, let header, let delimiter, let quoting):
            formats = []
            delimited = try DelimitedWriter(
                sink: digesting, columns: columns.map(\.name), header: header, delimiter: delimiter, quoting: quoting,
                encoding: layout.encoding, lineEnd: layout.lineEnd, finalNewline: layout.finalNewline)
        }
    }

    /// The sink the file goes to (a memory sink's bytes, once finished).
    public var sink: Sink { fixedWidth?.sink.base ?? delimited!.sink.base }

    /// Renders `item` and writes its records (none when the feed's filter leaves it out). A value that cannot be
    /// written throws with the item's and column's names; nothing of that item's failing line is written.
    public mutating func write(_ item: OutboundItem) throws {
        for record in try renderer.render(item) {
            if fixedWidth != nil {
                try fixedWidth!.write(record.values, as: formats[record.recordType])
            } else {
                try delimited!.write(record.values)
            }
            records += 1
        }
    }

    /// Finishes the sink (a file sink flushes, syncs and closes) and returns the file's size, SHA-256 and records.
    public mutating func finish() throws -> (size: Int64, sha256: String, records: Int) {
        let sink = try fixedWidth != nil ? fixedWidth!.finish() : delimited!.finish()
        return (sink.size, sink.sha256, records)
    }
}
