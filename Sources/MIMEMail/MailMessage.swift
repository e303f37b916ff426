// What a parsed .eml file gives: the sender and a few headers, and the attachments extracted to files and hashed.

/// A parsed email. Header values are decoded (RFC 2047) but otherwise as sent.
public struct MailMessage: Sendable {
    /// The sender's address only (`teacher.alerts@ewc.wales`), from the From header.
    public var from: String?
    /// The whole From header, decoded (`"EWC Alerts" <teacher.alerts@ewc.wales>`).
    public var fromHeader: String?
    public var to: String?
    public var subject: String?
    /// The Date header as written.
    public var date: String?
    /// The Message-ID header as written (angle brackets included).
    public var messageID: String?
    public var attachments: [MailAttachment]
    /// Every From field's raw value (not decoded), in order: more than one is a forgery sign, never "the first".
    public var fromFields: [String] = []
    /// Every Sender field's raw value, in order.
    public var senderFields: [String] = []
    /// Every Authentication-Results field's raw value, topmost (added last, by our own MTA) first.
    public var authenticationResultsFields: [String] = []
    /// The top-level Content-Type field's raw value: an S/MIME signed message is `multipart/signed` or
    /// `application/pkcs7-mime`.
    public var contentTypeField: String?

    public init(
        from: String? = nil, fromHeader: String? = nil, to: String? = nil, subject: String? = nil,
        date: String? = nil, messageID: String? = nil, attachments: [MailAttachment] = []
    ) {
        self.from = from
        self.fromHeader = fromHeader
        self.to = to
        self.subject = subject
        self.date = date
        self.messageID = messageID
        self.attachments = attachments
    }
}

public struct MailAttachment: Sendable {
    /// The sanitised file name (no path separators, no `..`, no control characters, at most 255 bytes); the
    /// file is at `path`.
    public var filename: String
    /// Lower-case `type/subtype`.
    public var contentType: String
    /// Decoded size in bytes.
    public var size: Int
    /// SHA-256 of the decoded content (32 bytes), computed while it was written: no need to read the file back.
    public var sha256: [UInt8]
    /// The extracted file (inside the extraction directory).
    public var path: String
    /// The name as sent (decoded) when sanitising changed it; nil when it was kept as is or there was none.
    /// May hold control characters: escape it before display.
    public var originalFilename: String?
    /// True for a part without a file name that was taken as an attachment (a CSV sent inline).
    public var inline: Bool

    public init(
        filename: String, contentType: String, size: Int, sha256: [UInt8], path: String, originalFilename: String? = nil,
        inline: Bool = false
    ) {
        self.filename = filename
        self.contentType = contentType
        self.size = size
        self.sha256 = sha256
        self.path = path
        self.originalFilename = originalFilename
        self.inline = inline
    }
}

/// Why a message could not be read. Messages name lines and parts, never header or body content.
public enum MailError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotOpen(errno: Int32)
    case readFailed(errno: Int32)
    case cannotCreateDirectory(errno: Int32)
    case cannotWrite(errno: Int32)
    /// The file does not start with header lines.
    case notAMessage
    /// A header block larger than the limit (bytes), starting at the line.
    case headerTooLarge(line: Int, limit: Int)
    /// Multipart nesting deeper than the limit.
    case nestingTooDeep(line: Int, limit: Int)
    case tooManyParts(line: Int, limit: Int)
    /// A multipart entity without a boundary parameter.
    case missingBoundary(line: Int)
    /// Bytes that are not base64 in a base64 part (part numbers count every MIME part from 1).
    case invalidBase64(part: Int, line: Int)
    /// A base64 part whose data stops in the middle of a group of four characters.
    case truncatedBase64(part: Int, line: Int)
    case tooManyAttachments(limit: Int)

    public var description: String {
        func err(_ e: Int32) -> String { "errno \(e)" }
        switch self {
        case .cannotOpen(let e): return "the message file cannot be opened (\(err(e)))"
        case .readFailed(let e): return "reading the message file failed (\(err(e)))"
        case .cannotCreateDirectory(let e): return "the attachment directory cannot be created (\(err(e)))"
        case .cannotWrite(let e): return "an attachment cannot be written (\(err(e)))"
        case .notAMessage: return "the file is not an email message: it does not start with header lines"
        case .headerTooLarge(let line, let limit): return "the header block starting at line \(line) is larger than \(limit) bytes"
        case .nestingTooDeep(let line, let limit): return "multipart nesting deeper than \(limit) levels at line \(line)"
        case .tooManyParts(let line, let limit): return "more than \(limit) MIME parts (at line \(line))"
        case .missingBoundary(let line): return "a multipart part at line \(line) has no boundary parameter"
        case .invalidBase64(let part, let line): return "part \(part) is declared base64 but line \(line) holds characters that are not base64"
        case .truncatedBase64(let part, let line): return "part \(part)'s base64 data ends in the middle of a group (line \(line))"
        case .tooManyAttachments(let limit): return "more than \(limit) attachments"
        }
    }
}
