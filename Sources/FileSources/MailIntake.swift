public import DQTModel
import Dispatch
import Foundation
import MIMEMail

/// The source stage's reading of an emailed exchange. The .eml is parsed once, streaming: its attachments are decoded
/// into a folder and hashed on the way. Routing and the feed's checker work from what it yields, never from the .eml.
public enum MailIntake {
    /// Reads the .eml at `emlPath`, extracting its attachments into `directory`.
    ///
    /// `directory` is made afresh, anything in it removed first: attachment names are made unique within the folder,
    /// so the leftovers of an earlier read would change the names that reports and the ledger record.
    public static func read(emlPath: String, into directory: String) throws -> ReceivedEmail {
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let message = try MailReader.read(path: emlPath, extractingAttachmentsTo: directory)
        let evidence = SenderEvidence(message: message)
        return ReceivedEmail(
            sender: evidence.fromFields == 1 && evidence.fromProblem == nil && evidence.fromMailboxes.count == 1 ? evidence.fromMailboxes[0] : nil,
            attachments: message.attachments.map { ReceivedEmail.Attachment(name: $0.filename, path: $0.path, sha256: Hex.lowercase($0.sha256)) },
            evidence: evidence)
    }

    /// ``read(emlPath:into:)`` on a dispatch thread (reading the email blocks), its failure kept as the result.
    public static func readOffPool(emlPath: String, into directory: String) async -> Result<ReceivedEmail, any Error> {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: Result { try read(emlPath: emlPath, into: directory) })
            }
        }
    }
}
