#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension MIMEParser {
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
