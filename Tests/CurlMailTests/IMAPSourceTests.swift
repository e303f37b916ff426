import CurlMail
import DQTTesting
import FileSources
import Foundation
import Testing

/// ``IMAPSource`` against the real Dovecot that `scripts/services.sh start` runs on loopback (TLS with a test CA),
/// each test in mailboxes of its own, set up and checked with the `curl` program (``TestMailServer``).
@Suite(
    .enabled(
        if: TestServices.shouldRun(
            TestServices.imapURL, TestServices.imapStartTLSURL, TestServices.imapUser, TestServices.imapPasswordFile,
            TestServices.mailCA)))
struct IMAPSourceTests {
    let server: TestMailServer
    let scratch: TemporaryFolder

    init() throws {
        server = try TestMailServer()
        scratch = try TemporaryFolder("imap-source-tests")
    }

    func source(url: String? = nil, caFile: String? = nil, password: MailSecret? = nil, processed: String, quarantine: String) throws -> IMAPSource {
        let endpoint = try MailEndpoint(
            url: url ?? server.url, schemes: ["imap", "imaps"], user: server.user,
            password: try password ?? MailSecret(contentsOfFile: server.passwordFile), caFile: caFile ?? server.caFile, connectTimeout: 5,
            operationTimeout: 20)
        return IMAPSource(endpoint: endpoint, processed: try IMAPMailbox(processed), quarantine: try IMAPMailbox(quarantine))
    }

    /// A message of `size` bytes or so, CRLF line ends, its body lines numbered so no two messages are alike.
    func message(_ tag: String, bodyLines: Int = 3) throws -> String {
        var text = "From: notices@ewc.wales.example\r\nTo: tq@dqt.example\r\nSubject: \(tag)\r\nMessage-ID: <\(UUID())@test>\r\n\r\n"
        for line in 0..<bodyLines { text += "line \(line) of \(tag) 0123456789abcdefghijklmnopqrstuvwxyz0123456789\r\n" }
        let path = scratch.path("\(tag).eml")
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test(arguments: [false, true])
    func listFetchMoveOverEitherTLS(startTLS: Bool) async throws {
        let inbox = TestMailServer.uniqueMailbox("in")
        let processed = TestMailServer.uniqueMailbox("done")
        try server.createMailbox(inbox)
        defer { for mailbox in [inbox, processed] { try? server.deleteMailbox(mailbox) } }
        let first = try message("first")
        let second = try message("second", bodyLines: 40_000)  // about 2.6 MB: streamed, not held whole
        try server.append(first, to: inbox)
        try server.append(second, to: inbox)
        let source = try source(url: startTLS ? server.startTLSURL : server.url, processed: processed, quarantine: "quarantine")
        defer { Task { await source.close() } }

        let listed = try await source.list(folder: inbox)
        let uidValidity = try server.uidValidity(of: inbox)
        let uids = try server.uids(in: inbox)
        #expect(listed.map(\.path) == uids.map { "\(inbox)/\(uidValidity)-" + String(format: "%010u", $0) + ".eml" })
        #expect(listed.map(\.size) == [first, second].map { Int64((try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) ?? -1) })

        let fetched = try await source.fetch(listed[1].path, to: scratch.path("work/2.eml"), progress: nil)
        let original = try Data(contentsOf: URL(fileURLWithPath: second))
        #expect(try Data(contentsOf: URL(fileURLWithPath: fetched.localPath)) == original)
        #expect(fetched.bytes == Int64(original.count))
        #expect(fetched.sha256 == sha256Hex(original))
        #expect(!FileManager.default.fileExists(atPath: scratch.path("work/2.eml.part")))
        #expect(try await source.stat(listed[1].path)?.size == listed[1].size)

        // Archived into the processed mailbox, found there again by its archive path, never moved twice.
        let target = "\(processed)/20261206-notice.eml"
        try await source.ensureFolder(processed)
        try await source.move(listed[1].path, to: target)
        #expect(try server.uids(in: inbox).count == 1)
        #expect(try server.uids(in: processed).count == 1)
        #expect(try await source.stat(listed[1].path) == nil)
        #expect(try await source.stat(target)?.size == listed[1].size)
        #expect(try await source.stat("\(processed)/20261206-other.eml") == nil)
        await #expect(throws: FileSourceError.self) { try await source.move(listed[1].path, to: target) }
        #expect(try server.uids(in: processed).count == 1)
    }

    /// A mailbox deleted and made again has a new UIDVALIDITY: the old names find nothing, not another message.
    @Test func uidValidityChangeNeverReachesAnotherMessage() async throws {
        let inbox = TestMailServer.uniqueMailbox("in")
        try server.createMailbox(inbox)
        defer { try? server.deleteMailbox(inbox) }
        try server.append(try message("before"), to: inbox)
        let source = try source(processed: "processed", quarantine: "quarantine")
        defer { Task { await source.close() } }
        let before = try await source.list(folder: inbox)
        try #require(before.count == 1)

        try server.deleteMailbox(inbox)
        // Dovecot takes a new mailbox's UIDVALIDITY from the clock: a mailbox made again within the same second would
        // get the old one.
        try await Task.sleep(for: .milliseconds(1100))
        try server.createMailbox(inbox)
        #expect(try server.uidValidity(of: inbox) != before[0].path.split(separator: "/").last.flatMap { UInt32($0.prefix { $0.isNumber }) })
        try server.append(try message("after"), to: inbox)
        let after = try await source.list(folder: inbox)
        #expect(after.count == 1)
        #expect(after[0].path != before[0].path)  // the same UID 1, under the new UIDVALIDITY
        #expect(try await source.stat(before[0].path) == nil)
        await #expect(throws: FileSourceError.self) { try await source.fetch(before[0].path, to: scratch.path("old.eml"), progress: nil) }
        await #expect(throws: FileSourceError.self) { try await source.move(before[0].path, to: "processed/x.eml") }
        #expect(try server.uids(in: inbox).count == 1)
    }

    @Test func missingMailboxFailsItsListing() async throws {
        let source = try source(processed: "processed", quarantine: "quarantine")
        defer { Task { await source.close() } }
        do {
            _ = try await source.list(folder: TestMailServer.uniqueMailbox("absent"))
            Issue.record("a missing mailbox listed")
        } catch let error as FileSourceError {
            #expect(!error.isFatal)
            #expect("\(error)".contains("does not exist"))
        }
    }

    /// Certificates are always verified and a refused login is fatal; neither message holds the password.
    @Test func untrustedServerAndWrongPasswordAreFatal() async throws {
        let password = try String(contentsOfFile: server.passwordFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        // A CA bundle that did not sign the test server's certificate.
        let untrusted = try source(caFile: "/etc/ssl/certs/ca-certificates.crt", processed: "processed", quarantine: "quarantine")
        let wrong = try source(
            password: try MailSecret(environmentVariable: "P", environment: ["P": "not-the-password"]), processed: "processed",
            quarantine: "quarantine")
        for (source, expected) in [(untrusted, "certificate"), (wrong, "login denied")] {
            do {
                _ = try await source.list(folder: "INBOX")
                Issue.record("listed despite: \(expected)")
            } catch let error as FileSourceError {
                #expect(error.isFatal, "\(error)")
                #expect("\(error)".lowercased().contains(expected))
                #expect(!"\(error)".contains(password) && !"\(error)".contains("not-the-password"))
            }
            await source.close()
        }
    }
}
