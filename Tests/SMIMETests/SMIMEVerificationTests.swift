import DQTModel
import DQTTesting
import FileSources
import Foundation
import SMIME
import Testing

/// S/MIME verified for real: notices signed by `openssl cms -sign` with keys made in the test, read by the intake
/// and judged by the feed's trust settings.
@Suite("S/MIME: signed notices verified against the feed's pinned certificates", .timeLimit(.minutes(5)))
struct SMIMEVerificationTests {
    @Test(
        "A notice signed by the pinned partner is accepted, detached or opaque, and its CSV is read from the signed content",
        arguments: [true, false])
    func goodNoticeIsAccepted(detached: Bool) throws {
        let notices = try SignedNotices()
        let email = try notices.read(try notices.notice("good", detached: detached))
        let smime = try #require(email.evidence.smime)
        #expect(smime.refusal == nil)
        #expect(smime.signerSHA256 == notices.pinned.sha256)
        #expect(smime.signerEmails == [SignedNotices.address])
        #expect(notices.rules().authenticate(email) == nil)
        #expect(email.attachments.map(\.name) == ["prohibitions.csv"])
        #expect(email.attachments.first?.sha256 == (try notices.unsignedCSVDigest()))
        let routed = MailRouting.route(.success(email), routes: [MailRoute(feed: "prohibition-notices", rules: notices.rules())])
        #expect(routed.decision == .feed("prohibition-notices"))
    }

    @Test("A tampered signed body is refused as signature-invalid", arguments: [true, false])
    func tamperedBodyIsRefused(detached: Bool) throws {
        let notices = try SignedNotices()
        let path = try notices.notice("tampered", detached: detached)
        // Detached: one base64 character of the CSV; opaque: one character of the encapsulated content, which
        // still decodes (the signature's DER stays well formed).
        if detached {
            try SMIMETestPartner.tamper(path, replacing: "VFJOLERhdGUgb2Yg", with: "VFJOLERhdGUgb2Zg")
        } else {
            try SMIMETestPartner.tamperOpaque(path)
        }
        let email = try notices.read(path)
        #expect(email.evidence.smime?.refusal?.code == "signature-invalid")
        #expect(notices.rules().authenticate(email)?.code == "signature-invalid")
    }

    @Test("A notice signed by a certificate the feed does not pin is refused as certificate-unknown")
    func unknownSignerIsRefused() throws {
        let notices = try SignedNotices()
        let path = try notices.notice("stranger", signer: notices.stranger)
        // Pinned by no feed: the intake finds no pinned signer.
        let unpinned = try notices.read(path)
        #expect(unpinned.evidence.smime?.signerSHA256 == nil)
        #expect(notices.rules().authenticate(unpinned)?.code == "certificate-unknown")
        // Pinned by another feed: the signature verifies, but not for this feed.
        let otherFeeds = try notices.read(path, pinned: [notices.pinned, notices.strangerPinned])
        #expect(otherFeeds.evidence.smime?.signerSHA256 == notices.strangerPinned.sha256)
        #expect(otherFeeds.evidence.smime?.refusal == nil)
        #expect(notices.rules().authenticate(otherFeeds)?.code == "certificate-unknown")
        #expect(notices.rules(pins: [notices.pinned, notices.strangerPinned]).authenticate(otherFeeds) == nil)
    }

    @Test("A signer certificate outside its validity window at verification time is refused as certificate-expired")
    func expiredCertificateIsRefused() throws {
        let notices = try SignedNotices()
        let path = try notices.notice("expired")
        for (offset, reason) in [(31.0 * 86400, "expired"), (-86400.0, "not yet valid")] {
            let email = try notices.read(path, now: Date().addingTimeInterval(offset))
            let refusal = try #require(notices.rules().authenticate(email))
            #expect(refusal.code == "certificate-expired")
            #expect(refusal.message.contains(reason))
        }
        #expect(notices.rules().authenticate(try notices.read(path, now: Date().addingTimeInterval(29 * 86400))) == nil)
    }

    @Test("An unsigned notice on a feed that requires S/MIME is refused as sender-unauthenticated")
    func unsignedNoticeIsRefused() throws {
        let notices = try SignedNotices()
        let email = try notices.read(repositoryRoot.appendingPathComponent("fixtures/prohibition-notices/good/ewc-notices-20261120-base64.eml").path)
        #expect(email.evidence.smime == nil)
        #expect(notices.rules().authenticate(email)?.code == "sender-unauthenticated")
    }

    @Test("The outer From must be an address of the signer's certificate; a From inside the signed content must match it")
    func fromMustMatchTheCertificate() throws {
        let notices = try SignedNotices()
        let other = try notices.read(try notices.notice("other-from", from: "someone.else@ewc.wales.example"))
        #expect(other.evidence.smime?.refusal == nil)
        #expect(notices.rules().authenticate(other)?.code == "sender-forged")
        let inner = try notices.read(try notices.notice("inner-from", innerHeaders: ["From: attacker@mail.example"]))
        #expect(notices.rules().authenticate(inner)?.code == "sender-mismatch")
        let same = try notices.read(try notices.notice("inner-same", innerHeaders: ["From: EWC <\(SignedNotices.address)>"]))
        #expect(notices.rules().authenticate(same) == nil)
    }

    @Test("With DKIM and S/MIME both configured, either proof is enough; with neither, the S/MIME refusal of a signed email is given")
    func eitherProofIsEnough() throws {
        let notices = try SignedNotices()
        let unsigned = try notices.read(
            repositoryRoot.appendingPathComponent("fixtures/prohibition-notices/good/ewc-notices-20261120-base64.eml").path)
        #expect(notices.rules(dkim: true).authenticate(unsigned) == nil)
        let signed = try notices.read(try notices.notice("signed"))
        #expect(notices.rules(dkim: true).authenticate(signed) == nil)
        let stranger = try notices.read(try notices.notice("stranger", signer: notices.stranger))
        #expect(notices.rules(dkim: true).authenticate(stranger)?.code == "certificate-unknown")
    }

    /// After a pass the attachments come from the signed content only (the good notice yields its CSV and not the
    /// signature's smime.p7s); a part added beside the signed one breaks the S/MIME structure, so it is never read as
    /// signed.
    @Test("A part added beside the signed content is refused with the signature")
    func partOutsideTheSignatureIsRefused() throws {
        let notices = try SignedNotices()
        let path = try notices.notice("extra")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let boundary = try #require(text.firstMatch(of: /boundary="([^"]+)"/)?.1)
        let extra = "Content-Type: text/csv\nContent-Disposition: attachment; filename=\"extra.csv\"\n\nTRN\n9999999\n\n"
        try SMIMETestPartner.tamper(path, replacing: "--\(boundary)--", with: "--\(boundary)\n\(extra)--\(boundary)--")
        let email = try notices.read(path)
        #expect(email.evidence.smime?.refusal?.code == "signature-invalid")
        #expect(notices.rules().authenticate(email)?.code == "signature-invalid")
        let routed = MailRouting.route(.success(email), routes: [MailRoute(feed: "prohibition-notices", rules: notices.rules())])
        #expect(routed.decision == .refused(code: "signature-invalid", message: email.evidence.smime?.refusal?.message ?? ""))
    }

    @Test("A multipart/signed of another protocol is not S/MIME: its attachments are read as the MIME parser finds them")
    func otherProtocolIsNotSMIME() throws {
        #expect(SMIMEVerifier.isSMIME(contentType: "multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256"))
        #expect(SMIMEVerifier.isSMIME(contentType: "Application/PKCS7-MIME; smime-type=signed-data"))
        #expect(!SMIMEVerifier.isSMIME(contentType: "multipart/signed; protocol=\"application/pgp-signature\""))
        #expect(!SMIMEVerifier.isSMIME(contentType: "multipart/mixed; boundary=b"))
    }
}
