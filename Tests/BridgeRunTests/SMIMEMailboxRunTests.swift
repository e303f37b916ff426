import BridgeRun
import DQTTesting
import FileSources
import Foundation
import Testing

/// The unattended run reading S/MIME signed notices from a real IMAP mailbox (Dovecot on loopback), on a feed that
/// proves its senders by S/MIME only: the notice signed with the partner's pinned key is applied once however often it
/// is resent, and a tampered one is quarantined with its reason. Keys and signatures are made in the test.
@Suite("S/MIME mailbox runs", .serialized, .enabled(if: BridgeHarness.binaryAndServicesAvailable && TestMailboxes.available))
struct SMIMEMailboxRunTests {
    static let sender = "alerts@ewc.wales.example"

    /// `Synthetic.notices`'s MIME entity (its Content-Type and body, no From or Authentication-Results) signed by
    /// `partner`, with CRLF line ends as a mail server stores it.
    static func signedNotice(by partner: SMIMETestPartner, scratch: String, name: String) throws -> String {
        let notice = Synthetic.notices(from: sender, rows: 2)
        let entity = try #require(notice.range(of: "Content-Type: multipart/mixed")).lowerBound
        let content = joinPath(scratch, "\(name).content")
        try String(notice[entity...]).write(toFile: content, atomically: true, encoding: .utf8)
        let path = joinPath(scratch, "\(name).eml")
        try partner.sign(content: content, from: sender, detached: true, output: path)
        let crlf = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(
            of: "\n", with: "\r\n")
        try crlf.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("Signed notices over IMAP: the good one applied once however often it is resent, a tampered one quarantined as signature-invalid")
    func signedNoticesThroughIMAP() async throws {
        try await BridgeHarness.with { h in
            let mail = try TestMailboxes()
            defer { mail.remove() }
            let mappings = try h.mappingsWithLiveNotices()
            let certificates = joinPath(h.scratch, "certificates")
            try FileManager.default.createDirectory(atPath: certificates, withIntermediateDirectories: true)
            let partner = try SMIMETestPartner(email: Self.sender, name: "ewc", in: certificates)
            let mapping = joinPath(mappings, "prohibition-notices.yaml")
            let smime = try String(contentsOfFile: mapping, encoding: .utf8).replacingOccurrences(
                of: "    dkim: {authservID: mx.tq.education.gov.example}\n", with: "    smime: {certificates: [certificates/ewc-certificate.pem]}\n")
            #expect(smime.contains("certificates/ewc-certificate.pem"))
            try smime.write(toFile: mapping, atomically: true, encoding: .utf8)
            let config = try h.configuration {
                $0.mappings = mappings
                mail.use(in: &$0)
            }
            let good = try Data(contentsOf: URL(fileURLWithPath: try Self.signedNotice(by: partner, scratch: h.scratch, name: "good")))
            let tamperedPath = try Self.signedNotice(by: partner, scratch: h.scratch, name: "tampered")
            try SMIMETestPartner.tamper(tamperedPath, replacing: "VFJOLERhdGUgb2Yg", with: "VFJOLERhdGUgb2Zg")
            try mail.deliver(good, scratch: h.scratch)
            try mail.deliver(try Data(contentsOf: URL(fileURLWithPath: tamperedPath)), scratch: h.scratch)

            let first = try await h.run(config, feeds: ["prohibition-notices"])
            #expect(first.exitStatus == 1, "\(first.summary)")
            #expect(
                try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE feed = 'prohibition-notices' AND state = 'published' AND transport = 'imap'")
                    == 1)
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE state = 'quarantined' AND error_code = 'signature-invalid'") == 1)
            let applied = try await h.appliedWrites()
            #expect(applied == 2)

            // The partner resends the same signed notice: known by its content, not applied again.
            try mail.deliver(good, scratch: h.scratch)
            let resent = try await h.run(config, feeds: ["prohibition-notices"])
            #expect(resent.exitStatus == 0, "\(resent.summary)")
            let duplicates = try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE state = 'duplicate'")
            let appliedAfter = try await h.appliedWrites()
            let processed = try mail.server.uids(in: mail.processed).count
            let quarantined = try mail.server.uids(in: mail.quarantine).count
            #expect(duplicates == 1)
            #expect(appliedAfter == applied)
            #expect(processed == 2 && quarantined == 1)
            #expect(try mail.server.uids(in: mail.inbox).isEmpty)
            SuiteTable.append(
                SuiteRow(
                    suite: "faults", scenario: "mailbox: S/MIME signed notice resent, a tampered one beside it", runs: 2, expected: 2,
                    applied: appliedAfter, lost: max(0, 2 - appliedAfter), duplicated: max(0, appliedAfter - 2), refused: 1,
                    reasons: "signature-invalid: 1; duplicate content: \(duplicates)",
                    ok: appliedAfter == 2 && duplicates == 1 && processed == 2 && quarantined == 1))
        }
    }
}
