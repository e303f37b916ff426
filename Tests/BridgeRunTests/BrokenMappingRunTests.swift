import BridgeRun
import DQTTesting
import FileSources
import Foundation
import LibPQ
import Testing

/// One broken mapping holds back its own feed only; `config check` finds configuration mistakes without the ledger.
@Suite("Broken mappings and config check", .serialized, .enabled(if: BridgeHarness.binaryAndServicesAvailable))
struct BrokenMappingRunTests {
    @Test("a broken mapping: run exits 2 naming the feed, the other feeds run, status shows it held back, lint fails")
    func brokenMappingIsolatesItsFeed() async throws {
        try await BridgeHarness.with { h in
            let mappings = joinPath(h.scratch, "mappings")
            try FileManager.default.copyItem(atPath: joinPath(BridgeHarness.repository, "mappings"), toPath: mappings)
            let broken = joinPath(mappings, "capita-import.yaml")
            let text = try String(contentsOfFile: broken, encoding: .utf8)
            try text.replacingOccurrences(of: "type: trn", with: "type: tnr").write(toFile: broken, atomically: true, encoding: .utf8)
            let file = try h.writeConfigurationFile(try h.configuration { $0.mappings = mappings })
            try h.place(Synthetic.induction(good: 2), in: "ewc/pickup", as: "IND_isolated.csv")

            let run = try await h.runBinary(["run", "--config", file])
            #expect(run.status == 2, "\(run.output)")
            #expect(run.output.contains("held back (mapping does not load): capita-import"), "\(run.output)")
            #expect(run.output.contains("capita-import.yaml:"), "\(run.output)")
            let published = try h.ledgerQuery { connection in
                try connection.query("SELECT count(*)::int AS n FROM bridge.files WHERE feed = 'ewc-induction' AND state = 'published'").int(0, "n")
            }
            #expect(published == 1)
            // The run report says which feed was held back and why (file and line), in its "what failed" section.
            let reports = joinPath(h.scratch, "reports")
            let reportTexts = try FileManager.default.contentsOfDirectory(atPath: reports).filter { $0.hasSuffix(".json") }.map {
                try String(contentsOfFile: joinPath(reports, $0), encoding: .utf8)
            }
            #expect(reportTexts.contains { $0.contains("mapping of feed capita-import does not load") && $0.contains("capita-import.yaml:") })
            let status = try await h.runBinary(["status", "--config", file])
            #expect(status.output.contains("capita-import"), "\(status.output)")
            #expect(status.output.contains("held back"), "\(status.output)")
            let lint = try await h.runBinary(["mappings", "lint", "--mappings", mappings])
            #expect(lint.status != 0)
            SuiteTable.append(
                SuiteRow(
                    suite: "hostile", scenario: "a broken mapping beside a good feed's file", runs: 1, expected: 2, applied: published == 1 ? 2 : 0,
                    lost: published == 1 ? 0 : 2, refused: 1, reasons: "capita-import held back (exit 2)", ok: run.status == 2 && published == 1))
        }
    }

    @Test("config check: exit 2 naming a misspelt key and a missing folder root; exit 0 when fixed; a work folder that is a file stops the run")
    func configCheck() async throws {
        try await BridgeHarness.with { h in
            let good = try h.writeConfigurationFile(try h.configuration())
            let text = try String(contentsOfFile: good, encoding: .utf8)
            let bad = joinPath(h.scratch, "bad.yaml")
            try text.replacingOccurrences(of: "reportsFolder:", with: "reportFolder:").write(toFile: bad, atomically: true, encoding: .utf8)
            // No database URL: the check must not need the ledger (it reports the variable as unset, nothing else).
            let noLedger = ["DQT_BRIDGE_DATABASE_URL": ""]
            let misspelt = try await h.runBinary(["config", "check", "--config", bad], environment: noLedger)
            #expect(misspelt.status == 2)
            let run = try await h.runBinary(["run", "--config", bad])
            #expect(run.status == 2, "a misspelt key stops the run before it starts")
            let checked = try await h.runBinary(["config", "check", "--config", good])
            #expect(checked.status == 0, "\(checked.output)")
            #expect(checked.output.contains("is valid"))
            let missingRoot = joinPath(h.scratch, "missing-root.yaml")
            try (text + "folder: {root: \(joinPath(h.scratch, "no-such-folder"))}\n").write(toFile: missingRoot, atomically: true, encoding: .utf8)
            #expect(try await h.runBinary(["config", "check", "--config", missingRoot]).status == 2)
            // A work folder that is a file: the run fails with one line naming the path and the reason.
            let workFile = joinPath(h.scratch, "work-is-a-file")
            try "x".write(toFile: workFile, atomically: true, encoding: .utf8)
            let blocked = try await h.runBinary(["run", "--config", try h.writeConfigurationFile(try h.configuration { $0.workFolder = workFile })])
            #expect(blocked.status == 2)
            #expect(blocked.output.contains("workFolder \(workFile): not a directory"), "\(blocked.output)")
        }
    }
}
