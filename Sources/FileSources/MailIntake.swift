public import DQTModel
import Dispatch
public import Foundation
import MIMEMail
import SMIME

/// The source stage's reading of an emailed exchange. The .eml is parsed once, streaming: its attachments are decoded
/// into a folder and hashed on the way. Routing and the feed's checker work from what it yields, never from the .eml.
///
/// An S/MIME signed email is verified here, against every certificate pinned by `pinned` (the email feeds' pins,
/// all together: the feed is not chosen yet), and its attachments are read from the signed content only, so
/// anything outside the signature is ignored. Which feed's pins the signer must be among is
/// ``EmailSettings/authenticate(_:)``'s decision.
public enum MailIntake {
    /// Reads the .eml at `emlPath`, extracting its attachments into `directory`; an S/MIME signature is verified
    /// against `pinned`, its signer's validity window at `now`.
    ///
    /// `directory` is made afresh, anything in it removed first: attachment names are made unique within the folder,
    /// so the leftovers of an earlier read would change the names that reports and the ledger record.
    public static func read(emlPath: String, into directory: String, pinned: [PinnedCertificate] = [], now: Date = Date()) throws
        -> ReceivedEmail
    {
        try fresh(directory)
        let message = try MailReader.read(path: emlPath, extractingAttachmentsTo: directory)
        var evidence = SenderEvidence(message: message)
        var attachments = message.attachments
        if SMIMEVerifier.isSMIME(contentType: message.contentTypeField) {
            let contentPath = directory + ".signed"
            defer { try? FileManager.default.removeItem(atPath: contentPath) }
            let verification = SMIMEVerifier(pinned: pinned).verify(messagePath: emlPath, contentPath: contentPath, now: now)
            var smime = verification.evidence
            // Without a readable S/MIME structure there is no signed content: the attachments stay as the MIME
            // parser found them, for a feed that DKIM proves; an S/MIME feed refuses the email.
            if verification.wroteContent {
                try fresh(directory)
                let signed = try MailReader.read(path: contentPath, extractingAttachmentsTo: directory)
                attachments = signed.attachments
                smime = smime.signedFrom(SenderEvidence(message: signed).fromMailboxes)
            }
            evidence.smime = smime
        }
        return ReceivedEmail(
            sender: evidence.fromFields == 1 && evidence.fromProblem == nil && evidence.fromMailboxes.count == 1 ? evidence.fromMailboxes[0] : nil,
            attachments: attachments.map { ReceivedEmail.Attachment(name: $0.filename, path: $0.path, sha256: Hex.lowercase($0.sha256)) },
            evidence: evidence)
    }

    /// ``read(emlPath:into:pinned:now:)`` on a dispatch thread (reading the email blocks), its failure kept as the result.
    public static func readOffPool(emlPath: String, into directory: String, pinned: [PinnedCertificate] = []) async -> Result<
        ReceivedEmail, any Error
    > {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: Result { try read(emlPath: emlPath, into: directory, pinned: pinned) })
            }
        }
    }

    private static func fresh(_ directory: String) throws {
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }
}

extension Sequence<EmailSettings> {
    /// Every certificate the feeds pin, each once: what the intake verifies a signature against before routing.
    public var pinnedCertificates: [PinnedCertificate] {
        var seen = Set<String>()
        return flatMap(\.trust.smimeCertificates).filter { seen.insert($0.sha256).inserted }
    }
}
