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
        func raw(_ name: String) -> [String] { headers.filter { $0.name == name }.map { String(decoding: $0.value, as: UTF8.self) } }
        message.fromFields = raw("from")
        message.senderFields = raw("sender")
        message.authenticationResultsFields = raw("authentication-results")
        message.contentTypeField = raw("content-type").first
        message.to = value("to").map { decodeEncodedWords($0).trimmed }
        message.subject = value("subject").map { decodeEncodedWords($0).trimmed }
        message.date = value("date").map { String(decoding: $0, as: UTF8.self).trimmed }
        message.messageID = value("message-id").map { String(decoding: $0, as: UTF8.self).trimmed }
        _ = try parseEntity(headers: headers, depth: 0, line: 1)
        message.attachments = attachments
        return message
    }
}
