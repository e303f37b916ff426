import CLibCurl
import Foundation

/// The bytes of one message, handed to libcurl chunk by chunk as it sends them, so a message is never held whole.
public protocol SMTPMessageSource: AnyObject {
    /// Fills the start of `buffer` with the next bytes and returns how many; 0 at the end of the message.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// What the server said when it took a message: its last reply (`250 2.0.0 Ok: queued as 4T1x2C0abc`).
public struct SMTPReceipt: Sendable, Equatable {
    public let reply: String

    public init(reply: String) { self.reply = reply }

    /// The server's queue id (Postfix, Exim and Sendmail name it after "queued as"), for tracing the message in its
    /// logs; nil when the reply does not name one.
    public var queueID: String? {
        guard let range = reply.range(of: "queued as ") else { return nil }
        let id = reply[range.upperBound...].prefix { !$0.isWhitespace }
        return id.isEmpty ? nil : String(id)
    }
}

/// Message submission to a mail server over TLS, through libcurl's SMTP: `smtps://host:port` (implicit TLS) or
/// `smtp://host:port` (STARTTLS, required), the login when the endpoint names an account (an empty user submits
/// without one, for a relay that trusts the network), the server's certificate always verified.
///
/// A refusal is sorted by the server's reply code: 5xx is ``MailTransportError/Kind/refused`` (sending again cannot
/// help), 4xx ``MailTransportError/Kind/transient`` (try later), as are a lost connection and a timeout. A refusal of
/// any recipient refuses the whole message, so a message is either taken for every recipient or for none.
///
/// Not thread-safe: one thread at a time.
public final class SMTPSubmission {
    public let endpoint: MailEndpoint
    private let curl: CurlHandle

    public init(endpoint: MailEndpoint) throws {
        self.endpoint = endpoint
        curl = try CurlHandle(endpoint: endpoint, protocols: "smtp,smtps")
    }

    /// Submits `message` (headers and body, CRLF line ends) from `sender` to `recipients` (the envelope; the message's
    /// own headers are not read). Returns once the server has taken responsibility for it (its reply to the data).
    public func submit(from sender: String, to recipients: [String], message: some SMTPMessageSource) throws -> SMTPReceipt {
        try Self.check(address: sender)
        guard !recipients.isEmpty else { throw MailTransportError(.fatal, "a message needs at least one recipient") }
        for recipient in recipients { try Self.check(address: recipient) }

        let handle = curl.handle
        try curl.configure(url: endpoint.address(""))
        try curl.set(dqt_curl_set_long(handle, CURLOPT_UPLOAD, 1), "CURLOPT_UPLOAD")
        try curl.set(dqt_curl_set_string(handle, CURLOPT_MAIL_FROM, "<\(sender)>"), "CURLOPT_MAIL_FROM")
        var list: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(list) }
        for recipient in recipients { list = curl_slist_append(list, "<\(recipient)>") }
        try curl.set(dqt_curl_set_pointer(handle, CURLOPT_MAIL_RCPT, list), "CURLOPT_MAIL_RCPT")

        let box = SubmissionBox(message)
        let context = Unmanaged.passUnretained(box).toOpaque()
        try curl.set(dqt_curl_set_pointer(handle, CURLOPT_READDATA, context), "CURLOPT_READDATA")
        try curl.set(
            dqt_curl_set_read_function(handle) { data, size, count, context in
                let box = Unmanaged<SubmissionBox>.fromOpaque(context!).takeUnretainedValue()
                do {
                    return try box.message.read(into: UnsafeMutableRawBufferPointer(start: data, count: size * count))
                } catch {
                    box.error = error
                    return Int(CURL_READFUNC_ABORT)
                }
            }, "CURLOPT_READFUNCTION")
        try curl.set(dqt_curl_set_pointer(handle, CURLOPT_HEADERDATA, context), "CURLOPT_HEADERDATA")
        try curl.set(
            dqt_curl_set_header_function(handle) { data, size, count, context in
                // libcurl hands each server reply line over as a header.
                let box = Unmanaged<SubmissionBox>.fromOpaque(context!).takeUnretainedValue()
                let bytes = UnsafeRawBufferPointer(start: data, count: size * count)
                let line = String(decoding: bytes, as: UTF8.self).trimmingTrailingLineEnd()
                if !line.isEmpty { box.lastReply = line }
                return size * count
            }, "CURLOPT_HEADERFUNCTION")

        let code = withExtendedLifetime(box) { curl_easy_perform(handle) }
        if let error = box.error { throw error }
        guard code == CURLE_OK else { throw refusal(code, lastReply: box.lastReply) }
        return SMTPReceipt(reply: box.lastReply ?? "")
    }

    private func refusal(_ code: CURLcode, lastReply: String?) -> MailTransportError {
        let reply = Int(dqt_curl_response_code(curl.handle))
        let transport = curl.failure(code)
        let said = lastReply.map { ": \($0.prefix(200))" } ?? ""
        switch reply {
        case 500...599: return MailTransportError(.refused, transport.message + said, replyCode: reply)
        case 400...499: return MailTransportError(.transient, transport.message + said, replyCode: reply)
        default: return transport
        }
    }

    /// An envelope address: printable ASCII without spaces, angle brackets or line ends (it goes into a command), with
    /// an `@`.
    static func check(address: String) throws {
        guard address.contains("@"), address.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") })
        else { throw MailTransportError(.fatal, "'\(address.prefix(100))' is not an envelope address") }
    }
}

/// The message and what the callbacks saw, reached from libcurl's read and header callbacks.
private final class SubmissionBox {
    let message: any SMTPMessageSource
    var error: (any Error)?
    var lastReply: String?
    init(_ message: any SMTPMessageSource) { self.message = message }
}

extension String {
    fileprivate func trimmingTrailingLineEnd() -> String {
        var text = self[...]
        while let last = text.last, last == "\r" || last == "\n" || last == "\r\n" { text = text.dropLast() }
        return String(text)
    }
}
