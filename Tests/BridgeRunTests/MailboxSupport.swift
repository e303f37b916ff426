import BridgeRun
import DQTTesting
import FileSources
import Foundation

/// Mailboxes of one test on the Dovecot that `scripts/services.sh` runs: the mail drop the bridge reads (`inbox`) and
/// where it moves what it handled; removed by ``remove()``.
struct TestMailboxes: Sendable {
    let server: TestMailServer
    let inbox: String
    let processed: String
    let quarantine: String

    static var available: Bool {
        TestServices.shouldRun(
            TestServices.imapURL, TestServices.imapStartTLSURL, TestServices.imapUser, TestServices.imapPasswordFile, TestServices.mailCA)
    }

    init() throws {
        server = try TestMailServer()
        inbox = TestMailServer.uniqueMailbox("drop")
        processed = TestMailServer.uniqueMailbox("processed")
        quarantine = TestMailServer.uniqueMailbox("quarantine")
        try server.createMailbox(inbox)
    }

    func remove() {
        for mailbox in [inbox, processed, quarantine] { try? server.deleteMailbox(mailbox) }
    }

    /// Delivers an email into the drop, as a partner's mail server would.
    func deliver(_ content: Data, scratch: String) throws {
        let path = joinPath(scratch, "deliver-\(UUID().uuidString).eml")
        try content.write(to: URL(fileURLWithPath: path))
        try server.append(path, to: inbox)
        try? FileManager.default.removeItem(atPath: path)
    }

    var settings: RunConfiguration.IMAPSettings {
        var settings = RunConfiguration.IMAPSettings(url: server.url, user: server.user, passwordFile: server.passwordFile, caFile: server.caFile)
        settings.processedFolder = processed
        settings.quarantineFolder = quarantine
        settings.connectTimeoutSeconds = 5
        settings.operationTimeoutSeconds = 20
        return settings
    }

    /// `adjust` for a harness configuration: the email feed reads this drop, the imap section names this server.
    func use(in configuration: inout RunConfiguration, url: String? = nil) {
        configuration.imap = settings
        if let url { configuration.imap?.url = url }
        configuration.feeds["prohibition-notices"] = RunConfiguration.FeedOverride(
            source: .imap, folder: inbox, stableSeconds: 0, minimumAgeSeconds: 0)
    }

    /// The configuration file of `configuration` (written by the harness) with this drop and server added.
    func configurationFile(_ h: BridgeHarness, _ configuration: RunConfiguration) throws -> String {
        var plain = configuration
        plain.feeds["prohibition-notices"] = nil
        let path = try h.writeConfigurationFile(plain)
        let yaml = """
              prohibition-notices: {source: imap, folder: \(inbox), stableSeconds: 0, minimumAgeSeconds: 0}
            imap:
              url: \(server.url)
              user: \(server.user)
              passwordFile: \(server.passwordFile)
              caFile: \(server.caFile)
              processedFolder: \(processed)
              quarantineFolder: \(quarantine)
              connectTimeoutSeconds: 5
              operationTimeoutSeconds: 20

            """
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(yaml.utf8))
        try handle.close()
        return path
    }
}

extension BridgeHarness {
    /// A copy of the mappings with the prohibition notices feed live, so that its emails are published.
    func mappingsWithLiveNotices() throws -> String {
        let mappings = joinPath(scratch, "mappings")
        if !FileManager.default.fileExists(atPath: mappings) {
            try FileManager.default.copyItem(atPath: joinPath(Self.repository, "mappings"), toPath: mappings)
            let path = joinPath(mappings, "prohibition-notices.yaml")
            let live = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "status: shadow", with: "status: live")
            try live.write(toFile: path, atomically: true, encoding: .utf8)
        }
        return mappings
    }
}
