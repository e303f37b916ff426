import Foundation
import Testing

@testable import CurlMail
@testable import FileSources

/// The parts of the IMAP client that need no server: response lines, dates, mailbox names, message paths.
struct IMAPResponseTests {
    @Test func fetchLinesInAnyItemOrder() throws {
        let a = try #require(IMAPResponse.fetchInfo(#"* 3 FETCH (UID 40 RFC822.SIZE 1834 INTERNALDATE "06-Dec-2026 22:31:23 +0000")"#))
        #expect(a.uid == 40)
        #expect(a.size == 1834)
        #expect(a.received == Date(timeIntervalSince1970: 1_796_596_283))
        let b = try #require(IMAPResponse.fetchInfo(#"* 9 FETCH (INTERNALDATE " 6-Dec-2026 23:31:23 +0100" RFC822.SIZE 7 UID 41)"#))
        #expect(b.uid == 41)
        #expect(b.size == 7)
        #expect(b.received == a.received)
        #expect(IMAPResponse.fetchInfo("* 3 EXPUNGE") == nil)
        #expect(IMAPResponse.fetchInfo(#"* 3 FETCH (UID 40 INTERNALDATE "06-Dec-2026 22:31:23 +0000")"#) == nil)
    }

    @Test func statusNumbersAreWholeItems() {
        #expect(IMAPResponse.number(after: "UIDVALIDITY ", in: "* STATUS INBOX (MESSAGES 0 UIDNEXT 1 UIDVALIDITY 1796596283)") == "1796596283")
        #expect(IMAPResponse.number(after: "UID ", in: "* 1 FETCH (XUID 5 UID 7)") == "7")
        #expect(IMAPResponse.number(after: "UIDVALIDITY ", in: "* OK [UIDVALIDITY 12] UIDs valid") == "12")
    }

    @Test func linesSplitAcrossChunks() throws {
        var lines: [String] = []
        var reader = IMAPLineReader { lines.append(String($0)) }
        for chunk in ["* SEA", "RCH 1 2\r", "\n* OK", " done"] {
            try Array(chunk.utf8).withUnsafeBytes { try reader.consume($0) }
        }
        try reader.finish()
        #expect(lines == ["* SEARCH 1 2", "* OK done"])
    }

    @Test func mailboxNamesThatCannotInjectCommands() throws {
        #expect(try IMAPMailbox("INBOX/ewc notices").urlPath == "INBOX/ewc%20notices")
        for bad in ["", "a\r\nA1 LOGOUT", "a\"b", "a\\b", "a;UID=1", "a?b", "a%b", "/a", "a/", "dépôt", "a*"] {
            #expect(throws: MailTransportError.self, "\(bad.debugDescription)") { try IMAPMailbox(bad) }
        }
    }

    @Test func serverURLsCarryNoAccountOrFolder() throws {
        #expect(try MailEndpoint.serverURL("imaps://127.0.0.1:993", schemes: ["imap", "imaps"]).port == 993)
        for bad in ["https://x", "imaps://user:pw@x", "imaps://x/INBOX", "imaps://x?a", "x:993"] {
            #expect(throws: MailTransportError.self, "\(bad)") { try MailEndpoint.serverURL(bad, schemes: ["imap", "imaps"]) }
        }
    }

    @Test func messagePathsRoundTrip() throws {
        let mailbox = try IMAPMailbox("INBOX/ewc")
        let path = IMAPSource.path(mailbox: mailbox, uidValidity: 1_796_596_283, uid: 42)
        #expect(path == "INBOX/ewc/1796596283-0000000042.eml")
        let parsed = try #require(IMAPSource.message(at: path))
        #expect(parsed.mailbox == mailbox && parsed.uidValidity == 1_796_596_283 && parsed.uid == 42)
        #expect(IMAPSource.message(at: "processed/20261206-abc-notice.eml") == nil)
        #expect(IMAPSource.path(mailbox: mailbox, uidValidity: 1, uid: 9) < IMAPSource.path(mailbox: mailbox, uidValidity: 1, uid: 10))
    }

    @Test func secretsNeverPrint() throws {
        let secret = try MailSecret(environmentVariable: "P", environment: ["P": "hunter2"])
        #expect("\(secret)" == "<secret>")
        let endpoint = try MailEndpoint(url: "imaps://127.0.0.1:10993", schemes: ["imaps"], user: "u", password: secret)
        #expect(!"\(endpoint)".contains("hunter2"))
        #expect(endpoint.redactedURL == "imaps://u@127.0.0.1:10993")
    }
}
