// Many records in one contiguous store: what a reader hands to a parallel pipeline.

/// Records and row issues in file order, their bytes and field spans in two shared arrays, so that a batch of
/// rows costs no allocation per row once its arrays have grown, and can be read from several threads at once.
///
/// Filled by ``RecordReader/read(into:maxItems:maxBytes:)``; cleared and refilled batch after batch.
public struct RecordBatch: Sendable {
    /// One entry in file order: a record (`issue < 0`) or a row issue.
    @usableFromInline
    struct Entry: Sendable {
        @usableFromInline var line: Int
        /// Index of the record's first span pair in `spans` (two entries per field).
        @usableFromInline var firstSpan: Int32
        @usableFromInline var count: Int32
        /// Index into `typeCodes`, or -1.
        @usableFromInline var typeCode: Int32
        /// Index into `issues`, or -1 for a record.
        @usableFromInline var issue: Int32
    }

    @usableFromInline var entries: [Entry] = []
    @usableFromInline var bytes: [UInt8] = []
    /// Start and end offsets into `bytes`; a negative start marks a null field (`~start`), as in ``FlatRecord``.
    @usableFromInline var spans: [Int32] = []
    var issues: [RowIssue] = []
    var typeCodes: [String] = []

    public init() {}

    /// Records and issues held.
    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    /// Bytes of field text held (what bounds a batch's memory).
    public var byteCount: Int { bytes.count }

    /// Forgets every entry, keeping the arrays' capacity.
    public mutating func removeAll() {
        entries.removeAll(keepingCapacity: true)
        bytes.removeAll(keepingCapacity: true)
        spans.removeAll(keepingCapacity: true)
        issues.removeAll(keepingCapacity: true)
    }

    /// Copies the record in, so the reader can reuse the record's buffers.
    public mutating func append(_ record: FlatRecord) {
        record._bytes.withUnsafeBufferPointer { bytes in
            record._spans.withUnsafeBufferPointer { spans in
                append(line: record.line, typeCode: record.typeCode, bytes: bytes, spans: UnsafeBufferPointer(rebasing: spans[0..<2 &* record.count]))
            }
        }
    }

    /// Copies a record in from a reader's buffers: `spans` (two per field) are offsets into `bytes`.
    mutating func append(line: Int, typeCode: String?, bytes recordBytes: UnsafeBufferPointer<UInt8>, spans recordSpans: UnsafeBufferPointer<Int32>) {
        let base = Int32(truncatingIfNeeded: bytes.count)
        let firstSpan = Int32(truncatingIfNeeded: spans.count)
        bytes.append(contentsOf: recordBytes)
        // Copied in one piece (not appended two per field), then moved by `base`; a null field's start, stored as
        // ~start, moves the other way.
        spans.append(contentsOf: recordSpans)
        spans.withUnsafeMutableBufferPointer { spans in
            for index in Int(firstSpan)..<spans.count {
                spans[index] = spans[index] < 0 ? spans[index] &- base : spans[index] &+ base
            }
        }
        var typeIndex: Int32 = -1
        if let typeCode {
            if let known = typeCodes.firstIndex(of: typeCode) {
                typeIndex = Int32(known)
            } else {
                typeIndex = Int32(typeCodes.count)
                typeCodes.append(typeCode)
            }
        }
        entries.append(Entry(line: line, firstSpan: firstSpan, count: Int32(recordSpans.count / 2), typeCode: typeIndex, issue: -1))
    }

    public mutating func append(_ issue: RowIssue) {
        entries.append(Entry(line: issue.line, firstSpan: 0, count: 0, typeCode: -1, issue: Int32(issues.count)))
        issues.append(issue)
    }

    /// Calls `body` with a read-only view of the batch that several threads may share.
    public func withView<R>(_ body: (View) throws -> R) rethrows -> R {
        try entries.withUnsafeBufferPointer { entries in
            try bytes.withUnsafeBufferPointer { bytes in
                try spans.withUnsafeBufferPointer { spans in
                    try body(View(entries: entries, bytes: bytes.baseAddress, spans: spans.baseAddress, issues: issues, typeCodes: typeCodes))
                }
            }
        }
    }

    /// The batch's entries, valid inside ``RecordBatch/withView(_:)``.
    public struct View: @unchecked Sendable {
        @usableFromInline let entries: UnsafeBufferPointer<Entry>
        @usableFromInline let bytes: UnsafePointer<UInt8>?
        @usableFromInline let spans: UnsafePointer<Int32>?
        let issues: [RowIssue]
        let typeCodes: [String]

        public var count: Int { entries.count }

        /// The record at `index`, or nil when the entry is a row issue.
        @inlinable
        public func record(_ index: Int) -> RecordView? {
            let entry = entries[index]
            guard entry.issue < 0 else { return nil }
            return RecordView(
                line: entry.line, count: Int(entry.count), typeCodeIndex: Int(entry.typeCode), bytes: bytes,
                spans: spans.map { $0 + Int(entry.firstSpan) }
            )
        }

        /// The row issue at `index`, or nil when the entry is a record.
        public func issue(_ index: Int) -> RowIssue? {
            let entry = entries[index]
            return entry.issue < 0 ? nil : issues[Int(entry.issue)]
        }

        /// The fixed-width data record type's code of a record.
        public func typeCode(_ record: RecordView) -> String? {
            record.typeCodeIndex < 0 ? nil : typeCodes[record.typeCodeIndex]
        }
    }
}

/// A record inside a ``RecordBatch``: the same reading methods as ``FlatRecord``, nothing owned.
public struct RecordView {
    /// 1-based physical line where the record starts.
    public let line: Int
    /// Number of fields.
    public let count: Int
    /// Fixed width: the index of the data record type's code in the batch (``RecordBatch/View/typeCode(_:)``), else -1.
    public let typeCodeIndex: Int
    @usableFromInline let bytes: UnsafePointer<UInt8>?
    @usableFromInline let spans: UnsafePointer<Int32>?

    @inlinable
    init(line: Int, count: Int, typeCodeIndex: Int, bytes: UnsafePointer<UInt8>?, spans: UnsafePointer<Int32>?) {
        self.line = line
        self.count = count
        self.typeCodeIndex = typeCodeIndex
        self.bytes = bytes
        self.spans = spans
    }

    /// The field's bytes as UTF-8 (as ``FlatRecord/withBytes(_:_:)``); empty for an index outside `0..<count`.
    @inlinable
    public func bytes(_ field: Int) -> UnsafeBufferPointer<UInt8> {
        guard field >= 0, field < count, let spans, let bytes else { return UnsafeBufferPointer(start: nil, count: 0) }
        let start = Int(spans[2 &* field])
        let end = Int(spans[2 &* field &+ 1])
        let from = start < 0 ? ~start : start
        return UnsafeBufferPointer(start: bytes + from, count: end &- from)
    }

    /// True for an unquoted field equal to the layout's null literal.
    @inlinable
    public func isNull(_ field: Int) -> Bool {
        guard field >= 0, field < count, let spans else { return false }
        return spans[2 &* field] < 0
    }

    /// The field as a String (empty for an index outside `0..<count`).
    public func string(_ field: Int) -> String { String(decoding: bytes(field), as: UTF8.self) }
}

extension RecordReader {
    public mutating func read(into batch: inout RecordBatch, maxItems: Int, maxBytes: Int) throws(FileRefusal) -> Bool {
        try readRecords(into: &batch, maxItems: maxItems, maxBytes: maxBytes)
    }

    /// ``read(into:maxItems:maxBytes:)`` through ``next()``, record by record.
    public mutating func readRecords(into batch: inout RecordBatch, maxItems: Int, maxBytes: Int) throws(FileRefusal) -> Bool {
        let before = batch.count
        while batch.count < maxItems, batch.byteCount < maxBytes, let item = try next() {
            switch item {
            case .record(let record): batch.append(record)
            case .issue(let issue): batch.append(issue)
            }
        }
        return batch.count > before
    }
}
