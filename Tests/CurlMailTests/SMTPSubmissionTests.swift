import CurlMail
import DQTTesting
import Foundation
import MIMEMail
import Testing

/// ``SMTPSubmission`` against the real Postfix that `scripts/services.sh start` runs on loopback (TLS with the test CA),
/// which delivers into the Dovecot account: each message sent is read back over IMAP with ``IMAPConnection`` and its
/// attachment compared byte for byte with the file sent.
@Suite(
    .enabled(
        if: TestServices.shouldRun(
            TestServices.smtpURL, TestServices.smtpsURL, TestServices.smtpMailbox, TestServices.smtpRefused, TestServices.smtpDeferred,
            TestServices.imapURL, TestServices.imapUser, TestServices.imapPasswordFile, TestServices.mailCA)))
struct SMTPSubmissionTests {
    let server: TestMailServer
    let scratch: TemporaryFolder
    let mailbox: String

    init() throws {
        server = try TestMailServer()
        scratch = try TemporaryFolder("smtp-submission-tests")
        mailbox = try TestServices.require(TestServices.smtpMailbox)
    }

    func submission(_ variable: String = TestServices.smtpURL, caFile: String? = nil) throws -> SMTPSubmission {
        let endpoint = try MailEndpoint(
            url: try TestServices.require(variable), schemes: ["smtp", "smtps"], user: "", password: .noLogin,
            caFile: caFile ?? server.caFile, connectTimeout: 5, operationTimeout: 20)
        return try SMTPSubmission(endpoint: endpoint)
    }

    /// The golden prohibitions CSV, repeated until it is about `size` bytes: several of the message's 57 KiB chunks.
    func attachment(size: Int) throws -> String {
        let golden = try Data(
            contentsOf: URL(
                fileURLWithPath: repositoryRoot.appendingPathComponent("fixtures/outbound/prohibitions-ewc/Prohibitions_20261206_030000.csv").path))
        var data = Data()
        while data.count < size { data += golden }
        let path = scratch.path("Prohibitions_20261206_030000.csv")
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    func message(id: String, to: [String], attachment path: String) throws -> AttachmentMessage {
        try AttachmentMessage(
            from: "dqt-bridge@dqt.test", to: to, subject: "Teaching alerts and prohibitions from the DQT", messageID: id,
            date: Date(timeIntervalSince1970: 1_796_500_000), text: "Attached: the prohibitions file.\n", attachment: path,
            attachmentName: "Prohibitions_20261206_030000.csv")
    }

    /// Waits for the message with `id` to reach the INBOX (Postfix delivers in the background); its UID.
    func delivered(id: String) async throws -> UInt32? {
        for _ in 0..<150 {
            let answer = try server.curl(["\(server.url)/INBOX", "-X", "UID SEARCH HEADER Message-ID \"<\(id)>\""])
            let uids = answer.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("* SEARCH") }
                .flatMap { $0.split(separator: " ").dropFirst(2).compactMap { UInt32($0) } }
            if let uid = uids.first {
                #expect(uids.count == 1, "the message was delivered once")
                return uid
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        return nil
    }

    @Test(arguments: [TestServices.smtpURL, TestServices.smtpsURL])
    func roundTripThroughPostfixIntoDovecot(url: String) async throws {
        let file = try attachment(size: 300_000)
        let id = "\(UUID().uuidString.lowercased())@dqt-bridge.test"
        let receipt = try submission(url).submit(
            from: "dqt-bridge@dqt.test", to: [mailbox], message: try message(id: id, to: [mailbox], attachment: file))
        #expect(receipt.reply.hasPrefix("250"))
        #expect(receipt.queueID?.isEmpty == false)

        let uid = try #require(try await delivered(id: id))
        let imap = try IMAPConnection(
            endpoint: try MailEndpoint(
                url: server.url, schemes: ["imaps"], user: server.user, password: try MailSecret(contentsOfFile: server.passwordFile),
                caFile: server.caFile))
        let inbox = try IMAPMailbox("INBOX")
        let uidValidity = try imap.uidValidity(of: inbox)
        let eml = scratch.path("received.eml")
        #expect(FileManager.default.createFile(atPath: eml, contents: nil))
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: eml))
        try imap.fetch(uid: uid, in: inbox, uidValidity: uidValidity) { chunk in out.write(Data(chunk)) }
        try out.close()
        defer { _ = try? server.curl(["\(server.url)/INBOX", "-X", "UID STORE \(uid) +FLAGS.SILENT (\\Deleted)"]) }

        let parsed = try MailReader.read(path: eml, extractingAttachmentsTo: scratch.path("parts"))
        #expect(parsed.messageID == "<\(id)>")
        #expect(parsed.subject == "Teaching alerts and prohibitions from the DQT")
        let attached = try #require(parsed.attachments.first)
        #expect(parsed.attachments.count == 1)
        #expect(attached.filename == "Prohibitions_20261206_030000.csv")
        #expect(try Data(contentsOf: URL(fileURLWithPath: attached.path)) == Data(contentsOf: URL(fileURLWithPath: file)))
    }

    @Test func permanentRefusalIsRefusedWithItsCode() throws {
        let refused = try TestServices.require(TestServices.smtpRefused)
        let file = try attachment(size: 1)
        let error = try #require(throws: MailTransportError.self) {
            try submission().submit(
                from: "dqt-bridge@dqt.test", to: [refused], message: try message(id: "r-\(UUID())@t", to: [refused], attachment: file))
        }
        #expect(error.kind == .refused)
        #expect(error.replyCode == 550)
    }

    @Test func temporaryRefusalIsTransientWithItsCode() throws {
        let deferred = try TestServices.require(TestServices.smtpDeferred)
        let file = try attachment(size: 1)
        let error = try #require(throws: MailTransportError.self) {
            try submission(TestServices.smtpsURL).submit(
                from: "dqt-bridge@dqt.test", to: [mailbox, deferred], message: try message(id: "d-\(UUID())@t", to: [deferred], attachment: file))
        }
        #expect(error.kind == .transient)
        #expect(error.replyCode == 450)
    }

    @Test func serverNotTrustedWithoutItsCA() throws {
        let file = try attachment(size: 1)
        let error = try #require(throws: MailTransportError.self) {
            try submission(caFile: "/etc/ssl/certs/ca-certificates.crt").submit(
                from: "dqt-bridge@dqt.test", to: [mailbox], message: try message(id: "u-\(UUID())@t", to: [mailbox], attachment: file))
        }
        #expect(error.kind == .fatal)
        #expect(error.replyCode == nil)
    }

    @Test func connectionRefusedIsTransient() throws {
        let port = try freeLoopbackPort()
        let endpoint = try MailEndpoint(url: "smtp://127.0.0.1:\(port)", schemes: ["smtp"], user: "", password: .noLogin, caFile: server.caFile)
        let file = try attachment(size: 1)
        let error = try #require(throws: MailTransportError.self) {
            try SMTPSubmission(endpoint: endpoint).submit(
                from: "dqt-bridge@dqt.test", to: [mailbox], message: try message(id: "c-\(UUID())@t", to: [mailbox], attachment: file))
        }
        #expect(error.kind == .transient)
    }

    @Test func envelopeAddressCannotCarryACommand() throws {
        let file = try attachment(size: 1)
        #expect(throws: MailTransportError.self) {
            try submission().submit(
                from: "dqt-bridge@dqt.test", to: ["a@b\r\nRCPT TO:<x@y>"], message: try message(id: "e-\(UUID())@t", to: [mailbox], attachment: file))
        }
    }

    @Test func receiptNamesTheQueueID() {
        #expect(SMTPReceipt(reply: "250 2.0.0 Ok: queued as 4T1x2C0abc").queueID == "4T1x2C0abc")
        #expect(SMTPReceipt(reply: "250 OK id=1rXyZ-0001").queueID == nil)
    }
}
