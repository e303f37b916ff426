import BridgeRun
import DQTTesting
import FileSources
import Foundation
import LibPQ
import Testing

/// The API's own PostgreSQL (the test's own, under an in-process dqt-api) restarted in the middle of a run: the
/// API answers 503 with `Retry-After` while its pooled connections are found dead, the publisher waits and resends,
/// and every write is applied exactly once.
@Suite("Faults on the way: the API's database", .enabled(if: BridgeHarness.binaryAndServicesAvailable))
struct APIDatabaseRestartTests {
    @Test("the API's PostgreSQL restarted between two batches of a run: the run waits out the 503s and completes, every write once")
    func apiDatabaseRestarted() async throws {
        let postgres = try PrivatePostgres()
        do {
            try await postgres.start()
            try await scenario(postgres)
        } catch {
            await postgres.destroy()
            throw error
        }
        await postgres.destroy()
    }

    func scenario(_ postgres: PrivatePostgres) async throws {
        try await BridgeHarness.with(apiAdminURL: postgres.url) { h in
            let config = try h.writeConfigurationFile(
                try h.configuration {
                    $0.api.batchSize = 2
                    $0.api.concurrency = 1
                })
            let files = PipelineFaultTests.files
            for file in files { try h.place(file) }
            let expected = try await BridgeHarness.expectedWrites(files, scratch: h.scratch)
            let arguments = ["run", "--config", config, "--today", BridgeHarness.today]

            let run = try bridgeProcess(
                arguments, harness: h, environment: ["DQT_BRIDGE_FAILPOINT": "batch-recorded:1:stop"], output: joinPath(h.scratch, "run-1.log"))
            let stopped = await run.waitUntilStopped()
            #expect(stopped, "the run did not stop after its first batch: \(run.output.suffix(2000))")
            try await postgres.restart()
            run.resume()
            let status = await run.wait()
            #expect(status == 0, "the run did not complete after the restart (status \(status)): \(run.output.suffix(3000))")
            let waitedOut503 = run.output.contains("HTTP 503")
            // Each of the test's own pooled connections to the restarted server fails once before it is reopened.
            for _ in 0..<2 {
                await withTaskGroup(of: Void.self) { group in
                    for _ in 0..<h.apiPool.maximumConnections {
                        group.addTask { _ = try? await h.apiPool.withConnection { try $0.execute("SELECT 1") } }
                    }
                }
            }
            let verdict = try await h.verdict(expected: expected, reference: nil)
            let done = try PipelineFaultTests.allDone(h, files: files.count)
            #expect(done && verdict.exact, "\(verdict)")
            SuiteTable.append(
                SuiteRow(
                    suite: "faults", scenario: "API database (PostgreSQL) restarted mid-run, between two batches", runs: 1,
                    expected: verdict.expected, applied: verdict.applied, lost: verdict.lost, duplicated: verdict.duplicated,
                    reasons: "run exit \(status); 503 with Retry-After waited out: \(waitedOut503 ? "yes" : "no")",
                    ok: done && verdict.exact && status == 0))
        }
    }
}
