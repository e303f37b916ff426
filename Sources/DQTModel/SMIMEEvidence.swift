/// A partner certificate a feed pins for S/MIME: messages are trusted only when signed by it.
public struct PinnedCertificate: Sendable, Hashable {
    /// The file the mapping names, for messages.
    public let path: String
    /// The certificate, DER-encoded.
    public let der: [UInt8]
    /// Lowercase hex SHA-256 of `der`: how a verified signer is matched to the feed's pins.
    public let sha256: String

    public init(path: String, der: [UInt8], sha256: String) {
        self.path = path
        self.der = der
        self.sha256 = sha256
    }
}

/// An S/MIME signature as the mail intake verified it, against every certificate pinned by any email feed. The
/// feed's own judgement (its pins, the From address) is ``EmailSettings/authenticate(_:)``'s.
public struct SMIMEEvidence: Sendable, Hashable {
    /// The SHA-256 of the pinned certificate that signed the content; nil when no pinned certificate did.
    public let signerSHA256: String?
    /// The signer certificate's email addresses (subjectAltName rfc822Name and subject emailAddress), lowercased.
    public let signerEmails: [String]
    /// Why the signature is not accepted (`signature-invalid`, `certificate-unknown`, `certificate-expired`); nil
    /// when it verified against `signerSHA256`, inside that certificate's validity window.
    public let refusal: SenderRefusal?
    /// The mailboxes of the From fields inside the signed content, if it carries any.
    public let signedFromMailboxes: [String]

    public init(signerSHA256: String?, signerEmails: [String], refusal: SenderRefusal?, signedFromMailboxes: [String] = []) {
        self.signerSHA256 = signerSHA256
        self.signerEmails = signerEmails
        self.refusal = refusal
        self.signedFromMailboxes = signedFromMailboxes
    }

    /// With the signed content's From mailboxes.
    public func signedFrom(_ mailboxes: [String]) -> SMIMEEvidence {
        SMIMEEvidence(signerSHA256: signerSHA256, signerEmails: signerEmails, refusal: refusal, signedFromMailboxes: mailboxes)
    }
}
