import DQTModel
import FileSources
import Foundation
import Testing

@Suite("Mail routing: emails no feed takes")
struct MailRoutingTests {
    let routes = [MailRoute(feed: "prohibition-notices", rules: noticeRules)]

    func route(_ fixture: String) throws -> MailRouting.Routed {
        let scratch = try Scratch()
        return MailRouting.route(.success(try MailIntake.read(emlPath: notices(fixture), into: scratch.path("parts"))), routes: routes)
    }

    @Test("A sender no feed allows is refused, the display name never taken for the address")
    func senderNotAllowed() throws {
        for (fixture, sender) in [
            ("malformed/notices-sender-not-allowed.eml", "alerts@ewc-wales.example"),
            ("malformed/notices-spoofed-display-name.eml", "attacker@mail.example"),
        ] {
            let routed = try route(fixture)
            #expect(routed.decision == .refused(code: "sender-not-allowed", message: "no email feed allows this sender"), "\(fixture)")
            #expect(routed.sender == sender && routed.attachments == ["prohibitions.csv"], "\(fixture)")
        }
        let scratch = try Scratch()
        let email = try MailIntake.read(emlPath: notices("good/gtcs-notices-20261120-qp.eml"), into: scratch.path("parts"))
        #expect(
            MailRouting.route(.success(email), routes: []).decision
                == .refused(code: "sender-not-allowed", message: "no email feed allows this sender"))
    }

    @Test("An allowed sender without an attachment that a feed takes is refused, naming every pattern of the feeds that allow it")
    func noAttachment() throws {
        let pdfOnly = try route("malformed/notices-pdf-only.eml")
        #expect(pdfOnly.decision == .refused(code: "no-attachment", message: "the email has no attachment matching *.csv"))
        #expect(pdfOnly.sender == "regulation@gtcni.example" && pdfOnly.attachments == ["notices.pdf"])
        #expect(try route("malformed/notices-no-csv-attachment.eml").attachments.isEmpty)

        let scratch = try Scratch()
        let email = try MailIntake.read(emlPath: notices("malformed/notices-pdf-only.eml"), into: scratch.path("parts"))
        let text = MailRoute(
            feed: "gtcni-text", rules: EmailSettings(senders: ["@gtcni.example"], attachments: ["*.txt", "*.csv"], trust: noticeRules.trust))
        #expect(
            MailRouting.route(.success(email), routes: routes + [text]).decision
                == .refused(code: "no-attachment", message: "the email has no attachment matching *.csv, *.txt"))
    }
}
