import BridgeRun
import DQTTesting
import Delivery
import FileSources
import Foundation
import LibPQ
import Synchronization
import Testing

/// kill -9 of the real `dqt-bridge notices send` at every notice fail point a clean pass over two outbox entries
/// passes, then passes until both are sent: each notice arrives exactly once in the Dovecot mailbox (counted by its
/// Message-ID with the `curl` program), the ledger has both `sent` and both entries are in `sent/`.
@Suite(
    "Notice sender crash and resume", .serialized,
    .enabled(
        if: BridgeHarness.binaryAndServicesAvailable && TestMailboxes.available
            && TestServices.shouldRun(TestServices.smtpURL, TestServices.smtpMailbox)))
struct NoticeCrashTests {
    /// Long enough for Postfix to deliver into Dovecot on a loaded machine: a shorter one could resend a queued notice.
    static let grace = 8.0

    @Test("kill -9 at every notice fail point, then passes until done: every notice arrives once")
    func crashAndResume() async throws {
        let points = try await Self.scenario(killAt: nil)
        #expect(points.count >= 8, "only \(points.count) kill points: \(points)")
        for point in points { _ = try await Self.scenario(killAt: point) }
    }

    /// One scenario in a fresh harness and outbox; returns the notice fail points a clean pass went through.
    static func scenario(killAt point: String?) async throws -> [String] {
        let passed = Mutex<[String]>([])
        try await BridgeHarness.with { h in
            let server = try TestMailServer()
            let mailbox = try TestServices.require(TestServices.smtpMailbox)
            let outbox = joinPath(h.scratch, "outbox")
            try FileManager.default.createDirectory(atPath: outbox, withIntermediateDirectories: true)
            let box = MailOutbox(folder: outbox)
            let entries = try (0..<2).map { _ in try NoticeOutbox.add(to: [mailbox], outbox: outbox, scratch: h.scratch, size: 500).entry }
            let config = try configurationFile(h, server: server, outbox: outbox, mailbox: mailbox)
            var runs = 0
            var killed: Int32 = 0
            if let point {
                runs += 1
                killed = try await send(h, config, environment: ["DQT_BRIDGE_FAILPOINT": point], log: "killed.log").wait()
                #expect(killed == -9, "the pass was not killed at \(point) (status \(killed))")
            }
            let trace = joinPath(h.scratch, "failpoints.trace")
            repeat {
                if runs > 0 { try await Task.sleep(for: .seconds(grace + 0.5)) }
                runs += 1
                let process = try send(h, config, environment: point == nil ? ["DQT_BRIDGE_FAILPOINT_TRACE": trace] : [:], log: "run-\(runs).log")
                let status = await process.wait()
                #expect(status == 0, "pass \(runs) (kill at \(point ?? "none")) exited \(status): \(process.output.suffix(2000))")
            } while try runs < 6 && h.ledgerInt("SELECT count(*) FROM bridge.notices WHERE state = 'sent'") < entries.count
            let sent = try h.ledgerInt("SELECT count(*) FROM bridge.notices WHERE state = 'sent'")
            let messageIDs = try h.ledgerQuery { connection in
                try connection.query("SELECT message_id FROM bridge.notices ORDER BY id").rows.compactMap { $0["message_id"] }
            }
            var counts: [Int] = []
            for id in messageIDs { counts.append(try await arrived(server, id)) }
            for id in messageIDs { try? remove(server, id) }
            let inSent = entries.filter { box.location(of: $0) == .sent }.count
            let lost = entries.count - counts.filter { $0 > 0 }.count
            let duplicated = counts.map { max(0, $0 - 1) }.reduce(0, +)
            let ok = (point == nil || killed == -9) && sent == 2 && messageIDs.count == 2 && inSent == 2 && lost == 0 && duplicated == 0
            #expect(ok, "kill at \(point ?? "none"): \(sent) sent of \(messageIDs.count) in the ledger, \(inSent) in sent/, arrived \(counts)")
            if point == nil {
                let names = ((try? String(contentsOfFile: trace, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
                passed.withLock { $0 = names.filter { $0.hasPrefix("notice-") } }
            }
            SuiteTable.append(
                SuiteRow(
                    suite: "crash", scenario: point.map { "notices: kill -9 at \($0)" } ?? "notices: clean pass (reference), 2 outbox entries",
                    runs: runs, expected: entries.count, applied: counts.filter { $0 > 0 }.count, lost: lost, duplicated: duplicated,
                    reasons: "\(inSent) entries in sent/", ok: ok))
        }
        return passed.withLock { $0 }
    }

    static func send(_ h: BridgeHarness, _ config: String, environment: [String: String], log: String) throws -> ChildProcess {
        try bridgeProcess(["notices", "send", "--config", config], harness: h, environment: environment, output: joinPath(h.scratch, log))
    }

    /// The harness's configuration with this outbox and an `smtp:` section for the test Postfix, its sent copy the test
    /// account's INBOX.
    static func configurationFile(_ h: BridgeHarness, server: TestMailServer, outbox: String, mailbox: String) throws -> String {
        let path = try h.writeConfigurationFile(try h.configuration())
        let yaml = """
            mailOutbox: \(outbox)
            smtp:
              url: \(try TestServices.require(TestServices.smtpURL))
              caFile: \(server.caFile)
              from: dqt-bridge@dqt.test
              messageIDDomain: dqt-bridge.test
              connectTimeoutSeconds: 5
              operationTimeoutSeconds: 20
              retry: {attempts: 6, attemptsPerRun: 2, backoffSeconds: 0.2}
              ambiguousGraceSeconds: \(grace)
              sentCopy:
                address: \(mailbox)
                folder: INBOX
                imap: {url: \(server.url), user: \(server.user), passwordFile: \(server.passwordFile), caFile: \(server.caFile)}

            """
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(yaml.utf8))
        try handle.close()
        return path
    }

    /// How many messages with this Message-ID reached the INBOX: waits for the first, then a little for a second.
    static func arrived(_ server: TestMailServer, _ messageID: String) async throws -> Int {
        for _ in 0..<100 where try uids(server, messageID).isEmpty { try await Task.sleep(for: .milliseconds(200)) }
        try await Task.sleep(for: .seconds(1))
        return try uids(server, messageID).count
    }

    static func uids(_ server: TestMailServer, _ messageID: String) throws -> [UInt32] {
        let answer = try server.curl(["\(server.url)/INBOX", "-X", "UID SEARCH HEADER Message-ID \"<\(messageID)>\""])
        return answer.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("* SEARCH") }
            .flatMap { $0.split(separator: " ").dropFirst(2).compactMap { UInt32($0) } }
    }

    static func remove(_ server: TestMailServer, _ messageID: String) throws {
        for uid in try uids(server, messageID) { _ = try server.curl(["\(server.url)/INBOX", "-X", "UID STORE \(uid) +FLAGS.SILENT (\\Deleted)"]) }
    }
}
