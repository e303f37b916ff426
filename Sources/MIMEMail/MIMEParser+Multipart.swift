#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension MIMEParser {
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
}
