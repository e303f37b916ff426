#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension DelimitedCore {
    @usableFromInline
    mutating func next() throws(FileRefusal) -> ReadItem? {
        if layout.trailer == nil {
            // Fast path: no trailer to hold back.
            if let raw = try readRaw() {
                if rawIsData { dataRecordCount &+= 1 }
                return item(raw)
            }
            finished = true
            return nil
        }
        if let q = queued {
            queued = nil
            return q
        }
        if finished { return nil }
        while true {
            guard let item = try readRaw().map({ self.item($0) }) else {
                finished = true
                if let p = pendingTrailer {
                    // The last line starting with the prefix is the trailer.
                    pendingTrailer = nil
                    trailerRecord = p
                }
                try checkTrailer()
                return nil
            }
            switch item {
            case .issue(let issue):
                if !rawIsData { return item }
                dataRecordCount += 1
                if let p = pendingTrailer {
                    pendingTrailer = nil
                    countData(p)
                    queued = .issue(issue)
                    return .record(p)
                }
                return item
            case .record(let r):
                if let prefix = prefixBytes, r.hasPrefix(prefix) {
                    if let p = pendingTrailer {
                        pendingTrailer = r
                        countData(p)
                        return .record(p)
                    }
                    pendingTrailer = r
                    continue
                }
                countData(r)
                if let p = pendingTrailer {
                    pendingTrailer = nil
                    countData(p)
                    queued = item
                    return .record(p)
                }
                return item
            }
        }
    }

    /// What `readRaw` found: a record, whose bytes and spans are in `bytes` and `spans` until the next read, or an
    /// issue.
    enum RawItem {
        case record(RawRecord)
        case issue(RowIssue)
    }

    struct RawRecord {
        let line: Int
        let lineCount: Int
        let byteOffset: Int
        let count: Int
        let textLength: Int
        /// Set when the record was read in place: its bytes are still in the input window here (until the next
        /// read) and its spans in `scratch`, not in `bytes` and `spans`.
        var inPlace: UnsafePointer<UInt8>? = nil
    }

    func item(_ raw: RawItem) -> ReadItem {
        switch raw {
        case .record(let r):
            .record(
                FlatRecord(
                    line: r.line, lineCount: r.lineCount, byteOffset: r.byteOffset, typeCode: nil, count: r.count,
                    bytes: bytes, spans: spans, textLength: r.textLength))
        case .issue(let issue): .issue(issue)
        }
    }

    /// ``RecordReader/read(into:maxItems:maxBytes:)`` with no trailer to hold back: records go from the scan
    /// buffers straight into the batch, with no ``FlatRecord`` in between.
    mutating func read(into batch: inout RecordBatch, maxItems: Int, maxBytes: Int) throws(FileRefusal) -> Bool {
        let before = batch.count
        while batch.count < maxItems, batch.byteCount < maxBytes {
            guard let raw = try readRaw(inPlace: true) else {
                finished = true
                break
            }
            if rawIsData { dataRecordCount &+= 1 }
            switch raw {
            case .record(let r) where r.inPlace != nil:
                batch.append(
                    line: r.line, typeCode: nil, bytes: UnsafeBufferPointer(start: r.inPlace, count: r.textLength),
                    spans: UnsafeBufferPointer(start: scratch.pointer, count: 2 * r.count))
            case .record(let r):
                bytes.withUnsafeBufferPointer { bytes in
                    spans.withUnsafeBufferPointer { spans in
                        batch.append(line: r.line, typeCode: nil, bytes: bytes, spans: UnsafeBufferPointer(rebasing: spans[0..<2 * r.count]))
                    }
                }
            case .issue(let issue):
                batch.append(issue)
            }
        }
        return batch.count > before
    }

    mutating func countData(_ r: FlatRecord) {
        dataRecordCount += 1
        guard let t = layout.trailer else { return }
        if let f = t.sumOfField, t.sumField != nil {
            r.withBytes(f) { b in
                let t = trimmed(b)
                if let v = ControlSum.parse(t) { sum.add(v) }
            }
        }
    }

    mutating func checkTrailer() throws(FileRefusal) {
        guard let t = layout.trailer else { return }
        guard let tr = trailerRecord else {
            throw FileRefusal(
                code: .missingTrailer, line: nil,
                message: "no trailer line starting with the configured prefix was found")
        }
        // Records counted when yielded; the pending trailer was never counted.
        let count = dataRecordCount
        guard let declared = tr.withBytes(t.countField, { parseCount(trimmed($0)) }) else {
            throw FileRefusal(
                code: .controlTotalMismatch, line: tr.line,
                message: "the trailer's record count (field \(t.countField + 1)) is not a whole number")
        }
        if declared != count {
            throw FileRefusal(
                code: .controlTotalMismatch, line: tr.line,
                message: "the trailer declares \(declared) data records but the file has \(count)")
        }
        if let sf = t.sumField, t.sumOfField != nil {
            guard let declaredSum = tr.withBytes(sf, { ControlSum.parse(trimmed($0)) }) else {
                throw FileRefusal(
                    code: .controlTotalMismatch, line: tr.line,
                    message: "the trailer's control sum (field \(sf + 1)) is not a number")
            }
            if sum.overflow || declaredSum != sum.scaled {
                throw FileRefusal(
                    code: .controlTotalMismatch, line: tr.line,
                    message: "the trailer declares a control sum of \(ControlSum.format(declaredSum)) but the data sums to \(sum)")
            }
        }
    }
}
