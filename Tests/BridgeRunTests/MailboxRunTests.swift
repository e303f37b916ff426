import BridgeRun
import DQTTesting
import FileSources
import Foundation
import Testing

/// The unattended run reading a real IMAP mailbox (Dovecot on loopback, TLS with a test CA) as a mail drop: emails
/// routed, published or quarantined, and moved out of the drop once; the same message seen again (a mailbox rebuilt
/// under a new UIDVALIDITY) and an unreachable server lose and duplicate nothing.
@Suite("Mailbox source runs", .serialized, .enabled(if: BridgeHarness.binaryAndServicesAvailable && TestMailboxes.available))
struct MailboxRunTests {
    static let good = Data(Synthetic.notices(from: "alerts@ewc.wales.example", rows: 2).utf8)
    static let refused = Data(Synthetic.notices(from: "someone@elsewhere.example", rows: 1).utf8)

    @Test("An IMAP mail drop: routed, published or quarantined, moved once; the same message under a new UIDVALIDITY is a duplicate")
    func mailDropAndUIDValidityChange() async throws {
        try await BridgeHarness.with { h in
            let mail = try TestMailboxes()
            defer { mail.remove() }
            let mappings = try h.mappingsWithLiveNotices()
            let config = try h.configuration {
                $0.mappings = mappings
                mail.use(in: &$0)
            }
            try mail.deliver(Self.good, scratch: h.scratch)
            try mail.deliver(Self.refused, scratch: h.scratch)

            let first = try await h.run(config, feeds: ["prohibition-notices"])
            #expect(first.exitStatus == 1, "\(first.summary)")
            #expect(
                try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE feed = 'prohibition-notices' AND state = 'published' AND transport = 'imap'")
                    == 1)
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE state = 'quarantined' AND error_code = 'sender-not-allowed'") == 1)
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE archived_at IS NOT NULL AND sha256 IS NOT NULL") == 2)
            #expect(try await h.appliedWrites() == 2)
            #expect(try mail.server.uids(in: mail.inbox).isEmpty)
            #expect(try mail.server.uids(in: mail.processed).count == 1)
            #expect(try mail.server.uids(in: mail.quarantine).count == 1)

            // A second run finds nothing new.
            let again = try await h.run(config, feeds: ["prohibition-notices"])
            #expect(again.exitStatus == 0, "\(again.summary)")
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.files") == 2)

            // The drop rebuilt (a new UIDVALIDITY) with the published message in it again: the same UID and a new name,
            // known by its content.
            let before = try mail.server.uidValidity(of: mail.inbox)
            try mail.server.deleteMailbox(mail.inbox)
            try await Task.sleep(for: .milliseconds(1100))  // Dovecot's UIDVALIDITY is the clock's second
            try mail.server.createMailbox(mail.inbox)
            #expect(try mail.server.uidValidity(of: mail.inbox) != before)
            try mail.deliver(Self.good, scratch: h.scratch)
            let rebuilt = try await h.run(config, feeds: ["prohibition-notices"])
            #expect(rebuilt.exitStatus == 0, "\(rebuilt.summary)")
            let duplicates = try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE state = 'duplicate' AND archived_at IS NOT NULL")
            let applied = try await h.appliedWrites()
            let processed = try mail.server.uids(in: mail.processed).count
            #expect(duplicates == 1)
            #expect(applied == 2)
            #expect(processed == 2)
            #expect(try mail.server.uids(in: mail.inbox).isEmpty)
            let expected = try await BridgeHarness.expectedWrites(
                [PlacedFile(feed: "prohibition-notices", folder: "", name: "notice.eml", content: Self.good)], scratch: h.scratch)
            let verdict = try await h.verdict(expected: expected, reference: nil)
            SuiteTable.append(
                SuiteRow(
                    suite: "faults", scenario: "mailbox: the drop rebuilt under a new UIDVALIDITY, a published email in it again", runs: 3,
                    expected: verdict.expected, applied: verdict.applied, lost: verdict.lost, duplicated: verdict.duplicated, refused: 1,
                    reasons: "sender-not-allowed: 1; duplicate content: \(duplicates)",
                    ok: verdict.exact && duplicates == 1 && processed == 2))
        }
    }

    @Test("The mailbox server unreachable: the drop's poll fails named, nothing is lost; the next run takes the email")
    func unreachableServer() async throws {
        try await BridgeHarness.with { h in
            let mail = try TestMailboxes()
            defer { mail.remove() }
            let mappings = try h.mappingsWithLiveNotices()
            let closed = "imaps://127.0.0.1:\(try freeLoopbackPort())"
            let down = try h.configuration {
                $0.mappings = mappings
                mail.use(in: &$0, url: closed)
            }
            try mail.deliver(Self.good, scratch: h.scratch)
            let failed = try await h.run(down, feeds: ["prohibition-notices"])
            #expect(failed.exitStatus >= 2, "\(failed.summary)")
            #expect(failed.summary.contains("imap"), "\(failed.summary)")
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.files") == 0)
            #expect(try mail.server.uids(in: mail.inbox).count == 1)

            let up = try h.configuration {
                $0.mappings = mappings
                mail.use(in: &$0)
            }
            let back = try await h.run(up, feeds: ["prohibition-notices"])
            #expect(back.exitStatus == 0, "\(back.summary)")
            let expected = try await BridgeHarness.expectedWrites(
                [PlacedFile(feed: "prohibition-notices", folder: "", name: "notice.eml", content: Self.good)], scratch: h.scratch)
            let verdict = try await h.verdict(expected: expected, reference: nil)
            let left = try mail.server.uids(in: mail.inbox).count
            #expect(verdict.exact, "\(verdict)")
            #expect(left == 0)
            SuiteTable.append(
                SuiteRow(
                    suite: "faults", scenario: "mailbox: IMAP server unreachable for a run, then back", runs: 2, expected: verdict.expected,
                    applied: verdict.applied, lost: verdict.lost, duplicated: verdict.duplicated, refused: 0,
                    reasons: "connection refused: 1 run", ok: verdict.exact && left == 0))
        }
    }
}
