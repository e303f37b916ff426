#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension MIMEParser {
    /// Reads a header block up to its empty line (unfolding continuation lines). For a part, a boundary line ends
    /// it early (a part with headers and no body).
    func readHeaders(topLevel: Bool) throws(MailError) -> ([(name: String, value: [UInt8])], Termination?) {
        var headers: [(name: String, value: [UInt8])] = []
        var total = 0
        var startLine = reader.lineNumber
        var first = true
        var inHeader = false  // the last line was a header field that may continue
        var skippingPiece = false  // the rest of an over-long line that is not a header
        while let line = try reader.next() {
            if first { startLine = line.number }
            defer { first = false }
            total += line.bytes.count + 2
            if total > MailReader.maxHeaderBytes { throw .headerTooLarge(line: startLine, limit: MailReader.maxHeaderBytes) }
            let b = line.bytes
            if !line.first {
                // The rest of an over-long line.
                if inHeader && !skippingPiece { headers[headers.count - 1].value.append(contentsOf: b) }
                continue
            }
            skippingPiece = false
            if b.isEmpty && !line.partial { return (headers, nil) }
            if !topLevel, let t = boundary(of: line) { return (headers, t) }
            if b[0] == 32 || b[0] == 9 {
                if inHeader { headers[headers.count - 1].value.append(contentsOf: b) }
                continue
            }
            var colon = 0
            while colon < b.count {
                let c = b[colon]
                if c == UInt8(ascii: ":") || c <= 32 || c >= 127 { break }
                colon += 1
            }
            if colon > 0 && colon < b.count && b[colon] == UInt8(ascii: ":") {
                let name = String(decoding: UnsafeBufferPointer(rebasing: b[..<colon]), as: UTF8.self).lowercased()
                headers.append((name, Array(UnsafeBufferPointer(rebasing: b[(colon + 1)...]))))
                inHeader = true
                continue
            }
            if topLevel && headers.isEmpty && first && b.starts(with: Array("From ".utf8)) {
                skippingPiece = true  // an mbox separator line
                continue
            }
            if topLevel && headers.isEmpty { throw .notAMessage }
            // A stray line inside the header block: ignored.
            inHeader = false
            skippingPiece = true
        }
        if topLevel && headers.isEmpty { throw .notAMessage }
        return (headers, .eof)
    }

    /// The termination a line stands for, if it is a boundary line of an open multipart (innermost first).
    func boundary(of line: Line) -> Termination? {
        guard line.first, !line.partial, !boundaries.isEmpty else { return nil }
        let b = line.bytes
        guard b.count >= 3, b[0] == UInt8(ascii: "-"), b[1] == UInt8(ascii: "-") else { return nil }
        var end = b.count
        while end > 2 && (b[end - 1] == 32 || b[end - 1] == 9) { end -= 1 }
        let rest = UnsafeBufferPointer(rebasing: b[2..<end])
        for level in boundaries.indices.reversed() {
            let bd = boundaries[level]
            if rest.count == bd.count && rest.elementsEqual(bd) { return .delimiter(level) }
            if rest.count == bd.count + 2 && rest.prefix(bd.count).elementsEqual(bd)
                && rest[bd.count] == UInt8(ascii: "-") && rest[bd.count + 1] == UInt8(ascii: "-")
            {
                return .close(level)
            }
        }
        return nil
    }

    /// Skips lines (a preamble or epilogue) up to the next boundary line or the end.
    func skipToBoundary() throws(MailError) -> Termination {
        while let line = try reader.next() {
            if let t = boundary(of: line) { return t }
        }
        return .eof
    }
}
