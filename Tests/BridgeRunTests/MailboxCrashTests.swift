import BridgeRun
import DQTTesting
import FileSources
import Foundation
import Synchronization
import Testing

/// kill -9 of the real `dqt-bridge run` at every fail point a clean run over an IMAP mail drop passes (listing,
/// recording, fetching by UID, the ledger's record of the content's SHA-256, routing, staging, publishing, the move to
/// the processed or quarantine mailbox and its record), then runs until done: every expected write applied once, each
/// email handled once and moved out of the drop once, into the right mailbox.
@Suite("Mailbox crash and resume", .serialized, .enabled(if: BridgeHarness.binaryAndServicesAvailable && TestMailboxes.available))
struct MailboxCrashTests {
    static let files = [
        PlacedFile(feed: "prohibition-notices", folder: "", name: "notice-good.eml", content: MailboxRunTests.good),
        PlacedFile(feed: "prohibition-notices", folder: "", name: "notice-refused.eml", content: MailboxRunTests.refused),
    ]

    struct Reference: Sendable {
        let expected: [ExpectedWrite]
        let points: [String]
    }

    @Test("kill -9 at every point of a run over an IMAP mail drop, then runs until done: nothing lost, nothing twice")
    func crashAndResume() async throws {
        let reference = try await Self.cleanRun()
        #expect(reference.points.count >= 12, "only \(reference.points.count) kill points: \(reference.points)")
        for point in reference.points {
            try await Self.crash(at: point, reference: reference)
        }
    }

    static func run(_ h: BridgeHarness, _ config: String, environment: [String: String] = [:], log: String) throws -> ChildProcess {
        try bridgeProcess(
            ["run", "--config", config, "--today", BridgeHarness.today, "--feed", "prohibition-notices"], harness: h, environment: environment,
            output: joinPath(h.scratch, log))
    }

    /// A fresh drop with both emails in it, and the configuration file that reads it.
    static func prepare(_ h: BridgeHarness, _ mail: TestMailboxes) throws -> String {
        for file in files { try mail.deliver(file.content, scratch: h.scratch) }
        let mappings = try h.mappingsWithLiveNotices()
        return try mail.configurationFile(h, try h.configuration { $0.mappings = mappings })
    }

    static func cleanRun() async throws -> Reference {
        let reference = Mutex<Reference?>(nil)
        try await BridgeHarness.with { h in
            let mail = try TestMailboxes()
            defer { mail.remove() }
            let config = try prepare(h, mail)
            let expected = try await BridgeHarness.expectedWrites(files, scratch: h.scratch)
            let trace = joinPath(h.scratch, "failpoints.trace")
            let process = try run(h, config, environment: ["DQT_BRIDGE_FAILPOINT_TRACE": trace], log: "clean.log")
            let status = await process.wait()
            #expect(status == 1, "the clean run ends with a refused email: \(process.output.suffix(2000))")
            let verdict = try await h.verdict(expected: expected, reference: nil)
            #expect(verdict.exact && verdict.expected == 2, "\(verdict)")
            let filesOK = try checkMail(h, mail, point: "none")
            let passed = ((try? String(contentsOfFile: trace, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            reference.withLock { $0 = Reference(expected: expected, points: CrashTests.choose(from: passed)) }
            SuiteTable.append(
                SuiteRow(
                    suite: "crash", scenario: "mailbox: clean run (reference), 2 emails in an IMAP drop", runs: 1, expected: verdict.expected,
                    applied: verdict.applied, lost: verdict.lost, duplicated: verdict.duplicated, refused: 1,
                    reasons: "sender-not-allowed: 1; \(passed.count) fail points passed", ok: verdict.exact && filesOK))
        }
        return try #require(reference.withLock { $0 })
    }

    static func crash(at point: String, reference: Reference) async throws {
        try await BridgeHarness.with { h in
            let mail = try TestMailboxes()
            defer { mail.remove() }
            let config = try prepare(h, mail)
            let recovery = try await KillAndRecover.run(
                at: point, maxRuns: 5, start: { try run(h, config, environment: $0, log: $1) }, isDone: { try allDone(h) })
            let (killed, runs, done) = (recovery.killed, recovery.runs, recovery.done)
            #expect(done, "emails not all done after \(runs) runs (kill at \(point))")
            let verdict = try await h.verdict(expected: reference.expected, reference: nil)
            #expect(verdict.exact, "kill at \(point): \(verdict)")
            let filesOK = try checkMail(h, mail, point: point)
            SuiteTable.append(
                SuiteRow(
                    suite: "crash", scenario: "mailbox: kill -9 at \(point)", runs: runs, expected: verdict.expected, applied: verdict.applied,
                    lost: verdict.lost, duplicated: verdict.duplicated, refused: 1,
                    reasons: "sender-not-allowed: 1" + (verdict.exact ? "" : "; \(verdict)"),
                    ok: killed == -9 && done && verdict.exact && filesOK))
        }
    }

    static func allDone(_ h: BridgeHarness) throws -> Bool {
        try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE state IN ('published', 'quarantined') AND archived_at IS NOT NULL") == files.count
    }

    /// Each email recorded once with its content's hash, published or quarantined, and moved out of the drop once.
    @discardableResult
    static func checkMail(_ h: BridgeHarness, _ mail: TestMailboxes, point: String) throws -> Bool {
        let taken = try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE transport = 'imap' AND sha256 IS NOT NULL")
        let rows = try h.ledgerInt("SELECT count(*) FROM bridge.files")
        let published = try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE state = 'published' AND archived_at IS NOT NULL")
        let quarantined = try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE state = 'quarantined' AND archived_at IS NOT NULL")
        let inbox = try mail.server.uids(in: mail.inbox).count
        let processed = (try? mail.server.uids(in: mail.processed).count) ?? 0
        let quarantine = (try? mail.server.uids(in: mail.quarantine).count) ?? 0
        let ok = taken == 2 && rows == 2 && published == 1 && quarantined == 1 && inbox == 0 && processed == 1 && quarantine == 1
        #expect(
            ok,
            """
            kill at \(point): \(rows) ledger rows (\(taken) with a hash), \(published) published, \(quarantined) quarantined; \
            \(inbox) left in the drop, \(processed) processed, \(quarantine) in quarantine
            """)
        return ok
    }
}
