import AsyncHTTPClient
import BridgeRun
import DQTModel
import DQTTesting
import FaultProxy
import FeedMapping
import FileSources
import Foundation
import Ledger
import LibPQ
import Testing

/// Faults on the way, each ending with every expected write applied exactly once (counted per idempotency key in the
/// API's audit), nothing lost: the fault proxy between the bridge and the API (5xx, 429 with Retry-After, resets,
/// slow and hung responses, answers lost after the API applied the write), the test's own sshd killed in the middle
/// of a download, and the test's own PostgreSQL (the ledger's) restarted in the middle of a run. Killing and
/// restarting only touches services these tests started themselves.
@Suite("Faults on the way", .serialized, .enabled(if: BridgeHarness.binaryAndServicesAvailable))
struct PipelineFaultTests {
    static let files: [PlacedFile] = [
        PlacedFile(feed: "ewc-induction", folder: "ewc/pickup", name: "IND_fault_a.csv", content: Data(Synthetic.induction(persons: 1...5).utf8)),
        PlacedFile(feed: "ewc-induction", folder: "ewc/pickup", name: "IND_fault_b.csv", content: Data(Synthetic.induction(persons: 6...10).utf8)),
    ]

    struct ProxyScenario: Sendable, CustomTestStringConvertible {
        let name: String
        let schedule: FaultSchedule
        /// Faults the schedule must have injected (at least).
        let faults: Int
        var testDescription: String { name }
    }

    static let allFaults: [FaultAction] = [
        .respond(status: 500), .respond(status: 502), .respond(status: 503), .tooManyRequests(retryAfter: 1), .resetBeforeForwarding,
        .resetAfterForwarding, .dropResponse, .resetAfterBytes(40), .delay(milliseconds: 300), .hang, .hangAfterForwarding,
    ]

    static let proxyScenarios: [ProxyScenario] = [
        ProxyScenario(
            name: "5xx (500, 502, 503)", schedule: .script([.respond(status: 500), .respond(status: 502), .respond(status: 503)]), faults: 3),
        ProxyScenario(
            name: "429 with Retry-After: 1", schedule: .script([.tooManyRequests(retryAfter: 1), .pass, .tooManyRequests(retryAfter: 1)]), faults: 2),
        ProxyScenario(
            name: "connection reset before forwarding", schedule: .script([.resetBeforeForwarding, .pass, .resetBeforeForwarding]), faults: 2),
        ProxyScenario(
            name: "connection reset after the API applied the batch", schedule: .script([.resetAfterForwarding, .pass, .resetAfterForwarding]),
            faults: 2),
        ProxyScenario(
            name: "answer lost after the API applied the batch (FIN)", schedule: .script([.dropResponse, .dropResponse, .pass, .dropResponse]),
            faults: 3),
        ProxyScenario(name: "answer cut after 40 bytes", schedule: .script([.resetAfterBytes(40), .pass, .resetAfterBytes(40)]), faults: 2),
        ProxyScenario(name: "slow answers (every batch 700 ms late)", schedule: .always(.delay(milliseconds: 700)), faults: 5),
        ProxyScenario(name: "hung before forwarding (client timeout)", schedule: .script([.hang]), faults: 1),
        ProxyScenario(name: "hung after the API applied the batch (client timeout)", schedule: .script([.pass, .hangAfterForwarding]), faults: 1),
        ProxyScenario(
            name: "seeded random mix of every fault (seed 5, 40%)",
            schedule: .random(seed: 5, faultRate: 0.4, faults: allFaults, maxFaults: 12), faults: 2),
    ]

    @Test("the fault proxy between bridge and API: the run retries or the next one resumes, every write applied once", arguments: proxyScenarios)
    func throughTheFaultProxy(_ scenario: ProxyScenario) async throws {
        try await BridgeHarness.with { h in
            var limits = FaultProxy.Limits()
            limits.hangLimit = .seconds(30)
            let proxy = try FaultProxy(upstreamPort: h.apiBaseURL.port!, schedule: scenario.schedule.only { $0.method == "POST" }, limits: limits)
            defer { proxy.stop() }
            let client = makeBridgeHTTPClient(timeoutSeconds: 3, connections: 2)
            defer { Task { try? await client.shutdown() } }
            let transport = GeneratedClientTransport(baseURL: URL(string: proxy.baseURL)!, apiKey: h.apiKey, httpClient: client)
            let config = try h.configuration {
                $0.api.batchSize = 2
                $0.api.concurrency = 2
                $0.api.maxAttempts = 6
                $0.api.baseDelaySeconds = 0.05
                $0.api.maxDelaySeconds = 0.2
            }
            for file in Self.files { try h.place(file) }
            let expected = try await BridgeHarness.expectedWrites(Self.files, scratch: h.scratch)
            var runs = 0
            var statuses: [Int32] = []
            repeat {
                runs += 1
                let environment = try h.environment(config, transport: transport)
                let outcome = await BridgeRunner(environment: environment).run(options: RunOptions(today: LocalDate(iso: BridgeHarness.today)))
                environment.ledger.close()
                statuses.append(outcome.exitStatus)
            } while try runs < 4 && !Self.allDone(h, files: Self.files.count)
            let stats = proxy.stats
            let verdict = try await h.verdict(expected: expected, reference: nil)
            let done = try Self.allDone(h, files: Self.files.count)
            #expect(stats.injected >= scenario.faults, "\(scenario.name): \(stats)")
            #expect(done, "\(scenario.name): files not all published and archived after \(runs) runs (exit \(statuses))")
            #expect(verdict.exact, "\(scenario.name): \(verdict); \(stats)")
            #expect(statuses.allSatisfy { $0 == 0 || $0 == 2 }, "\(scenario.name): exit statuses \(statuses)")
            SuiteTable.append(
                SuiteRow(
                    suite: "faults", scenario: "API proxy: \(scenario.name)", runs: runs, expected: verdict.expected, applied: verdict.applied,
                    lost: verdict.lost, duplicated: verdict.duplicated,
                    reasons:
                        "\(stats.injected) faults injected (\(Self.faultSummary(stats))); exit \(statuses.map(String.init).joined(separator: ","))",
                    ok: done && verdict.exact && stats.injected >= scenario.faults))
        }
    }

    @Test("sshd killed in the middle of a download: the partial file is never parsed, the next run completes")
    func sshdKilledDuringDownload() async throws {
        try await BridgeHarness.with { h in
            let sshd = try PrivateSSHD(scratch: h.scratch)
            try await sshd.start()
            // Big enough that most of it is still on the server when sshd dies (a few MB): ten good rows, then rows
            // the mapping refuses (a TRN with a letter).
            var text = Synthetic.induction(persons: 1...10)
            for row in 0..<40000 { text += "10000X\(row % 10),Pad,Row,01/01/1970,01/09/2024,18/07/2025,,Ysgol,6612001,Pass\r\n" }
            let files = [PlacedFile(feed: "ewc-induction", folder: "ewc/pickup", name: "IND_sshd.csv", content: Data(text.utf8))]
            try h.place(files[0])
            let expected = try await BridgeHarness.expectedWrites(files, scratch: h.scratch)
            var configuration = try h.configuration { $0.api.batchSize = 4 }
            configuration.sftp?.port = sshd.port
            configuration.sftp?.knownHosts = sshd.knownHosts
            let config = try h.writeConfigurationFile(configuration)
            let arguments = ["run", "--config", config, "--today", BridgeHarness.today]

            let first = try bridgeProcess(
                arguments, harness: h, environment: ["DQT_BRIDGE_FAILPOINT": "fetching:1:stop"], output: joinPath(h.scratch, "run-1.log"))
            let stopped = await first.waitUntilStopped()
            #expect(stopped, "the run did not stop in the download: \(first.output.suffix(2000))")
            let partial = try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE state = 'discovered'")
            await sshd.kill()
            first.resume()
            let firstStatus = await first.wait()
            #expect(firstStatus == 2, "a run whose download failed exits 2: \(first.output.suffix(2000))")
            let parsedAfterKill = try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE state <> 'discovered' OR sha256 IS NOT NULL")
            let staged = try h.ledgerInt("SELECT count(*) FROM bridge.records")
            let workFiles = (try? FileManager.default.contentsOfDirectory(atPath: joinPath(configuration.workFolder, "files"))) ?? []
            #expect(partial == 1 && parsedAfterKill == 0 && staged == 0, "the partly downloaded file went further than 'discovered'")
            // A copy is kept only whole (sshd may have sent the rest before it died; the ledger does not know it
            // yet, the next run fetches again).
            let kept = workFiles.filter { $0.hasSuffix(".dat") }.compactMap { name -> String? in
                let size = (try? FileManager.default.attributesOfItem(atPath: joinPath(configuration.workFolder, "files", name)))?[.size] as? Int ?? 0
                return size == files[0].content.count ? nil : "\(name) (\(size) of \(files[0].content.count) bytes)"
            }
            #expect(kept.isEmpty, "a partial download was kept: \(kept); run output: \(first.output.suffix(3000))")
            #expect(try await h.appliedWrites() == 0)

            try await sshd.start()
            var runs = 1
            var statuses = [firstStatus]
            while try runs < 4 && !Self.allDone(h, files: 1) {
                runs += 1
                let process = try bridgeProcess(arguments, harness: h, output: joinPath(h.scratch, "run-\(runs).log"))
                let status = await process.wait()
                statuses.append(status)
            }
            await sshd.kill()
            let verdict = try await h.verdict(expected: expected, reference: nil)
            let done = try Self.allDone(h, files: 1)
            let sha = try Self.ledgerSHA256(h)
            let refused = try h.refusals()
            #expect(done && verdict.exact, "\(verdict), exit statuses \(statuses)")
            let whole = try FileDigest.sha256(path: joinPath(h.localRoot, "ewc/processed", h.files(in: "ewc/processed").first ?? "none"))
            #expect(sha == whole, "the ledger's SHA-256 is not the whole file's")
            SuiteTable.append(
                SuiteRow(
                    suite: "faults", scenario: "sshd killed during a download (\(files[0].content.count / 1024) KB file)", runs: runs,
                    expected: verdict.expected, applied: verdict.applied, lost: verdict.lost, duplicated: verdict.duplicated,
                    refused: refused.rows,
                    reasons: SuiteTable.reasons(refused.reasons)
                        + "; partial file parsed: \(parsedAfterKill + staged > 0 ? "yes" : "no"), partial copy kept: \(kept.isEmpty ? "no" : "yes"); exit \(statuses.map(String.init).joined(separator: ","))",
                    ok: done && verdict.exact && parsedAfterKill == 0 && staged == 0 && kept.isEmpty && firstStatus == 2))
        }
    }

    /// Where the run is stopped while its ledger's PostgreSQL restarts: inside the staging transaction, after the API
    /// applied a batch but before the ledger recorded it, and between planning and doing an archive move.
    static let restartPoints = ["staging:3", "batch-answered:2", "archive-planned:1"]

    @Test(
        "PostgreSQL (the ledger's) restarted in the middle of a run: the run fails cleanly or recovers, the next one completes",
        arguments: restartPoints)
    func postgresRestarted(at point: String) async throws {
        let postgres = try PrivatePostgres()
        do {
            try await postgres.start()
            try await restartScenario(postgres, point: point)
        } catch {
            await postgres.destroy()
            throw error
        }
        await postgres.destroy()
    }

    func restartScenario(_ postgres: PrivatePostgres, point: String) async throws {
        try await BridgeHarness.with { shared in
            // The ledger on the test's own PostgreSQL, the one that restarts.
            try await TemporaryDatabase.with(prefix: "ledger", adminURL: postgres.url) { ledger in
                var h = shared
                h.ledgerURL = ledger.url
                let config = try h.writeConfigurationFile(
                    try h.configuration {
                        $0.api.batchSize = 2
                        $0.api.concurrency = 1
                    })
                for file in Self.files { try h.place(file) }
                let expected = try await BridgeHarness.expectedWrites(Self.files, scratch: h.scratch)
                let arguments = ["run", "--config", config, "--today", BridgeHarness.today]

                let first = try bridgeProcess(
                    arguments, harness: h, environment: ["DQT_BRIDGE_FAILPOINT": "\(point):stop"], output: joinPath(h.scratch, "run-1.log"))
                let stopped = await first.waitUntilStopped()
                #expect(stopped, "the run did not stop at \(point): \(first.output.suffix(2000))")
                try await postgres.restart()
                first.resume()
                let firstStatus = await first.wait()
                #expect(
                    (0...2).contains(firstStatus),
                    "the run did not end cleanly after the restart (status \(firstStatus)): \(first.output.suffix(3000))")
                var runs = 1
                var statuses = [firstStatus]
                while try runs < 4 && !Self.allDone(h, files: Self.files.count) {
                    runs += 1
                    let process = try bridgeProcess(arguments, harness: h, output: joinPath(h.scratch, "run-\(runs).log"))
                    let status = await process.wait()
                    statuses.append(status)
                    #expect(status == 0, "run \(runs) after the restart: \(process.output.suffix(2000))")
                }
                let verdict = try await h.verdict(expected: expected, reference: nil)
                let done = try Self.allDone(h, files: Self.files.count)
                #expect(done && verdict.exact, "restart at \(point): \(verdict), exit statuses \(statuses)")
                SuiteTable.append(
                    SuiteRow(
                        suite: "faults", scenario: "PostgreSQL (ledger) restarted at \(point)", runs: runs, expected: verdict.expected,
                        applied: verdict.applied, lost: verdict.lost, duplicated: verdict.duplicated,
                        reasons:
                            "first run exit \(firstStatus) (\(firstStatus == 0 ? "recovered" : "failed cleanly")); exit \(statuses.map(String.init).joined(separator: ","))",
                        ok: done && verdict.exact && (0...2).contains(firstStatus)))
            }
        }
    }

    static func ledgerSHA256(_ h: BridgeHarness) throws -> String? {
        try h.ledgerQuery { try $0.query("SELECT sha256 FROM bridge.files").string(0, 0) }
    }

    static func allDone(_ h: BridgeHarness, files: Int) throws -> Bool {
        try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE state IN ('published', 'quarantined') AND archived_at IS NOT NULL") == files
    }

    static func faultSummary(_ stats: FaultProxyStats) -> String {
        stats.byAction.filter { $0.key != "pass" }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }

}
