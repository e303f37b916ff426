import DQTTesting
import FileSources
import Foundation
import LibPQ
import Testing

/// `dqt-bridge run` and `dqt-bridge retention` against the real SFTP server, ledger and API. The ledger's clock is
/// PostgreSQL's: the test moves a file's finishing into the past instead of moving the clock forward.
@Suite("dqt-bridge retention", .serialized, .enabled(if: BridgeHarness.binaryAndServicesAvailable))
struct RetentionCommandTests {
    @Test("run counts retention every pass; retention --dry-run says what would go; retention removes it from the SFTP server, once")
    func retentionCommand() async throws {
        try await BridgeHarness.with { h in
            let file = try h.writeConfigurationFile(try h.configuration())
            try h.place(Synthetic.induction(good: 2), in: "ewc/pickup", as: "IND_retention.csv")
            let run = try await h.runBinary(["run", "--config", file])
            #expect(run.status == 0, "\(run.output)")
            #expect(h.files(in: "ewc/processed").count == 1)
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.retention_counts") == 4, "one row per class, nothing removed")
            #expect(try h.ledgerInt("SELECT coalesce(sum(deleted), 0) FROM bridge.retention_counts") == 0)

            // Finished 89 days ago: inside the archived files' period (90 days).
            try h.ledgerQuery { _ = try $0.execute("UPDATE bridge.files SET archived_at = now() - interval '89 days'") }
            let inside = try await h.runBinary(["retention", "--dry-run", "--config", file])
            #expect(inside.status == 0 && inside.output.contains("archivedFiles (90 days: before"), "\(inside.output)")
            #expect(inside.output.contains("would remove 0"), "\(inside.output)")

            try h.ledgerQuery { _ = try $0.execute("UPDATE bridge.files SET archived_at = now() - interval '91 days'") }
            let preview = try await h.runBinary(["retention", "--dry-run", "--config", file])
            #expect(preview.status == 0 && preview.output.contains("would remove 1, the oldest from"), "\(preview.output)")
            #expect(h.files(in: "ewc/processed").count == 1, "a dry run removes nothing")
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.runs WHERE command = 'retention'") == 0, "nor records anything")

            let removed = try await h.runBinary(["retention", "--config", file])
            #expect(removed.status == 0 && removed.output.contains("retention archivedFiles (90 days): removed 1"), "\(removed.output)")
            #expect(h.files(in: "ewc/processed").isEmpty)
            let status = try await h.runBinary(["status", "--config", file])
            #expect(
                status.output.contains("Retention (run ") && status.output.contains("retention archivedFiles (90 days): removed 1"),
                "\(status.output)")
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.records") == 2, "records are kept for 365 days")
            #expect(
                try h.ledgerInt(
                    """
                    SELECT c.deleted FROM bridge.retention_counts c JOIN bridge.runs r ON r.id = c.run_id
                    WHERE r.command = 'retention' AND c.class = 'archivedFiles' AND c.bytes > 0 AND c.oldest_deleted IS NOT NULL
                    """) == 1)

            try h.ledgerQuery { _ = try $0.execute("UPDATE bridge.files SET archived_at = now() - interval '366 days'") }
            let again = try await h.runBinary(["retention", "--config", file])
            #expect(again.status == 0 && again.output.contains("retention archivedFiles (90 days): removed 0"), "\(again.output)")
            #expect(again.output.contains("retention records (365 days): removed 2"), "\(again.output)")
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.records") == 0)
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE state = 'published'") == 1, "the file's row stays")
        }
    }

    @Test("retention killed between removing an archived file and recording it: the next run records it, counted once")
    func killedBetweenRemovalAndRecord() async throws {
        try await BridgeHarness.with { h in
            let file = try h.writeConfigurationFile(try h.configuration())
            try h.place(Synthetic.induction(good: 1), in: "ewc/pickup", as: "IND_crash.csv")
            #expect(try await h.runBinary(["run", "--config", file]).status == 0)
            try h.ledgerQuery { _ = try $0.execute("UPDATE bridge.files SET archived_at = now() - interval '91 days'") }
            let killed = try await h.runBinary(["retention", "--config", file], environment: ["DQT_BRIDGE_FAILPOINT": "retention-archive-removed"])
            #expect(killed.status == -9)
            #expect(h.files(in: "ewc/processed").isEmpty, "removed before the kill")
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE archive_removed_at IS NOT NULL") == 0, "not yet recorded")
            let resumed = try await h.runBinary(["retention", "--config", file])
            #expect(resumed.status == 0 && resumed.output.contains("retention archivedFiles (90 days): removed 1 (0 bytes)"), "\(resumed.output)")
            let counted = try h.ledgerInt("SELECT sum(deleted) FROM bridge.retention_counts WHERE class = 'archivedFiles'")
            #expect(counted == 1)
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.runs WHERE command = 'retention' AND status = 'interrupted'") == 1)
            let gone = h.files(in: "ewc/processed").isEmpty
            SuiteTable.append(
                SuiteRow(
                    suite: "crash", scenario: "retention: kill -9 between removing an archived file and recording it, then run again",
                    runs: 2, expected: 1, applied: counted, lost: gone ? max(0, 1 - counted) : 1, duplicated: max(0, counted - 1),
                    reasons: "archived files removed and counted", ok: killed.status == -9 && gone && counted == 1))
        }
    }
}
