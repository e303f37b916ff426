import BridgeRun
import DQTTesting
import FileSources
import Foundation
import Testing

/// The `dqt-bridge` binary's commands against the real services.
@Suite("dqt-bridge commands", .serialized, .enabled(if: BridgeHarness.binaryAndServicesAvailable))
struct CommandTests {
    @Test("run, status, report and migrate; exit statuses 0, 1 and 2")
    func commands() async throws {
        try await BridgeHarness.with { h in
            let config = try h.configuration()
            let file = try h.writeConfigurationFile(config)
            try h.place(Synthetic.induction(good: 2, bad: 1), in: "ewc/pickup", as: "IND_cli.csv")
            let run = try await h.runBinary(["run", "--config", file])
            #expect(run.status == 1, "\(run.output)")
            #expect(run.output.contains("ewc-induction"))
            let status = try await h.runBinary(["status", "--config", file])
            #expect(status.status == 0)
            #expect(status.output.contains("published 1"), "\(status.output)")
            let out = joinPath(h.scratch, "report-out")
            let report = try await h.runBinary(["report", "last", "--config", file, "--out", out])
            #expect(report.status == 0, "\(report.output)")
            let json = try String(contentsOfFile: joinPath(out, "run-1.json"), encoding: .utf8)
            #expect(json.contains("\"refusedRows\""))
            #expect(try await h.runBinary(["migrate", "--config", file]).output.contains("up to date"))
            // A configuration that does not load: exit 2.
            #expect(try await h.runBinary(["run", "--config", joinPath(h.scratch, "missing.yaml")]).status == 2)
        }
    }

    @Test("watch: SIGTERM finishes the pass in hand, then stops with exit 0")
    func watchStopsOnSIGTERM() async throws {
        try await BridgeHarness.with { h in
            let config = try h.configuration()
            let file = try h.writeConfigurationFile(config)
            try h.place(Synthetic.induction(good: 3), in: "ewc/pickup", as: "IND_watch.csv")
            let process = try bridgeProcess(
                ["watch", "--config", file, "--interval", "1s"], harness: h, environment: ["DQT_BRIDGE_LOG_LEVEL": "warning"],
                output: joinPath(h.scratch, "watch.log"))
            // Wait for two finished passes.
            var passes = 0
            for _ in 0..<150 where passes < 2 {
                try await Task.sleep(for: .milliseconds(100))
                passes = (try? h.ledgerInt("SELECT count(*) FROM bridge.runs WHERE finished_at IS NOT NULL")) ?? 0
            }
            #expect(passes >= 2)
            process.send(SIGTERM)
            var waited = 0
            while process.isRunning, waited < 100 {
                try await Task.sleep(for: .milliseconds(100))
                waited += 1
            }
            #expect(!process.isRunning, "watch did not stop within 10 s of SIGTERM")
            process.send(SIGKILL)
            #expect(await process.wait() == 0)
            #expect(try await h.appliedWrites() == 3)
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.runs WHERE status = 'running'") == 0)
        }
    }
}
