import BridgeRun
import DQTTesting
import FileSources
import Foundation
import LibPQ
import Testing

/// `dqt-bridge export` of a prohibitions feed whose destination is the mail outbox, with an `smtp:` section: the
/// export's entry is sent in the same pass, through the real Postfix into the Dovecot mailbox, once.
@Suite(
    "Exports sent as notices", .serialized,
    .enabled(
        if: BridgeHarness.servicesAvailable && TestMailboxes.available && TestServices.shouldRun(TestServices.smtpURL, TestServices.smtpMailbox)))
struct ExportNoticeTests {
    @Test("an export to the mail outbox is sent in the same pass and arrives once; the next export sends nothing again")
    func exportIsSentOnce() async throws {
        try await BridgeHarness.with { h in
            let server = try TestMailServer()
            let mailbox = try TestServices.require(TestServices.smtpMailbox)
            let mappings = joinPath(h.scratch, "mappings")
            try FileManager.default.copyItem(atPath: joinPath(BridgeHarness.repository, "mappings"), toPath: mappings)
            let path = joinPath(mappings, "prohibitions-ewc.yaml")
            let mapping = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "status: shadow", with: "status: live")
                .replacingOccurrences(of: "alerts@ewc.wales.example", with: mailbox)
            try mapping.write(toFile: path, atomically: true, encoding: .utf8)
            let outbox = joinPath(h.scratch, "outbox")
            let configuration = try h.configuration { configuration in
                configuration.mappings = mappings
                configuration.mailOutbox = outbox
                var smtp = RunConfiguration.SMTPSettings(url: try! TestServices.require(TestServices.smtpURL), from: "dqt-bridge@dqt.test")
                smtp.caFile = server.caFile
                smtp.sentCopy = .init(
                    address: mailbox, folder: "INBOX",
                    imap: RunConfiguration.IMAPSettings(url: server.url, user: server.user, passwordFile: server.passwordFile, caFile: server.caFile))
                configuration.smtp = smtp
            }
            try await h.createAlerts(1...4)
            let outcome = try await h.export(configuration, ExportRequest(feeds: ["prohibitions-ewc"]))
            #expect(outcome.exitStatus == 0, "\(outcome.summary)")
            let sent = try FileManager.default.contentsOfDirectory(atPath: joinPath(outbox, "sent"))
            #expect(sent.count == 1 && sent[0].hasPrefix("Prohibitions_"), "\(sent)")
            #expect(outcome.summary.contains("notice \(sent[0]): sent"), "\(outcome.summary)")
            let messageID = try #require(
                try h.ledgerQuery { try $0.query("SELECT message_id FROM bridge.notices WHERE state = 'sent'").rows.first?["message_id"] })
            let uids = try await NoticeCrashTests.arrived(server, messageID)
            defer { try? NoticeCrashTests.remove(server, messageID) }
            #expect(uids == 1)

            let again = try await h.export(configuration, ExportRequest(feeds: ["prohibitions-ewc"]))
            #expect(again.exitStatus == 0, "\(again.summary)")
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.notices") == 1)
            #expect(try NoticeCrashTests.uids(server, messageID).count == 1)
            let counts = try #require(
                try h.ledgerQuery {
                    try $0.query("SELECT counts::text AS c FROM bridge.runs WHERE id = $1", [.int64(outcome.runID!)]).rows.first?["c"]
                })
            #expect(counts.contains(#""notices""#) && counts.contains(sent[0]), "\(counts)")
            let metrics = try String(contentsOfFile: configuration.metricsFile!, encoding: .utf8)
            #expect(metrics.contains(#"dqt_bridge_notices_waiting{state="pending"} 0"#), "\(metrics)")
        }
    }
}
