public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A message with a short text and one file attached, composed as it is read (``SMTPMessageSource``): headers, the
/// text part, then the file base64-encoded 57 KiB at a time, so memory stays flat however large the file.
///
/// Invariant: the same inputs give the same bytes (the boundary comes from the Message-ID, the date is given), so a
/// message submitted again is the same message, with the same Message-ID by which a recipient can recognise it.
public final class AttachmentMessage: SMTPMessageSource {
    private var pending: [UInt8]
    private var offset = 0
    private let file: FileHandle
    private var trailer: [UInt8]?
    private static let chunk = 57 * 1024  // whole base64 lines of 76 characters

    /// - Parameters:
    ///   - messageID: without angle brackets, `local@domain`.
    ///   - attachment: the file's path; `attachmentName` the name the recipient sees (ASCII, no quote).
    public init(
        from: String, to: [String], subject: String, messageID: String, date: Date, text: String, attachment: String,
        attachmentName: String, contentType: String = "text/csv"
    ) throws {
        for header in [from, messageID, attachmentName, contentType] + to {
            guard header.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") }) else {
                throw MailTransportError(.fatal, "a message header value must be printable ASCII without quotes")
            }
        }
        guard let file = FileHandle(forReadingAtPath: attachment) else {
            throw MailTransportError(.fatal, "cannot open the attachment \(attachment)")
        }
        self.file = file
        let boundary = "=_dqt_" + messageID.unicodeScalars.filter { $0.properties.isAlphabetic || ("0"..."9").contains($0) }.map(String.init).joined()
        var head = ""
        head += "From: \(from)\r\n"
        head += "To: \(to.joined(separator: ", "))\r\n"
        head += "Subject: \(Self.encodedWord(subject))\r\n"
        head += "Date: \(Self.rfc5322(date))\r\n"
        head += "Message-ID: <\(messageID)>\r\n"
        head += "MIME-Version: 1.0\r\n"
        head += "Content-Type: multipart/mixed; boundary=\"\(boundary)\"\r\n"
        head += "\r\n"
        head += "--\(boundary)\r\n"
        head += "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        head += Self.base64Lines(Array(text.utf8))
        head += "--\(boundary)\r\n"
        head += "Content-Type: \(contentType); name=\"\(attachmentName)\"\r\n"
        head += "Content-Transfer-Encoding: base64\r\n"
        head += "Content-Disposition: attachment; filename=\"\(attachmentName)\"\r\n\r\n"
        pending = Array(head.utf8)
        trailer = Array("--\(boundary)--\r\n".utf8)
    }

    deinit { try? file.close() }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while offset == pending.count {
            guard try refill() else { return 0 }
        }
        let count = min(buffer.count, pending.count - offset)
        pending.withUnsafeBytes { bytes in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count]))
        }
        offset += count
        return count
    }

    /// The next bytes: the file's next chunk encoded, then the closing boundary; false at the end.
    private func refill() throws -> Bool {
        offset = 0
        let data: Data
        do {
            data = try file.read(upToCount: Self.chunk) ?? Data()
        } catch {
            throw MailTransportError(.failed, "cannot read the attachment: \(error)")
        }
        if !data.isEmpty {
            pending = Array(Self.base64Lines(Array(data)).utf8)
            return true
        }
        guard let trailer else { return false }
        pending = trailer
        self.trailer = nil
        return true
    }

    /// Base64 in lines of 76 characters, each ending CRLF (RFC 2045).
    static func base64Lines(_ bytes: [UInt8]) -> String {
        let encoded = Data(bytes).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        return encoded.isEmpty ? "" : encoded + "\r\n"
    }

    /// A header text as is when printable ASCII, else as one RFC 2047 encoded word.
    static func encodedWord(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return text }
        return "=?UTF-8?B?" + Data(text.utf8).base64EncodedString() + "?="
    }

    static func rfc5322(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}
