import CurlMail
import Dispatch
import Foundation

/// Submits a message over SMTP: ``SMTPSubmission``, or a stand-in in unit tests.
protocol NoticeSubmitter: AnyObject {
    func submit(from sender: String, to recipients: [String], message: some SMTPMessageSource) throws -> SMTPReceipt
}

extension SMTPSubmission: NoticeSubmitter {}

/// Finds a copy of a message the bridge sent, by its Message-ID, in the TQ unit's own mailbox (the sent copy).
protocol SentCopyFinder: AnyObject {
    func containsMessage(id messageID: String) throws -> Bool
}

/// The sent copy in an IMAP folder, looked up with `UID SEARCH HEADER Message-ID`.
final class IMAPSentCopy: SentCopyFinder {
    let connection: IMAPConnection
    let folder: IMAPMailbox

    init(connection: IMAPConnection, folder: IMAPMailbox) {
        self.connection = connection
        self.folder = folder
    }

    func containsMessage(id messageID: String) throws -> Bool {
        !(try connection.uids(withHeader: "Message-ID", containing: "<\(messageID)>", in: folder)).isEmpty
    }
}

/// How one submission ended: the server's receipt, or the error and whether the message's bytes had started to go
/// (before that, the server cannot have queued it).
struct SubmissionResult: Sendable {
    let receipt: SMTPReceipt?
    let error: (any Error)?
    let messageStarted: Bool
}

/// The notice sender's mail connections, used only on their own serial dispatch queue: libcurl's calls block, and
/// never on Swift's cooperative pool.
final class NoticeMailer: @unchecked Sendable {
    // @unchecked: `submitter` and `sentCopy` are touched only on `queue`.
    private let queue = DispatchQueue(label: "dqt-bridge.notices")
    private let submitter: any NoticeSubmitter
    private let sentCopy: (any SentCopyFinder)?

    init(submitter: any NoticeSubmitter, sentCopy: (any SentCopyFinder)?) {
        self.submitter = submitter
        self.sentCopy = sentCopy
    }

    var hasSentCopy: Bool { sentCopy != nil }

    /// Submits the message `build` makes (on the mail queue, so it is streamed from there).
    func submit(from sender: String, to recipients: [String], build: @escaping @Sendable () throws -> any SMTPMessageSource) async -> SubmissionResult
    {
        await withCheckedContinuation { continuation in
            queue.async {
                let counted: CountingSource
                do {
                    counted = CountingSource(try build())
                } catch {
                    continuation.resume(returning: SubmissionResult(receipt: nil, error: error, messageStarted: false))
                    return
                }
                do {
                    let receipt = try self.submitter.submit(from: sender, to: recipients, message: counted)
                    continuation.resume(returning: SubmissionResult(receipt: receipt, error: nil, messageStarted: true))
                } catch {
                    continuation.resume(returning: SubmissionResult(receipt: nil, error: error, messageStarted: counted.started))
                }
            }
        }
    }

    /// Whether the sent copy holds the message; nil without a sent copy.
    func sentCopyHolds(messageID: String) async throws -> Bool? {
        guard sentCopy != nil else { return nil }
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try self.sentCopy!.containsMessage(id: messageID) }) }
        }
    }
}

/// Passes a message's bytes on and notes whether the server asked for any: libcurl reads the message only after the
/// server accepted every recipient and answered DATA, so an error before that proves the message was not queued.
final class CountingSource: SMTPMessageSource {
    private let source: any SMTPMessageSource
    private(set) var started = false

    init(_ source: any SMTPMessageSource) { self.source = source }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        started = true
        return try source.read(into: buffer)
    }
}
