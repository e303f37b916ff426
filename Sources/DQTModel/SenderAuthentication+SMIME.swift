extension EmailSettings {
    /// S/MIME against this feed's pinned certificates. The intake verified the signature (``SMIMEEvidence``); here
    /// the signer must be one of this feed's pins and its certificate must name the From address. The outer From
    /// field is the one authenticated (it is what routing, the allow-list and the records use); a From field inside
    /// the signed content must name the same mailbox, so the signed part never claims another author.
    func verifySMIME(sender: String, evidence: SenderEvidence) -> SenderRefusal? {
        guard let smime = evidence.smime else {
            return SenderRefusal(code: "sender-unauthenticated", message: "the email is not S/MIME signed")
        }
        if let signer = smime.signerSHA256, !trust.smimeCertificates.contains(where: { $0.sha256 == signer }) {
            return SenderRefusal(code: "certificate-unknown", message: "the email is signed by a certificate this feed does not pin")
        }
        if let refusal = smime.refusal { return refusal }
        guard smime.signerEmails.contains(sender) else {
            return SenderRefusal(code: "sender-forged", message: "the signer's certificate does not name the From address")
        }
        if smime.signedFromMailboxes.contains(where: { $0.lowercased() != sender }) {
            return SenderRefusal(code: "sender-mismatch", message: "the signed content's From field names another mailbox than the email's")
        }
        return nil
    }
}
