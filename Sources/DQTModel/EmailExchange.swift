/// For exchanges that arrive by email: who may send them and which attachments carry the records.
///
/// The mail intake routes an email with these rules and the feed's checker applies them again, so both read the
/// same values and the same matching.
public struct EmailSettings: Sendable, Hashable {
    /// Allowed senders: full addresses, or `@domain` for a whole domain.
    public let senders: [String]
    /// Globs for the attachment names that hold records.
    public let attachments: [String]
    /// How the senders prove who they are; a From field alone proves nothing.
    public let trust: SenderTrust

    public init(senders: [String], attachments: [String], trust: SenderTrust) {
        self.senders = senders
        self.attachments = attachments
        self.trust = trust
    }

    /// Whether `sender` (an address, compared case-insensitively) is on the allow-list; no sender is never allowed.
    public func allows(sender: String?) -> Bool {
        guard let sender else { return false }
        return senders.contains { Self.entry($0, allows: sender) }
    }

    /// Whether one allow-list entry (an address, or `@domain`) covers `sender`, case-insensitively.
    static func entry(_ entry: String, allows sender: String) -> Bool {
        let (entry, sender) = (entry.lowercased(), sender.lowercased())
        return entry.hasPrefix("@") ? sender.hasSuffix(entry) : sender == entry
    }

    /// Whether an attachment with this (sanitised) name holds records.
    public func takes(attachmentNamed name: String) -> Bool {
        attachments.contains { FileNamePattern.matches($0, name: name) }
    }
}

/// An email as the mail intake read it, once: the sender and every attachment, extracted to a file and hashed.
public struct ReceivedEmail: Sendable, Hashable {
    /// The address of the From field's one mailbox; nil when there is not exactly one. Kept with the records,
    /// never logged.
    public let sender: String?
    /// In the order they appear in the message.
    public let attachments: [Attachment]
    /// The From, Sender and Authentication-Results fields, parsed: what proves (or does not) the sender.
    public let evidence: SenderEvidence

    public init(sender: String?, attachments: [Attachment], evidence: SenderEvidence) {
        self.sender = sender
        self.attachments = attachments
        self.evidence = evidence
    }

    public struct Attachment: Sendable, Hashable {
        /// The sanitised file name, unique within the email (no path separators, no `..`, no control characters).
        public let name: String
        /// The extracted file.
        public let path: String
        /// Lowercase hex SHA-256 of the decoded content: the records' idempotency keys are built from it, so the
        /// same attachment resent in another email makes the same keys.
        public let sha256: String

        public init(name: String, path: String, sha256: String) {
            self.name = name
            self.path = path
            self.sha256 = sha256
        }
    }
}
