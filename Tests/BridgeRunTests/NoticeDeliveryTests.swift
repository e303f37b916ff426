import CurlMail
import DQTTesting
import Delivery
import Foundation
import Ledger
import MIMEMail
import Testing

@testable import BridgeRun

/// The notice sender against the real Postfix (TLS, the test CA) delivering into the real Dovecot, with the ledger in
/// a PostgreSQL database of the test's own: what arrives is read back over IMAP and counted by Message-ID with the
/// `curl` program, a client independent of the bridge's.
@Suite(
    .enabled(
        if: TestServices.shouldRun(
            TestServices.databaseURL, TestServices.smtpURL, TestServices.smtpsURL, TestServices.smtpMailbox, TestServices.smtpRefused,
            TestServices.smtpDeferred, TestServices.imapURL, TestServices.imapUser, TestServices.imapPasswordFile, TestServices.mailCA)))
struct NoticeDeliveryTests {
    let server: TestMailServer
    let mailbox: String

    init() throws {
        server = try TestMailServer()
        mailbox = try TestServices.require(TestServices.smtpMailbox)
    }

    func submission(_ variable: String = TestServices.smtpURL) throws -> SMTPSubmission {
        try SMTPSubmission(
            endpoint: try MailEndpoint(
                url: try TestServices.require(variable), schemes: ["smtp", "smtps"], user: "", password: .noLogin, caFile: server.caFile,
                connectTimeout: 5, operationTimeout: 20))
    }

    func imap() throws -> IMAPConnection {
        try IMAPConnection(
            endpoint: try MailEndpoint(
                url: server.url, schemes: ["imaps"], user: server.user, password: try MailSecret(contentsOfFile: server.passwordFile),
                caFile: server.caFile))
    }

    /// The sent copy: the test account's INBOX (the only mailbox the test MTA delivers to).
    func sentCopy() throws -> IMAPSentCopy { IMAPSentCopy(connection: try imap(), folder: try IMAPMailbox("INBOX")) }

    func policy(grace: Double = 900) -> NoticePolicy {
        var policy = NoticePolicy.test(sentCopy: mailbox, grace: grace)
        policy.from = "dqt-bridge@dqt.test"
        return policy
    }

    /// UIDs in the INBOX with this Message-ID, by the curl program.
    func uids(_ messageID: String) throws -> [UInt32] {
        let answer = try server.curl(["\(server.url)/INBOX", "-X", "UID SEARCH HEADER Message-ID \"<\(messageID)>\""])
        return answer.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("* SEARCH") }
            .flatMap { $0.split(separator: " ").dropFirst(2).compactMap { UInt32($0) } }
    }

    /// Waits for Postfix to deliver the message (in the background), then a little longer for any second copy.
    func deliveredCount(_ messageID: String) async throws -> Int {
        for _ in 0..<150 where try uids(messageID).isEmpty { try await Task.sleep(for: .milliseconds(200)) }
        try await Task.sleep(for: .seconds(1))
        return try uids(messageID).count
    }

    func removeFromInbox(_ messageID: String) throws {
        for uid in try uids(messageID) { _ = try server.curl(["\(server.url)/INBOX", "-X", "UID STORE \(uid) +FLAGS.SILENT (\\Deleted)"]) }
    }

    func withLedger(_ body: (PostgresLedger) async throws -> Void) async throws {
        try await TemporaryDatabase.with(prefix: "notice_test") { database in
            let ledger = PostgresLedger(conninfo: database.url)
            defer { ledger.close() }
            try await ledger.migrate()
            try await body(ledger)
        }
    }

    @Test(arguments: [TestServices.smtpURL, TestServices.smtpsURL])
    func roundTripIntoDovecot(url: String) async throws {
        try await withLedger { ledger in
            let box = try NoticeOutbox("notice-round-trip")
            let (entry, file) = try box.add(to: [mailbox], size: 200_000)
            let outcomes = try await noticePass(
                ledger: ledger, outbox: box.outbox, submitter: try submission(url), sentCopy: try sentCopy(), policy: policy())
            #expect(outcomes.map(\.state) == [.sent])
            let row = try #require(try await ledger.notice(entry: entry))
            #expect(row.state == .sent && row.queueID != nil && row.reply?.hasPrefix("250") == true)
            #expect(box.outbox.location(of: entry) == .sent)
            #expect(try await deliveredCount(row.messageID) == 1, "one copy for the partner and the sent copy (one mailbox here)")
            defer { try? removeFromInbox(row.messageID) }

            let connection = try imap()
            let inbox = try IMAPMailbox("INBOX")
            let uid = try #require(try uids(row.messageID).first)
            let eml = box.scratch.path("received.eml")
            #expect(FileManager.default.createFile(atPath: eml, contents: nil))
            let out = try FileHandle(forWritingTo: URL(fileURLWithPath: eml))
            try connection.fetch(uid: uid, in: inbox, uidValidity: try connection.uidValidity(of: inbox)) { out.write(Data($0)) }
            try out.close()
            let parsed = try MailReader.read(path: eml, extractingAttachmentsTo: box.scratch.path("parts"))
            #expect(parsed.messageID == "<\(row.messageID)>")
            #expect(parsed.subject == "Teaching alerts and prohibitions from the DQT")
            #expect(parsed.to?.contains(mailbox) == true)
            let attached = try #require(parsed.attachments.first)
            #expect(parsed.attachments.count == 1)
            #expect(attached.filename == entry)
            #expect(try Data(contentsOf: URL(fileURLWithPath: attached.path)) == Data(contentsOf: URL(fileURLWithPath: file)))
        }
    }

    @Test func refusedRecipientIsReportedAndNotRetried() async throws {
        try await withLedger { ledger in
            let box = try NoticeOutbox("notice-refused")
            let (entry, _) = try box.add(to: [try TestServices.require(TestServices.smtpRefused)])
            let first = try await noticePass(
                ledger: ledger, outbox: box.outbox, submitter: try submission(), sentCopy: try sentCopy(), policy: policy())
            #expect(first.map(\.state) == [.refused] && first[0].needsAttention)
            let again = try await noticePass(
                ledger: ledger, outbox: box.outbox, submitter: try submission(), sentCopy: try sentCopy(), policy: policy())
            #expect(again.isEmpty)
            let row = try #require(try await ledger.notice(entry: entry))
            #expect(row.state == .refused && row.attempts == 1 && row.reply?.contains("550") == true)
            #expect(box.outbox.location(of: entry) == .outbox)
            #expect(try uids(row.messageID).isEmpty)
        }
    }

    @Test func deferredRecipientIsRetriedThenGivenUp() async throws {
        try await withLedger { ledger in
            let box = try NoticeOutbox("notice-deferred")
            let (entry, _) = try box.add(to: [try TestServices.require(TestServices.smtpDeferred)])
            let first = try await noticePass(
                ledger: ledger, outbox: box.outbox, submitter: try submission(), sentCopy: try sentCopy(), policy: policy())
            #expect(first.map(\.state) == [.pending])
            #expect(try await ledger.notice(entry: entry)?.attempts == 2)
            let second = try await noticePass(
                ledger: ledger, outbox: box.outbox, submitter: try submission(), sentCopy: try sentCopy(), policy: policy())
            #expect(second.map(\.state) == [.givenUp] && second[0].needsAttention)
            let row = try #require(try await ledger.notice(entry: entry))
            #expect(row.state == .givenUp && row.attempts == 4 && row.reply?.contains("450") == true)
            #expect(try await ledger.noticeEvents(id: row.id).filter { $0.to == .submitting }.count == 4)
            #expect(try uids(row.messageID).isEmpty, "a message with a deferred recipient is queued for none")
        }
    }

    /// The server queued the message but its reply never reached the ledger: the next pass finds the copy and sends
    /// nothing more.
    @Test func queuedButUnrecordedIsProvedFromTheSentCopy() async throws {
        try await withLedger { ledger in
            let box = try NoticeOutbox("notice-proved")
            let (entry, _) = try box.add(to: [mailbox])
            let losing = ReplyLosingSubmitter(try submission(), losesReplies: 1)
            let first = try await noticePass(ledger: ledger, outbox: box.outbox, submitter: losing, sentCopy: try sentCopy(), policy: policy())
            #expect(first.map(\.state) == [.submitting])
            let row = try #require(try await ledger.notice(entry: entry))
            #expect(try await deliveredCount(row.messageID) == 1)
            defer { try? removeFromInbox(row.messageID) }
            let second = try await noticePass(ledger: ledger, outbox: box.outbox, submitter: losing, sentCopy: try sentCopy(), policy: policy())
            #expect(second.map(\.state) == [.sent])
            #expect(losing.submissions == 1)
            #expect(try await deliveredCount(row.messageID) == 1)
        }
    }

    /// The attempt never reached the server (it died mid-message): no copy after the grace period, so it is sent again,
    /// and arrives once.
    @Test func unqueuedAttemptIsResentOnceAfterTheGracePeriod() async throws {
        try await withLedger { ledger in
            let box = try NoticeOutbox("notice-resent")
            let (entry, _) = try box.add(to: [mailbox])
            let dropping = ReplyLosingSubmitter(try submission(), losesReplies: 0, dropsFirst: true)
            // The grace period is judged on a clock the test moves: a loaded machine's slow pass cannot end it early.
            let clock = NoticeClock()
            let now: @Sendable () -> Date = { clock.date }
            let first = try await noticePass(
                ledger: ledger, outbox: box.outbox, submitter: dropping, sentCopy: try sentCopy(), policy: policy(grace: 60), clock: now)
            #expect(first.map(\.state) == [.submitting])
            let row = try #require(try await ledger.notice(entry: entry))
            clock.advance(30)
            let early = try await noticePass(
                ledger: ledger, outbox: box.outbox, submitter: dropping, sentCopy: try sentCopy(), policy: policy(grace: 60), clock: now)
            #expect(early.map(\.state) == [.submitting], "within the grace period nothing is sent")
            clock.advance(31)
            let late = try await noticePass(
                ledger: ledger, outbox: box.outbox, submitter: dropping, sentCopy: try sentCopy(), policy: policy(grace: 60), clock: now)
            #expect(late.map(\.state) == [.sent])
            defer { try? removeFromInbox(row.messageID) }
            #expect(dropping.submissions == 1)
            #expect(try await deliveredCount(row.messageID) == 1)
            #expect(try await ledger.notice(entry: entry)?.attempts == 2)
        }
    }
}

/// The real submission, with faults a crash or a network would make: the first `losesReplies` messages are queued but
/// their reply is lost; with `dropsFirst` the first message is read but never reaches the server.
final class ReplyLosingSubmitter: NoticeSubmitter, @unchecked Sendable {
    let real: SMTPSubmission
    private var losesReplies: Int
    private var dropsFirst: Bool
    /// Messages the real server took.
    private(set) var submissions = 0

    init(_ real: SMTPSubmission, losesReplies: Int, dropsFirst: Bool = false) {
        self.real = real
        self.losesReplies = losesReplies
        self.dropsFirst = dropsFirst
    }

    func submit(from sender: String, to recipients: [String], message: some SMTPMessageSource) throws -> SMTPReceipt {
        if dropsFirst {
            dropsFirst = false
            var buffer = [UInt8](repeating: 0, count: 1024)
            _ = try buffer.withUnsafeMutableBytes { try message.read(into: $0) }
            throw MailTransportError(.transient, "connection lost while sending the message")
        }
        let receipt = try real.submit(from: sender, to: recipients, message: message)
        submissions += 1
        if losesReplies > 0 {
            losesReplies -= 1
            throw MailTransportError(.transient, "connection lost before the reply to the message")
        }
        return receipt
    }
}
