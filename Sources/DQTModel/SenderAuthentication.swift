extension ReceivedEmail {
    /// The rules on the From and Sender fields that hold whatever the feed: exactly one From field holding exactly
    /// one mailbox, parsed as RFC 5322 says. Checked before any feed is chosen, so a forged header never picks one.
    public var headerRefusal: SenderRefusal? {
        let evidence = self.evidence
        if evidence.fromFields == 0 { return SenderRefusal(code: "sender-malformed", message: "the email has no From field") }
        if evidence.fromFields > 1 {
            return SenderRefusal(code: "multiple-from", message: "the email has \(evidence.fromFields) From fields: exactly one is accepted")
        }
        if let problem = evidence.fromProblem {
            return SenderRefusal(code: "sender-malformed", message: "the From field is not a valid RFC 5322 address: \(problem)")
        }
        if evidence.fromHasGroup || evidence.fromMailboxes.count != 1 {
            return SenderRefusal(
                code: "multiple-from",
                message: "the From field holds \(evidence.fromMailboxes.count) mailboxes or a group: exactly one mailbox is accepted")
        }
        return nil
    }
}

extension EmailSettings {
    /// Whether this feed accepts the email's sender: the header rules, the allow-list, the Sender field, then the
    /// feed's proof. Nil when accepted. The run's routing and `dqt-bridge check` both decide with this.
    public func authenticate(_ email: ReceivedEmail) -> SenderRefusal? {
        if let refusal = email.headerRefusal { return refusal }
        guard let sender = email.sender?.lowercased(), allows(sender: sender) else {
            return SenderRefusal(code: "sender-not-allowed", message: "the sender is not on this feed's allow-list")
        }
        for other in email.evidence.senders where other?.lowercased() != sender {
            return SenderRefusal(code: "sender-mismatch", message: "the Sender field names another mailbox than From")
        }
        return proofRefusal(sender: sender, evidence: email.evidence)
    }

    /// The feed's proofs: either one configured mechanism passing is enough. When none passes, the S/MIME refusal
    /// is reported for a signed email, the DKIM one otherwise.
    func proofRefusal(sender: String, evidence: SenderEvidence) -> SenderRefusal? {
        var dkimRefusal: SenderRefusal?
        if let authservID = trust.dkimAuthservID {
            guard let refusal = verifyDKIM(sender: sender, authservID: authservID, evidence: evidence) else { return nil }
            dkimRefusal = refusal
        }
        var smimeRefusal: SenderRefusal?
        if !trust.smimeCertificates.isEmpty {
            guard let refusal = verifySMIME(sender: sender, evidence: evidence) else { return nil }
            smimeRefusal = refusal
        }
        if let smimeRefusal, evidence.smime != nil || dkimRefusal == nil { return smimeRefusal }
        return dkimRefusal ?? SenderRefusal(code: "sender-unauthenticated", message: "the feed names no way to prove its senders")
    }

    /// DKIM under our authserv-id: only the topmost Authentication-Results fields that our MTA added count (it adds
    /// its own on top and strips any bearing its id from elsewhere), and one of their DKIM passes must be signed by
    /// the allowed domain, with the From address aligned (its domain the signing domain or below it).
    func verifyDKIM(sender: String, authservID: String, evidence: SenderEvidence) -> SenderRefusal? {
        let ours = evidence.authenticationResults.prefix { $0?.authservID == authservID }.compactMap { $0 }
        // dkim=none says the message carried no signature (RFC 8601 2.7.1): no proof, not a bad one.
        let results = ours.flatMap(\.dkim).filter { $0.result != "none" }
        guard !results.isEmpty else {
            return SenderRefusal(code: "sender-unauthenticated", message: "no DKIM result from our receiving MTA (\(authservID))")
        }
        let fromDomain = Self.domain(of: sender)
        let allowed = senders.filter { Self.entry($0, allows: sender) }.map(Self.domain(of:))
        let passes = results.filter { $0.result == "pass" }
        guard !passes.isEmpty else {
            return SenderRefusal(
                code: "signature-invalid",
                message: "our receiving MTA found no valid DKIM signature (\(results.map(\.result).joined(separator: ", ")))")
        }
        // RFC 8301: rsa-sha1 signatures are not to be taken as valid; a verifier that still passes them proves nothing.
        let strong = passes.filter { $0.algorithm != "rsa-sha1" }
        guard !strong.isEmpty else {
            return SenderRefusal(code: "signature-invalid", message: "the only valid DKIM signature uses rsa-sha1, which RFC 8301 no longer accepts")
        }
        let aligned = strong.contains { result in
            guard let signer = result.domain else { return false }
            let identityAligned = result.identity.map { Self.isWithin(Self.domain(of: $0), signer) } ?? true
            return identityAligned && Self.isWithin(fromDomain, signer) && allowed.contains { Self.isWithin(signer, $0) }
        }
        guard aligned else {
            return SenderRefusal(code: "sender-forged", message: "the DKIM signature is not from the sender's domain: the From field is not proved")
        }
        return nil
    }

    static func domain(of address: String) -> String {
        String(address.lowercased().split(separator: "@", omittingEmptySubsequences: false).last ?? "")
    }

    /// `domain` is `parent` or a subdomain of it.
    static func isWithin(_ domain: String, _ parent: String) -> Bool {
        !parent.isEmpty && (domain == parent || domain.hasSuffix("." + parent))
    }
}
