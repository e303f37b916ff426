// Streaming MIME parsing: headers line by line, multipart by boundaries, bodies decoded straight to files.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

public enum MailReader {
    /// Limits (public so that callers can quote them).
    public static let maxHeaderBytes = 256 << 10
    public static let maxDepth = 10
    public static let maxParts = 1000
    public static let maxAttachments = 500

    /// Reads the .eml file at `path`, writing its attachments into `directory` (created when missing). On an
    /// error, no file is left behind in the directory.
    public static func read(path: String, extractingAttachmentsTo directory: String) throws -> MailMessage {
        try readTyped(path: path, extractingAttachmentsTo: directory)
    }

    /// `read` with typed throws.
    public static func readTyped(path: String, extractingAttachmentsTo directory: String) throws(MailError) -> MailMessage {
        var st = stat()
        if stat(directory, &st) != 0 {
            if mkdir(directory, 0o700) != 0 && errno != EEXIST { throw .cannotCreateDirectory(errno: errno) }
        }
        let parser = try MIMEParser(path: path, directory: directory)
        do {
            return try parser.parse()
        } catch {
            parser.cleanUp()
            throw error
        }
    }
}

enum Termination: Equatable {
    /// A delimiter line of the multipart at this level (`--boundary`).
    case delimiter(Int)
    /// A close-delimiter line (`--boundary--`).
    case close(Int)
    case eof
}

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

enum TransferEncoding { case identity, base64, quotedPrintable }

/// base64 character values; 64 = whitespace (skipped), 65 = '=', 255 = not base64.
let base64Table: [UInt8] = {
    var t = [UInt8](repeating: 255, count: 256)
    for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { t[Int(c)] = UInt8(i) }
    for c in [32, 9, 13, 10] { t[c] = 64 }
    t[Int(UInt8(ascii: "="))] = 65
    return t
}()

/// Streaming base64: whitespace anywhere, padding, concatenated encodings; anything else is an error.
struct Base64Decoder {
    var quad: UInt32 = 0
    var count = 0
    var padding = 0
    var writeFailure: MailError?

    /// False on a character that is not base64 (or a failed write, kept in `writeFailure`).
    mutating func feed(_ input: UnsafeBufferPointer<UInt8>, to sink: PartSink) -> Bool {
        let block = 48 << 10
        var start = 0
        while start < input.count {
            let end = min(input.count, start + block)
            let ok = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: block / 4 * 3 + 8) { out -> Bool in
                var o = 0
                var q = quad
                var c = count
                var pad = padding
                var valid = true
                base64Table.withUnsafeBufferPointer { t in
                    var i = start
                    while i < end {
                        let v = t[Int(input[i])]
                        i &+= 1
                        if v < 64 {
                            q = q << 6 | UInt32(v)
                            c &+= 1
                            pad = 0
                            if c == 4 {
                                out[o] = UInt8(truncatingIfNeeded: q >> 16)
                                out[o &+ 1] = UInt8(truncatingIfNeeded: q >> 8)
                                out[o &+ 2] = UInt8(truncatingIfNeeded: q)
                                o &+= 3
                                q = 0
                                c = 0
                            }
                        } else if v == 64 {
                            continue
                        } else if v == 65 {
                            // Padding: after two or three characters of a group, or a second '=' after two.
                            guard c >= 2 || (c == 0 && pad == 1) else {
                                valid = false
                                return
                            }
                            pad += 1
                            if c >= 2 {
                                let w = q << (6 * UInt32(4 - c))
                                out[o] = UInt8(truncatingIfNeeded: w >> 16)
                                o &+= 1
                                if c == 3 {
                                    out[o] = UInt8(truncatingIfNeeded: w >> 8)
                                    o &+= 1
                                }
                                q = 0
                                c = 0
                            }
                        } else {
                            valid = false
                            return
                        }
                    }
                }
                quad = q
                count = c
                padding = pad
                do throws(MailError) {
                    try sink.write(UnsafeBufferPointer(rebasing: out[0..<o]))
                } catch {
                    writeFailure = error
                    return false
                }
                return valid
            }
            if !ok { return false }
            start = end
        }
        return true
    }

    /// At the end of the part: a group of one character is truncated; two or three without padding are accepted.
    mutating func finish(to sink: PartSink) -> Bool {
        switch count {
        case 0: return true
        case 1: return false
        default:
            let w = quad << (6 * UInt32(4 - count))
            do {
                try sink.write(UInt8(truncatingIfNeeded: w >> 16))
                if count == 3 { try sink.write(UInt8(truncatingIfNeeded: w >> 8)) }
            } catch {
                writeFailure = error
                return false
            }
            count = 0
            return true
        }
    }
}

final class MIMEParser {
    static let csvTypes: Set<String> = [
        "text/csv", "application/csv", "text/comma-separated-values", "text/x-csv",
        "application/x-csv",
    ]
    let reader: LineReader
    let directory: String
    var boundaries: [[UInt8]] = []
    var partCount = 0
    var attachments: [MailAttachment] = []
    var createdFiles: [String] = []
    var tempCounter = 0
    var openSink: PartSink?

    init(path: String, directory: String) throws(MailError) {
        reader = try LineReader(path: path)
        self.directory = directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory
    }

    func cleanUp() {
        if let s = openSink { unlink(s.tempPath) }
        for f in createdFiles { unlink(f) }
    }

    func parse() throws(MailError) -> MailMessage {
        let head = try reader.peek(8)
        if head.contains(0) || head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x1F, 0x8B])
            || head.starts(with: Array("%PDF-".utf8))
        {
            throw .notAMessage
        }
        let (headers, _) = try readHeaders(topLevel: true)
        var message = MailMessage()
        func value(_ name: String) -> [UInt8]? { headers.first { $0.name == name }?.value }
        if let f = value("from") {
            let decoded = decodeEncodedWords(f).trimmed
            message.fromHeader = decoded
            message.from = extractAddress(decoded)
        }
        message.to = value("to").map { decodeEncodedWords($0).trimmed }
        message.subject = value("subject").map { decodeEncodedWords($0).trimmed }
        message.date = value("date").map { String(decoding: $0, as: UTF8.self).trimmed }
        message.messageID = value("message-id").map { String(decoding: $0, as: UTF8.self).trimmed }
        _ = try parseEntity(headers: headers, depth: 0, line: 1)
        message.attachments = attachments
        return message
    }

    // MARK: Headers

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

    // MARK: Entities

    func parseEntity(headers: [(name: String, value: [UInt8])], depth: Int, line: Int) throws(MailError) -> Termination {
        partCount += 1
        if partCount > MailReader.maxParts { throw .tooManyParts(line: line, limit: MailReader.maxParts) }
        func header(_ name: String) -> [UInt8]? { headers.last { $0.name == name }?.value }
        let contentType = header("content-type").map(HeaderValue.init)
        var type = contentType?.main.lowercased() ?? "text/plain"
        if !type.contains("/") { type = "text/plain" }

        if type.hasPrefix("multipart/") {
            guard depth < MailReader.maxDepth else { throw .nestingTooDeep(line: line, limit: MailReader.maxDepth) }
            guard let boundary = contentType?.parameter("boundary"), !boundary.isEmpty, boundary.utf8.count <= 200 else {
                throw .missingBoundary(line: line)
            }
            boundaries.append(Array(boundary.utf8))
            let level = boundaries.count - 1
            // (A thrown error ends the whole parse, so the stack needs balancing only on returns.)
            var term = try skipToBoundary()
            while true {
                switch term {
                case .delimiter(level):
                    let partLine = reader.lineNumber
                    let (partHeaders, early) = try readHeaders(topLevel: false)
                    if let early {
                        partCount += 1
                        if partCount > MailReader.maxParts { throw .tooManyParts(line: partLine, limit: MailReader.maxParts) }
                        term = early
                    } else {
                        term = try parseEntity(headers: partHeaders, depth: depth + 1, line: partLine)
                    }
                case .close(level):
                    // The epilogue runs to a boundary of an enclosing multipart or the end.
                    boundaries.removeLast()
                    return try skipToBoundary()
                default:
                    boundaries.removeLast()
                    return term  // the end, or a boundary of an enclosing multipart
                }
            }
        }

        // A leaf.
        let disposition = header("content-disposition").map(HeaderValue.init)
        let dispositionType = disposition?.main.lowercased() ?? ""
        let name = disposition?.parameter("filename") ?? contentType?.parameter("name")
        let encodingName = header("content-transfer-encoding").map { String(decoding: $0, as: UTF8.self).trimmed.lowercased() } ?? "7bit"
        let encoding: TransferEncoding =
            encodingName == "base64"
            ? .base64
            : encodingName == "quoted-printable" ? .quotedPrintable : .identity
        enum Kind { case attachment, maybeInlineCSV, skip }
        let kind: Kind
        if name != nil || dispositionType == "attachment" || MIMEParser.csvTypes.contains(type) {
            kind = .attachment
        } else if type == "text/plain" {
            kind = .maybeInlineCSV
        } else {
            kind = .skip
        }
        guard kind != .skip else { return try skipBody() }
        if attachments.count >= MailReader.maxAttachments { throw .tooManyAttachments(limit: MailReader.maxAttachments) }

        tempCounter += 1
        let temp = "\(directory)/.mime-part-\(getpid())-\(tempCounter).tmp"
        let sink = try PartSink(tempPath: temp)
        openSink = sink
        let term = try decodeBody(encoding: encoding, into: sink, part: partCount)
        let sha256 = try sink.writer.finish()
        openSink = nil
        let size = sink.writer.written
        if kind == .maybeInlineCSV && !looksLikeCSV(sink.prefix, complete: size <= PartSink.prefixLimit) {
            unlink(temp)
            return term
        }
        let n = attachments.count + 1
        let fallback = "attachment-\(n)" + extensionFor(type)
        let filename = name.map { sanitiseFilename($0, fallback: fallback) } ?? fallback
        let path = try place(temp, as: filename)
        let finalName = String(path.dropFirst(directory.count + 1))
        attachments.append(
            MailAttachment(
                filename: finalName, contentType: type, size: size, sha256: sha256, path: path,
                originalFilename: name.flatMap { $0 == finalName ? nil : $0 },
                inline: name == nil && dispositionType != "attachment"))
        return term
    }

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

    func skipBody() throws(MailError) -> Termination {
        while let line = try reader.next() {
            if let t = boundary(of: line) { return t }
        }
        return .eof
    }

    /// Decodes body lines into the sink up to a boundary line or the end. The line end before a boundary belongs
    /// to the boundary.
    func decodeBody(encoding: TransferEncoding, into sink: PartSink, part: Int) throws(MailError) -> Termination {
        var pendingEnd: Line.Ending = .none
        var base64 = Base64Decoder()
        var carry: [UInt8] = []  // quoted-printable: an '=' sequence cut by a line piece
        var lastLine = reader.lineNumber
        func writeEnding(_ e: Line.Ending) throws(MailError) {
            switch e {
            case .none: break
            case .lf: try sink.write(10)
            case .crlf:
                try sink.write(13)
                try sink.write(10)
            }
        }
        while let line = try reader.next() {
            lastLine = line.number
            if let t = boundary(of: line) {
                if encoding == .base64 && !base64.finish(to: sink) {
                    if let f = base64.writeFailure { throw f }
                    throw .truncatedBase64(part: part, line: line.number)
                }
                return t
            }
            switch encoding {
            case .base64:
                if !base64.feed(line.bytes, to: sink) {
                    if let f = base64.writeFailure { throw f }
                    throw .invalidBase64(part: part, line: line.number)
                }
            case .identity:
                if line.first { try writeEnding(pendingEnd) }
                try sink.write(line.bytes)
                pendingEnd = line.ending
            case .quotedPrintable:
                if line.first { try writeEnding(pendingEnd) }
                pendingEnd = .none
                var bytes = carry + Array(line.bytes)
                carry.removeAll()
                var soft = false
                if !line.partial {
                    while let l = bytes.last, l == 32 || l == 9 { bytes.removeLast() }
                    if bytes.last == UInt8(ascii: "=") {
                        soft = true
                        bytes.removeLast()
                    }
                } else {
                    // Keep an '=' sequence that the piece boundary cut for the next piece.
                    if let eq = bytes.lastIndex(of: UInt8(ascii: "=")), eq >= bytes.count - 2 {
                        carry = Array(bytes[eq...])
                        bytes.removeSubrange(eq...)
                    }
                }
                var decoded: [UInt8] = []
                decoded.reserveCapacity(bytes.count)
                var i = 0
                while i < bytes.count {
                    let c = bytes[i]
                    if c == UInt8(ascii: "="), i + 2 < bytes.count, let h = hexValue(bytes[i + 1]), let l = hexValue(bytes[i + 2]) {
                        decoded.append(h << 4 | l)
                        i += 3
                    } else {
                        decoded.append(c)
                        i += 1
                    }
                }
                try decoded.withUnsafeBufferPointer { (d) throws(MailError) in try sink.write(d) }
                if !line.partial && !soft { pendingEnd = line.ending }
            }
        }
        // The end of the file without a closing boundary: keep the last line end, finish base64.
        if encoding == .quotedPrintable && !carry.isEmpty {
            for c in carry { try sink.write(c) }
        }
        try writeEnding(pendingEnd)
        if encoding == .base64 && !base64.finish(to: sink) {
            if let f = base64.writeFailure { throw f }
            throw .truncatedBase64(part: part, line: lastLine)
        }
        return .eof
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
