public import DQTModel

/// One email feed's routing rules, as the mail drop needs them.
public struct MailRoute: Sendable {
    public let feed: String
    public let rules: EmailSettings

    public init(feed: String, rules: EmailSettings) {
        self.feed = feed
        self.rules = rules
    }
}

/// Routes an email from a mail drop to the feed that takes it: the feed whose email rules allow the sender and take
/// one of its attachments, once the sender is proved by that feed's trust settings (``EmailSettings/authenticate(_:)``).
public enum MailRouting {
    public enum Decision: Sendable, Equatable {
        /// The id of the feed that takes the email.
        case feed(String)
        /// No feed takes the email: the code and a message without personal data.
        case refused(code: String, message: String)
    }

    public struct Routed: Sendable {
        public let decision: Decision
        /// The envelope sender address (organisation addresses; kept in the ledger, never logged).
        public let sender: String?
        public let attachments: [String]
    }

    /// Routes an email as ``MailIntake`` read it, among `routes` in order; an email that could not be read is refused.
    public static func route(_ read: Result<ReceivedEmail, any Error>, routes: [MailRoute]) -> Routed {
        let email: ReceivedEmail
        switch read {
        case .success(let received): email = received
        case .failure(let error):
            return Routed(decision: .refused(code: "mail-error", message: "the email cannot be read: \(error)"), sender: nil, attachments: [])
        }
        let names = email.attachments.map(\.name)
        if let refusal = email.headerRefusal {
            return Routed(decision: .refused(code: refusal.code, message: refusal.message), sender: email.sender, attachments: names)
        }
        let allowing = routes.filter { $0.rules.allows(sender: email.sender) }
        guard !allowing.isEmpty else {
            return Routed(
                decision: .refused(code: "sender-not-allowed", message: "no email feed allows this sender"),
                sender: email.sender, attachments: names)
        }
        let taking = allowing.filter { route in names.contains { route.rules.takes(attachmentNamed: $0) } }
        switch taking.count {
        case 1:
            if let refusal = taking[0].rules.authenticate(email) {
                return Routed(decision: .refused(code: refusal.code, message: refusal.message), sender: email.sender, attachments: names)
            }
            return Routed(decision: .feed(taking[0].feed), sender: email.sender, attachments: names)
        case 0:
            // An S/MIME structure that could not be read leaves only its own parts (an opaque smime.p7m): the
            // signature's refusal says why better than the missing attachment.
            if let refusal = email.evidence.smime?.refusal {
                return Routed(decision: .refused(code: refusal.code, message: refusal.message), sender: email.sender, attachments: names)
            }
            let patterns = Set(allowing.flatMap(\.rules.attachments)).sorted().joined(separator: ", ")
            return Routed(
                decision: .refused(code: "no-attachment", message: "the email has no attachment matching \(patterns)"),
                sender: email.sender, attachments: names)
        default:
            return Routed(
                decision: .refused(
                    code: "ambiguous-feed",
                    message:
                        "several feeds take this email (\(taking.map(\.feed).joined(separator: ", "))): narrow their sender or attachment settings"),
                sender: email.sender, attachments: names)
        }
    }
}
