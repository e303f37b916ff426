public struct FixedWidthReader<Source: ByteSource>: RecordReader {
    public var header: [String]? { nil }
    public var fieldNames: [String]? { nil }
    public init(source: Source, layout: FixedWidthLayout) throws(FileRefusal) {}
    public mutating func next() throws(FileRefusal) -> ReadItem? { nil }
}
