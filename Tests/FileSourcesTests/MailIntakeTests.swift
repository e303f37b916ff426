import DQTModel
import FileSources
import Foundation
import Testing

@Suite("Mail intake: each email read once")
struct MailIntakeTests {
    @Test("An email yields its sender and its attachment, extracted and hashed, and routes to the feed that takes it")
    func oneAttachment() throws {
        let scratch = try Scratch()
        let email = try MailIntake.read(emlPath: notices("good/ewc-notices-20261120-base64.eml"), into: scratch.path("parts"))
        #expect(email.sender == "teacher.alerts@ewc.wales.example")
        #expect(email.attachments.map(\.name) == ["prohibitions.csv"])
        let attachment = try #require(email.attachments.first)
        #expect(attachment.path == scratch.path("parts/prohibitions.csv"))
        // The decoded attachment's SHA-256: every record's idempotency key is built from it.
        #expect(attachment.sha256 == "20fc75a3bec348ba6b68d14a7f53c457feb94d8a4a900ddc5858bf10cf376f96")
        #expect(try attachment.sha256 == sha256Hex(ofFile: attachment.path))
        let routes = [MailRoute(feed: "prohibition-notices", rules: noticeRules)]
        let routed = MailRouting.route(.success(email), routes: routes)
        #expect(routed.decision == .feed("prohibition-notices"))
        #expect(routed.sender == "teacher.alerts@ewc.wales.example" && routed.attachments == ["prohibitions.csv"])
    }

    static let firstCSV =
        "TRN,Date of birth,Full name,Prohibition code,Details,Alert start date,Alert end date\r\n1000036,25/01/1967,Mocka Fakeington,T1,Prohibition order,01/11/2026,\r\n"
    static let secondCSV = "TRN,Note\r\n1000040,café\r\n"
    static let pdf = "%PDF-1.7\n%\u{e2}\u{e3}\n"

    /// Two attachments with the same name (one base64, one quoted-printable), a PDF, and a text body that is not a table.
    static func severalAttachments(from sender: String) -> String {
        """
        Authentication-Results: mx.tq.education.gov.example; dkim=pass header.d=gtcni.example\r
        From: GTCNI Alerts <\(sender)>\r
        To: tq-unit@education.gov.example\r
        Subject: notices\r
        MIME-Version: 1.0\r
        Content-Type: multipart/mixed; boundary="b1"\r
        \r
        --b1\r
        Content-Type: text/plain; charset=utf-8\r
        \r
        This week's notices are attached.\r
        --b1\r
        Content-Type: text/csv; name="notices.csv"\r
        Content-Disposition: attachment; filename="notices.csv"\r
        Content-Transfer-Encoding: base64\r
        \r
        \(Data(firstCSV.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed]))\r
        --b1\r
        Content-Type: text/csv; charset=utf-8\r
        Content-Disposition: attachment; filename="notices.csv"\r
        Content-Transfer-Encoding: quoted-printable\r
        \r
        TRN,Note\r
        1000040,caf=C3=A9\r
        \r
        --b1\r
        Content-Type: application/pdf; name="summary.pdf"\r
        Content-Disposition: attachment; filename="summary.pdf"\r
        Content-Transfer-Encoding: base64\r
        \r
        \(Data(pdf.utf8).base64EncodedString())\r
        --b1--\r

        """
    }

    @Test("Several attachments: each extracted under a name unique in the email, each with the SHA-256 of its own content")
    func severalAttachments() throws {
        let scratch = try Scratch()
        let eml = try scratch.write("several.eml", Self.severalAttachments(from: "alerts@gtcni.example"))
        let email = try MailIntake.read(emlPath: eml, into: scratch.path("parts"))
        #expect(email.sender == "alerts@gtcni.example")
        #expect(email.attachments.map(\.name) == ["notices.csv", "notices-2.csv", "summary.pdf"])
        for (attachment, content) in zip(email.attachments, [Self.firstCSV, Self.secondCSV, Self.pdf]) {
            #expect(try Data(contentsOf: URL(fileURLWithPath: attachment.path)) == Data(content.utf8), "\(attachment.name)")
            #expect(attachment.sha256 == sha256Hex(Data(content.utf8)), "\(attachment.name)")
        }
        // Routed by the attachment that a feed takes; a second feed that also takes one of them makes it ambiguous.
        let reports = MailRoute(
            feed: "pdf-reports", rules: EmailSettings(senders: ["@gtcni.example"], attachments: ["*.pdf"], trust: noticeRules.trust))
        let notices = MailRoute(feed: "prohibition-notices", rules: noticeRules)
        let other = MailRoute(
            feed: "other-sender", rules: EmailSettings(senders: ["@elsewhere.example"], attachments: ["*.pdf"], trust: noticeRules.trust))
        #expect(MailRouting.route(.success(email), routes: [other, notices]).decision == .feed("prohibition-notices"))
        #expect(
            MailRouting.route(.success(email), routes: [notices, reports]).decision
                == .refused(
                    code: "ambiguous-feed",
                    message: "several feeds take this email (prohibition-notices, pdf-reports): narrow their sender or attachment settings"))
    }

    @Test("The attachment folder is made afresh: an earlier read's files neither stay nor change the names")
    func readAfresh() throws {
        let scratch = try Scratch()
        let eml = try scratch.write("several.eml", Self.severalAttachments(from: "alerts@gtcni.example"))
        let first = try MailIntake.read(emlPath: eml, into: scratch.path("parts"))
        _ = try scratch.write("parts/leftover.csv", "a,b\r\n")
        let second = try MailIntake.read(emlPath: eml, into: scratch.path("parts"))
        #expect(second == first)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: scratch.path("parts")).sorted() == ["notices-2.csv", "notices.csv", "summary.pdf"])
    }

    @Test("A file that is not an email: the read fails, leaves no attachment behind, and the email is refused as mail-error")
    func unreadable() async throws {
        let scratch = try Scratch()
        let zip = scratch.path("notices.eml")
        try Data([0x50, 0x4B, 0x03, 0x04, 0, 0, 0, 0]).write(to: URL(fileURLWithPath: zip))
        let read = await MailIntake.readOffPool(emlPath: zip, into: scratch.path("parts"))
        #expect(throws: (any Error).self) { try read.get() }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path("parts")).isEmpty)
        let routed = MailRouting.route(read, routes: [MailRoute(feed: "prohibition-notices", rules: noticeRules)])
        #expect(
            routed.decision
                == .refused(
                    code: "mail-error", message: "the email cannot be read: the file is not an email message: it does not start with header lines"))
        #expect(routed.sender == nil && routed.attachments.isEmpty)
    }
}
