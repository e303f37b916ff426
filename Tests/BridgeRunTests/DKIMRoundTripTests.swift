import BridgeRun
import CurlMail
import DQTTesting
import Foundation
import Testing

/// DKIM proved by a real verifier: notices signed with the test partner's key by OpenDKIM, submitted to the Postfix of
/// `scripts/services.sh` over TLS, verified there by the OpenDKIM milter (which records its result under the test
/// MTA's authserv-id), delivered into Dovecot and read by a run over IMAP on a feed that trusts that authserv-id; and,
/// with the verifier unreachable, the same Postfix holding the mail back.
@Suite(
    "DKIM through the receiving MTA", .serialized,
    .enabled(if: BridgeHarness.binaryAndServicesAvailable && PartnerMail.available))
struct DKIMRoundTripTests {
    @Test("A notice signed for the partner's domain arrives with dkim=pass under our authserv-id and is applied once")
    func signedNoticeIsAppliedOnce() async throws {
        try await BridgeHarness.with { h in
            let mailboxes = try TestMailboxes()
            defer { mailboxes.remove() }
            let partner = try PartnerMail(mailboxes: mailboxes)
            let mappings = try h.mappingsTrustingTestMTA(partner.signer)
            let config = try h.configuration {
                $0.mappings = mappings
                mailboxes.use(in: &$0)
            }
            let id = "\(UUID().uuidString.lowercased())@\(partner.signer.domain)"
            let fields = try await partner.sendIntoDrop(try partner.signer.sign(partner.notice(id: id)), id: id)

            let results = PartnerMail.authenticationResults(fields)
            #expect(results.count == 1, "\(results)")
            let ours = try #require(results.first)
            #expect(ours.hasPrefix("Authentication-Results: \(partner.signer.authservID);"), "\(ours)")
            #expect(ours.contains("dkim=pass"), "\(ours)")
            #expect(ours.contains("header.d=\(partner.signer.domain)"), "\(ours)")

            let first = try await h.run(config, feeds: ["prohibition-notices"])
            #expect(first.exitStatus == 0, "\(first.summary)")
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE state = 'published' AND transport = 'imap'") == 1)
            #expect(try await h.appliedWrites() == 2)
            #expect(try mailboxes.server.uids(in: mailboxes.processed).count == 1)

            let again = try await h.run(config, feeds: ["prohibition-notices"])
            #expect(again.exitStatus == 0, "\(again.summary)")
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.files") == 1)
            #expect(try await h.appliedWrites() == 2)
        }
    }

    @Test("Tampered after signing, signed with rsa-sha1, unsigned, or carrying a forged result of ours: quarantined with the reason")
    func unprovedNoticesAreRefused() async throws {
        try await BridgeHarness.with { h in
            let mailboxes = try TestMailboxes()
            defer { mailboxes.remove() }
            let partner = try PartnerMail(mailboxes: mailboxes)
            let authserv = partner.signer.authservID
            let mappings = try h.mappingsTrustingTestMTA(partner.signer)
            let config = try h.configuration {
                $0.mappings = mappings
                mailboxes.use(in: &$0)
            }

            // The body changed between the partner's signing and the submission: the body hash no longer matches.
            let tamperedID = "tampered-\(UUID().uuidString.lowercased())@\(partner.signer.domain)"
            let signed = String(decoding: try partner.signer.sign(partner.notice(id: tamperedID)), as: UTF8.self)
            let tampered = signed.replacingOccurrences(of: "Notices attached.", with: "Notices attached, one added.")
            #expect(tampered != signed)
            let tamperedResults = PartnerMail.authenticationResults(try await partner.sendIntoDrop(Data(tampered.utf8), id: tamperedID))
            #expect(tamperedResults.count == 1 && tamperedResults[0].contains("dkim=fail"), "\(tamperedResults)")

            // Signed for real, but with rsa-sha1: the verifier passes it, the bridge does not take it (RFC 8301).
            let sha1ID = "sha1-\(UUID().uuidString.lowercased())@\(partner.signer.domain)"
            let sha1 = try partner.signer.sign(partner.notice(id: sha1ID), algorithm: "rsa-sha1")
            let sha1Results = PartnerMail.authenticationResults(try await partner.sendIntoDrop(sha1, id: sha1ID))
            #expect(sha1Results.count == 1 && sha1Results[0].contains("dkim=pass") && sha1Results[0].contains("rsa-sha1"), "\(sha1Results)")

            let unsignedID = "unsigned-\(UUID().uuidString.lowercased())@\(partner.signer.domain)"
            let unsignedResults = PartnerMail.authenticationResults(try await partner.sendIntoDrop(partner.notice(id: unsignedID), id: unsignedID))
            #expect(unsignedResults.count == 1 && unsignedResults[0].contains("dkim=none"), "\(unsignedResults)")

            // A pass under our own authserv-id written by the sender, folded and behind a comment too: Postfix drops
            // both before the verifier adds the only one that counts.
            let forgedID = "forged-\(UUID().uuidString.lowercased())@\(partner.signer.domain)"
            let forged = partner.notice(
                id: forgedID,
                extraHeaders: [
                    "Authentication-Results: \(authserv); dkim=pass header.d=\(partner.signer.domain) header.i=@\(partner.signer.domain)",
                    "Authentication-Results: (verified)\r\n \(authserv.uppercased()); dkim=pass header.d=\(partner.signer.domain)",
                ])
            let forgedResults = PartnerMail.authenticationResults(try await partner.sendIntoDrop(forged, id: forgedID))
            #expect(forgedResults.count == 1, "\(forgedResults)")
            #expect(forgedResults.allSatisfy { !$0.contains("dkim=pass") }, "\(forgedResults)")
            #expect(forgedResults.first?.contains("dkim=none") == true, "\(forgedResults)")

            let run = try await h.run(config, feeds: ["prohibition-notices"])
            #expect(run.exitStatus == 1, "\(run.summary)")
            let invalid = try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE state = 'quarantined' AND error_code = 'signature-invalid'")
            let unauthenticated = try h.ledgerInt(
                "SELECT count(*) FROM bridge.files WHERE state = 'quarantined' AND error_code = 'sender-unauthenticated'")
            let applied = try await h.appliedWrites()
            let quarantined = try mailboxes.server.uids(in: mailboxes.quarantine).count
            #expect(invalid == 2)
            #expect(unauthenticated == 2)
            #expect(applied == 0)
            #expect(quarantined == 4)
            #expect(try mailboxes.server.uids(in: mailboxes.inbox).isEmpty)
            SuiteTable.append(
                SuiteRow(
                    suite: "hostile", scenario: "DKIM through OpenDKIM and Postfix: tampered, rsa-sha1, unsigned, forged result of ours", runs: 1,
                    expected: 0, applied: applied, lost: 0, duplicated: 0, refused: invalid + unauthenticated,
                    reasons: "signature-invalid: \(invalid); sender-unauthenticated: \(unauthenticated)",
                    ok: invalid == 2 && unauthenticated == 2 && applied == 0 && quarantined == 4))
        }
    }

    @Test("The verifier unreachable: Postfix answers with a temporary failure and nothing arrives unverified")
    func verifierDownHoldsMailBack() async throws {
        let mailboxes = try TestMailboxes()
        defer { mailboxes.remove() }
        let partner = try PartnerMail(mailboxes: mailboxes)
        let id = "held-\(UUID().uuidString.lowercased())@\(partner.signer.domain)"
        let signed = try partner.signer.sign(partner.notice(id: id))
        let error = try #require(throws: MailTransportError.self) {
            try partner.submit(signed, through: try TestServices.require(TestServices.smtpNoVerifierURL))
        }
        #expect(error.kind == .transient, "\(error)")
        #expect((400..<500).contains(error.replyCode ?? 0), "\(error)")
        try await Task.sleep(for: .seconds(1))
        #expect(try partner.inboxUID(id: id) == nil)
    }
}
