#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where a leaf part's decoded bytes go.
final class PartSink {
    let writer: FileWriter
    let tempPath: String
    /// The first decoded bytes, kept for sniffing inline text.
    var prefix: [UInt8] = []
    static let prefixLimit = 8192

    init(tempPath: String) throws(MailError) {
        self.tempPath = tempPath
        writer = try FileWriter(path: tempPath)
    }

    @inline(__always)
    func write(_ b: UnsafeBufferPointer<UInt8>) throws(MailError) {
        if prefix.count < PartSink.prefixLimit {
            prefix.append(contentsOf: b.prefix(PartSink.prefixLimit - prefix.count))
        }
        try writer.write(b)
    }

    @inline(__always)
    func write(_ byte: UInt8) throws(MailError) {
        if prefix.count < PartSink.prefixLimit { prefix.append(byte) }
        try writer.write(byte)
    }
}

extension MIMEParser {
    func extensionFor(_ type: String) -> String {
        switch type {
        case "text/csv", "application/csv", "text/comma-separated-values", "text/x-csv", "application/x-csv": return ".csv"
        case "text/plain": return ".csv"
        case "text/html": return ".html"
        case "application/pdf": return ".pdf"
        case "message/rfc822": return ".eml"
        default: return ".bin"
        }
    }

    /// Moves the temporary file to a unique name in the directory (never replacing a file) and returns the path.
    func place(_ temp: String, as filename: String) throws(MailError) -> String {
        var stem = filename
        var ext = ""
        if let dot = filename.lastIndex(of: "."), dot != filename.startIndex {
            stem = String(filename[..<dot])
            ext = String(filename[dot...])
        }
        for k in 1...10_000 {
            var candidate = k == 1 ? filename : "\(stem)-\(k)\(ext)"
            if candidate.utf8.count > 255 { candidate = sanitiseFilename(String(stem.prefix(200)) + "-\(k)" + ext, fallback: "attachment-\(k)") }
            let path = "\(directory)/\(candidate)"
            if link(temp, path) == 0 {
                createdFiles.append(path)
                unlink(temp)
                return path
            }
            if errno != EEXIST {
                let e = errno
                unlink(temp)
                throw .cannotWrite(errno: e)
            }
        }
        unlink(temp)
        throw .cannotWrite(errno: EEXIST)
    }
}

/// Whether decoded text looks like a delimited table: at least two non-empty lines, each of the first ten with the
/// same number (at least two) of one delimiter outside quotes.
func looksLikeCSV(_ prefix: [UInt8], complete: Bool) -> Bool {
    // Counts of each candidate delimiter (outside quotes) on the first ten non-blank lines.
    let delimiters: [UInt8] = [UInt8(ascii: ","), UInt8(ascii: ";"), 9, UInt8(ascii: "|")]
    var first = [Int](repeating: -1, count: 4)
    var same = [Bool](repeating: true, count: 4)
    var lines = 0
    return prefix.withUnsafeBufferPointer { p -> Bool in
        var i = 0
        while i < p.count && lines < 10 {
            var counts = (0, 0, 0, 0)
            var inQuotes = false
            var blank = true
            let start = i
            while i < p.count && p[i] != 10 {
                let c = p[i]
                if c != 32 && c != 9 && c != 13 { blank = false }
                if c == UInt8(ascii: "\"") {
                    inQuotes.toggle()
                } else if !inQuotes {
                    if c == delimiters[0] {
                        counts.0 += 1
                    } else if c == delimiters[1] {
                        counts.1 += 1
                    } else if c == delimiters[2] {
                        counts.2 += 1
                    } else if c == delimiters[3] {
                        counts.3 += 1
                    }
                }
                i += 1
            }
            let cut = i >= p.count && !complete && start > 0  // the last line of a cut prefix
            i += 1
            if blank || cut { continue }
            lines += 1
            let c = [counts.0, counts.1, counts.2, counts.3]
            for k in 0..<4 {
                if first[k] < 0 { first[k] = c[k] } else if first[k] != c[k] { same[k] = false }
            }
        }
        guard lines >= 2 else { return false }
        for k in 0..<4 where same[k] && first[k] >= 2 { return true }
        return false
    }
}
