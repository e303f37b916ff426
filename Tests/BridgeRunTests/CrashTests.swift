import BridgeRun
import DQTTesting
import FileSources
import Foundation
import Synchronization
import Testing

/// kill -9 of the real `dqt-bridge run` process at every kind of step of a multi-file, two-feed run (listing, download,
/// parsing, staging, each publishing batch, archiving, the ledger writes between them), then runs until it finishes.
/// The kill points are the fail points a clean run of the same files really passes (DQT_BRIDGE_FAILPOINT_TRACE), so
/// the suite follows the run's structure as it changes. Each scenario must end exactly like the clean run: every
/// expected write applied once (counted per idempotency key in the API's audit), the API's rows equal, every file
/// published or quarantined once and archived.
@Suite("Crash and resume", .serialized, .enabled(if: BridgeHarness.binaryAndServicesAvailable))
struct CrashTests {
    /// Two live feeds in two folders: two good files, one with a refused row, one refused whole, and an
    /// appropriate bodies' file; with batches of 2, about a dozen publishing batches.
    static let files: [PlacedFile] = [
        PlacedFile(feed: "ewc-induction", folder: "ewc/pickup", name: "IND_crash_a.csv", content: Data(Synthetic.induction(persons: 1...3).utf8)),
        PlacedFile(
            feed: "ewc-induction", folder: "ewc/pickup", name: "IND_crash_b.csv",
            content: Data((Synthetic.induction(persons: 4...6) + "10000X2,Bad,Row,31/02/1974,01/09/2024,18/07/2025,,Ysgol,6612001,Maybe\r\n").utf8)),
        PlacedFile(
            feed: "ewc-induction", folder: "ewc/pickup", name: "IND_crash_c.csv",
            content: Data("REFERENCE_NO,FIRST_NAME\r\n1000001,Ffug\r\n".utf8)),
        PlacedFile(
            feed: "ab-induction", folder: "ab/pickup", name: "AB_Induction_crash.csv",
            content: FileManager.default.contents(atPath: joinPath(BridgeHarness.repository, "fixtures/ab-induction/good/AB_Induction_20261120.csv"))
                ?? Data()),
    ]
    static let publishedFiles = 3
    static let quarantinedFiles = 1

    /// At most this many passes of one point (spread over all of them) for points passed once per chunk or record.
    static let maxPassesPerPoint = ["fetching": 4, "staging": 4]

    struct Reference: Sendable {
        let expected: [ExpectedWrite]
        let state: [String: [String]]
        let points: [String]
    }

    @Test("kill -9 at 30+ points of a multi-file run, then runs until done: the API ends exactly as after a clean run")
    func crashAndResume() async throws {
        let reference = try await Self.cleanRun()
        #expect(reference.points.count >= 30, "only \(reference.points.count) kill points: \(reference.points)")
        for point in reference.points {
            try await Self.crash(at: point, reference: reference)
        }
    }

    static func configurationFile(_ h: BridgeHarness) throws -> String {
        try h.writeConfigurationFile(
            try h.configuration {
                $0.api.batchSize = 2
                $0.api.concurrency = 1
            })
    }

    static func run(_ h: BridgeHarness, _ config: String, environment: [String: String] = [:], log: String) throws -> ChildProcess {
        try bridgeProcess(
            ["run", "--config", config, "--today", BridgeHarness.today], harness: h, environment: environment,
            output: joinPath(h.scratch, log))
    }

    /// The clean run: what it passes (the kill points), the writes it must make and the API's state after it.
    static func cleanRun() async throws -> Reference {
        let reference = Mutex<Reference?>(nil)
        try await BridgeHarness.with { h in
            let config = try configurationFile(h)
            for file in files { try h.place(file) }
            let expected = try await BridgeHarness.expectedWrites(files, scratch: h.scratch)
            let trace = joinPath(h.scratch, "failpoints.trace")
            let status = try await run(h, config, environment: ["DQT_BRIDGE_FAILPOINT_TRACE": trace], log: "clean.log").wait()
            #expect(status == 1, "the clean run ends with refusals (a rejected row, a refused file)")
            let verdict = try await h.verdict(expected: expected, reference: nil)
            #expect(verdict.exact && verdict.expected >= 12, "\(verdict)")
            try checkFiles(h, point: "none")
            let passed = ((try? String(contentsOfFile: trace, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            let state = try await h.apiState()
            reference.withLock { $0 = Reference(expected: expected, state: state, points: choose(from: passed)) }
            let refused = try h.refusals()
            SuiteTable.append(
                SuiteRow(
                    suite: "crash", scenario: "clean run (reference): \(files.count) files, 2 feeds, batches of 2", runs: 1,
                    expected: verdict.expected, applied: verdict.applied, lost: verdict.lost, duplicated: verdict.duplicated,
                    refused: refused.rows, reasons: SuiteTable.reasons(refused.reasons) + "; \(passed.count) fail points passed",
                    ok: verdict.exact))
        }
        return try #require(reference.withLock { $0 })
    }

    /// Every point the clean run passed, in order; points passed once per chunk or record are thinned out evenly.
    static func choose(from passed: [String]) -> [String] {
        var passes: [String: Int] = [:]
        for entry in passed {
            let parts = entry.split(separator: ":")
            if parts.count == 2, let pass = Int(parts[1]) { passes[String(parts[0]), default: 0] = max(passes[String(parts[0]), default: 0], pass) }
        }
        var chosen: [String] = []
        for entry in passed {
            let parts = entry.split(separator: ":")
            guard parts.count == 2, let pass = Int(parts[1]) else { continue }
            let name = String(parts[0])
            let total = passes[name]!
            if let limit = maxPassesPerPoint[name], total > limit {
                let picks = Set((0..<limit).map { 1 + ($0 * (total - 1)) / max(1, limit - 1) })
                guard picks.contains(pass) else { continue }
            }
            chosen.append(entry)
        }
        return chosen
    }

    /// One scenario: killed at `point`, then runs until every file is done (at least 1 more, at most 4).
    static func crash(at point: String, reference: Reference) async throws {
        try await BridgeHarness.with { h in
            let config = try configurationFile(h)
            for file in files { try h.place(file) }
            let recovery = try await KillAndRecover.run(
                at: point, maxRuns: 5, start: { try run(h, config, environment: $0, log: $1) }, isDone: { try allFilesDone(h) })
            let (killed, runs, done) = (recovery.killed, recovery.runs, recovery.done)
            #expect(done, "files not all done after \(runs) runs (kill at \(point))")
            let verdict = try await h.verdict(expected: reference.expected, reference: reference.state)
            #expect(verdict.exact, "kill at \(point): \(verdict)")
            let filesOK = try checkFiles(h, point: point)
            let interrupted = try h.ledgerInt("SELECT count(*) FROM bridge.runs WHERE status = 'interrupted'")
            #expect(interrupted == 1, "kill at \(point): \(interrupted) runs marked interrupted")
            let refused = try h.refusals()
            SuiteTable.append(
                SuiteRow(
                    suite: "crash", scenario: "kill -9 at \(point)", runs: runs, expected: verdict.expected, applied: verdict.applied,
                    lost: verdict.lost, duplicated: verdict.duplicated, refused: refused.rows,
                    reasons: SuiteTable.reasons(refused.reasons) + (verdict.exact ? "" : "; \(verdict)"),
                    ok: killed == -9 && done && verdict.exact && filesOK && interrupted == 1))
        }
    }

    static func allFilesDone(_ h: BridgeHarness) throws -> Bool {
        try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE state IN ('published', 'quarantined') AND archived_at IS NOT NULL")
            == files.count
    }

    /// Every file taken once, published or quarantined, moved out of its pickup folder once.
    @discardableResult
    static func checkFiles(_ h: BridgeHarness, point: String) throws -> Bool {
        let taken = try h.ledgerInt("SELECT count(*) FROM bridge.files")
        let published = try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE state = 'published' AND archived_at IS NOT NULL")
        let quarantined = try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE state = 'quarantined' AND archived_at IS NOT NULL")
        let pickups = h.files(in: "ewc/pickup") + h.files(in: "ab/pickup")
        let processed = h.files(in: "ewc/processed").count + h.files(in: "ab/processed").count
        let quarantine = h.files(in: "ewc/quarantine").count + h.files(in: "ab/quarantine").count
        let ok =
            taken == files.count && published == publishedFiles && quarantined == quarantinedFiles && pickups.isEmpty
            && processed == publishedFiles && quarantine == quarantinedFiles
        #expect(
            ok,
            """
            kill at \(point): \(taken) files taken, \(published) published, \(quarantined) quarantined; \
            left in pickup \(pickups), \(processed) processed, \(quarantine) in quarantine
            """)
        return ok
    }
}
