import BridgeRun
import DQTTesting
import Foundation
import Testing

/// kill -9 of the real `dqt-bridge` binary at named points of a two-file run (DQT_BRIDGE_FAILPOINT), then runs until
/// it finishes: every record applied exactly once, every file published and archived once.
@Suite("Crash and resume", .serialized, .enabled(if: TestServices.isCI || (BridgeHarness.servicesAvailable && BridgeHarness.bridgeBinary != nil)))
struct CrashTests {
    static let points = [
        "listed", "discovered", "fetching", "fetched", "staging:3", "staged", "staged:2", "batch-answered", "batch-answered:2",
        "batch-recorded", "batch-answered:4", "published", "archive-planned", "archived", "archived:2", "run-finishing",
    ]

    @Test("Killed at a fail point, the next runs resume: nothing lost, nothing applied twice", arguments: points)
    func crashAndResume(point: String) async throws {
        try await BridgeHarness.with { h in
            let config = try h.configuration { $0.api.batchSize = 2; $0.api.concurrency = 1 }
            let file = try h.writeConfigurationFile(config)
            try h.place(Synthetic.induction(persons: 1...5), in: "ewc/pickup", as: "IND_crash_a.csv")
            try h.place(Synthetic.induction(persons: 6...10), in: "ewc/pickup", as: "IND_crash_b.csv")

            let crashed = try await h.runBinary(["run", "--config", file], environment: ["DQT_BRIDGE_FAILPOINT": point])
            #expect(crashed.status == -9, "the run was not killed at \(point): \(crashed.output)")

            var finished = false
            for _ in 0..<3 where !finished {
                let again = try await h.runBinary(["run", "--config", file])
                #expect(again.status == 0, "\(again.output)")
                finished = try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE state = 'published' AND archived_at IS NOT NULL") == 2
            }
            #expect(finished, "not both files published and archived after killing at \(point)")
            #expect(try await h.appliedWrites() == 10)
            #expect(try await h.apiInt("SELECT count(*) FROM audit WHERE idempotency_key IS NOT NULL") == 10, "a record applied twice")
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.records WHERE outcome = 'published'") == 10)
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.files") == 2, "a file taken twice")
            #expect(h.files(in: "ewc/pickup").isEmpty)
            #expect(h.files(in: "ewc/processed").count == 2)
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.runs WHERE status = 'interrupted'") == 1)
        }
    }
}
