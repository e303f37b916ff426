/// A mail server operation that failed, sorted by what the caller should do about it. Messages name the operation
/// and libcurl's reason, never a password or a message's content.
public struct MailTransportError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Retrying cannot help: refused login, certificate not trusted, TLS not offered, a bad setting.
        case fatal
        /// Worth trying again later: connection refused or lost, timeout.
        case transient
        /// The mailbox or message is not there (or the mailbox's UIDVALIDITY is no longer the one asked for).
        case notFound
        /// The server answered the command with NO or BAD (IMAP), or refused a submission for good with a 5xx reply
        /// (SMTP, ``MailTransportError/replyCode``).
        case refused
        /// Anything else, including a failure to write what was received.
        case failed
    }

    public let kind: Kind
    public let message: String
    /// The SMTP server's reply code when it answered with a refusal: 4xx (``Kind/transient``) or 5xx (``Kind/refused``).
    public let replyCode: Int?

    public init(_ kind: Kind, _ message: String, replyCode: Int? = nil) {
        self.kind = kind
        self.message = message
        self.replyCode = replyCode
    }

    public var description: String { message }
}
