/// What an email says about who sent it, as the mail intake parsed it: the From and Sender fields' mailboxes and
/// the DKIM results of every Authentication-Results field, and the S/MIME signature's verification. ``EmailSettings/authenticate(_:)`` judges it.
public struct SenderEvidence: Sendable, Hashable {
    /// How many From fields the email has.
    public var fromFields: Int
    /// Every mailbox in the From field(s), group members included.
    public var fromMailboxes: [String]
    /// True when a From field holds a group (RFC 6854), which names no single author.
    public var fromHasGroup: Bool
    /// Why a From field does not parse as RFC 5322 says; nil when every one parses.
    public var fromProblem: String?
    /// Every Sender field: its one mailbox, or nil when it does not parse as one mailbox.
    public var senders: [String?]
    /// Authentication-Results fields, topmost first; nil for a field that does not parse.
    public var authenticationResults: [AuthenticationRecord?]
    /// The S/MIME signature as the intake verified it; nil when the email is not S/MIME signed.
    public var smime: SMIMEEvidence?

    public init(
        fromFields: Int = 0, fromMailboxes: [String] = [], fromHasGroup: Bool = false, fromProblem: String? = nil, senders: [String?] = [],
        authenticationResults: [AuthenticationRecord?] = [], smime: SMIMEEvidence? = nil
    ) {
        self.fromFields = fromFields
        self.fromMailboxes = fromMailboxes
        self.fromHasGroup = fromHasGroup
        self.fromProblem = fromProblem
        self.senders = senders
        self.authenticationResults = authenticationResults
        self.smime = smime
    }
}

/// One Authentication-Results field: who added it and its DKIM results.
public struct AuthenticationRecord: Sendable, Hashable {
    /// Lowercased authserv-id.
    public let authservID: String
    public let dkim: [DKIMResult]

    public init(authservID: String, dkim: [DKIMResult]) {
        self.authservID = authservID
        self.dkim = dkim
    }
}

/// A DKIM result as the receiving MTA recorded it: `dkim=pass header.d=ewc.wales header.i=@ewc.wales`.
public struct DKIMResult: Sendable, Hashable {
    /// Lowercased result: `pass`, `fail`, `neutral`, `policy`, `temperror`, `permerror`, `none`.
    public let result: String
    /// The signing domain (`header.d`), lowercased; nil when not recorded.
    public let domain: String?
    /// The agent or user identifier (`header.i`), lowercased; nil when not recorded.
    public let identity: String?
    /// The signing algorithm (`header.a`: `rsa-sha256`, `ed25519-sha256`, `rsa-sha1`), lowercased; nil when not recorded.
    public let algorithm: String?

    public init(result: String, domain: String?, identity: String?, algorithm: String? = nil) {
        self.result = result
        self.domain = domain
        self.identity = identity
        self.algorithm = algorithm
    }
}

/// How a feed's senders prove who they are. At least one mechanism is required: an email feed never trusts From.
/// When both are set, either proof is enough.
public struct SenderTrust: Sendable, Hashable {
    /// DKIM as verified by our own receiving MTA, which records it under this authserv-id (lowercased); nil when
    /// the feed does not take DKIM as proof.
    public let dkimAuthservID: String?
    /// The partner's pinned S/MIME certificates: the only signers trusted (several while a rotation overlaps); empty
    /// when the feed does not take S/MIME as proof.
    public let smimeCertificates: [PinnedCertificate]

    public init(dkimAuthservID: String? = nil, smimeCertificates: [PinnedCertificate] = []) {
        self.dkimAuthservID = dkimAuthservID?.lowercased()
        self.smimeCertificates = smimeCertificates
    }
}

/// Why an email's sender is not accepted: a stable code and a message without personal data.
public struct SenderRefusal: Sendable, Hashable, Error {
    public let code: String
    public let message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}
