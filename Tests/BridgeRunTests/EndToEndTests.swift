import BridgeReport
import BridgeRun
import DQTModel
import DQTTesting
import FeedMapping
import FileSources
import Foundation
import Ledger
import LibPQ
import Publisher
import Synchronization
import Testing

/// The unattended run end to end: real sshd, real PostgreSQL (ledger and API store), dqt-api on loopback.
@Suite("Unattended run, end to end", .serialized, .enabled(if: BridgeHarness.servicesAvailable))
struct EndToEndTests {
    @Test("A pickup folder missing on the SFTP server fails that folder's poll, named; the other folders are polled")
    func missingPickupFolderFailsItsPoll() async throws {
        try await BridgeHarness.with { h in
            let config = try h.configuration()
            try FileManager.default.removeItem(atPath: joinPath(h.localRoot, "tps/workforce"))
            try h.place(Synthetic.induction(good: 2), in: "ewc/pickup", as: "IND_20261120_0800.csv")
            let outcome = try await h.run(config)
            #expect(outcome.exitStatus == 2, "\(outcome.summary)")
            #expect(outcome.summary.contains("tps/workforce does not exist on the server"), "\(outcome.summary)")
            #expect(try await h.appliedWrites() == 2)
        }
    }

    @Test("New files are checked, published once, archived under a unique name, and not taken again")
    func newFilesArePublished() async throws {
        try await BridgeHarness.with { h in
            let config = try h.configuration()
            try h.place(Synthetic.induction(good: 3), in: "ewc/pickup", as: "IND_20261120_0800.csv")
            let first = try await h.run(config)
            #expect(first.exitStatus == 0, "\(first.summary)")
            #expect(try await h.appliedWrites() == 3)
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE state = 'published' AND archived_at IS NOT NULL") == 1)
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.records WHERE outcome = 'published' AND body IS NULL") == 3)
            #expect(h.files(in: "ewc/pickup").isEmpty)
            let archived = h.files(in: "ewc/processed")
            #expect(archived.count == 1)
            #expect(archived.first?.range(of: #"^\d{14}-[0-9a-f]{8}-IND_20261120_0800\.csv$"#, options: .regularExpression) != nil)
            // The person now has the induction.
            #expect(try await h.apiInt("SELECT count(*) FROM audit") >= 3)

            let second = try await h.run(config)
            #expect(second.exitStatus == 0)
            #expect(second.summary.contains("nothing new"))
            #expect(try await h.appliedWrites() == 3)
            // Metrics and the run report were written.
            let metrics = try String(contentsOfFile: config.metricsFile!, encoding: .utf8)
            #expect(metrics.contains("dqt_bridge_run_exit_status 0"))
            // tps-workforce (shadow) is due monthly and no extract ever came: its file is late.
            #expect(metrics.contains(#"dqt_bridge_feed_file_late{feed="tps-workforce"} 1"#), "\(metrics)")
            #expect(FileManager.default.fileExists(atPath: joinPath(config.reportsFolder!, "run-\(first.runID!).html")))
        }
    }

    @Test("A growing file is left with the reason, then taken once stable")
    func growingFileIsLeftThenTaken() async throws {
        try await BridgeHarness.with { h in
            let config = try h.configuration { $0.feeds["ewc-induction"] = .init(stableSeconds: 2, minimumAgeSeconds: 0) }
            let path = try h.place(Synthetic.induction(good: 1), in: "ewc/pickup", as: "IND_growing.csv")
            let first = try await h.run(config)
            #expect(first.exitStatus == 0)
            #expect(first.tally.left.count == 1)
            let reason = try h.ledgerQuery { try $0.query("SELECT reason FROM bridge.files WHERE state = 'left'").string(0, 0) }
            #expect(reason?.contains("new since the last listing") == true, "\(reason ?? "nil")")

            // It grows: still left.
            let handle = try #require(FileHandle(forWritingAtPath: path))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data("1000003,Dŵrwen,Ap Ffugiŵr,10/04/1981,01/09/2024,18/07/2025,,Ysgol,6612001,Pass\r\n".utf8))
            try handle.close()
            let second = try await h.run(config)
            #expect(second.tally.left.count == 1)
            #expect(try await h.appliedWrites() == 0)

            // Unchanged for 2 s: taken, with both rows.
            try await Task.sleep(for: .milliseconds(2300))
            let third = try await h.run(config)
            #expect(third.exitStatus == 0, "\(third.summary)")
            #expect(try await h.appliedWrites() == 2)
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.files") == 1)
        }
    }

    @Test("Within one run, a second listing after a short wait takes a file that was still fresh")
    func secondListingWithinARun() async throws {
        try await BridgeHarness.with { h in
            let config = try h.configuration {
                $0.feeds["ewc-induction"] = .init(stableSeconds: 1, minimumAgeSeconds: 0)
                $0.stabilityWaitSeconds = 3
            }
            try h.place(Synthetic.induction(good: 2), in: "ewc/pickup", as: "IND_fresh.csv")
            let outcome = try await h.run(config)
            #expect(outcome.exitStatus == 0, "\(outcome.summary)")
            #expect(outcome.tally.left.isEmpty)
            #expect(try await h.appliedWrites() == 2)
        }
    }

    @Test("The same content under another name is a duplicate, archived and not published again")
    func duplicateUnderAnotherName() async throws {
        try await BridgeHarness.with { h in
            let config = try h.configuration()
            let content = Synthetic.induction(good: 3)
            try h.place(content, in: "ewc/pickup", as: "IND_first.csv")
            _ = try await h.run(config)
            #expect(try await h.appliedWrites() == 3)
            let auditBefore = try await h.apiInt("SELECT count(*) FROM audit")

            try h.place(content, in: "ewc/pickup", as: "IND_resent_copy.csv")
            let second = try await h.run(config)
            #expect(second.exitStatus == 0, "\(second.summary)")
            #expect(second.tally.feeds["ewc-induction"]?.duplicates == 1)
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE state = 'duplicate' AND duplicate_of IS NOT NULL") == 1)
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.records r JOIN bridge.files f ON f.id = r.file_id WHERE f.state = 'duplicate'") == 0)
            #expect(try await h.apiInt("SELECT count(*) FROM audit") == auditBefore)
            #expect(h.files(in: "ewc/processed").count == 2)
        }
    }

    @Test("Refused rows are recorded with their reasons; a refused file is quarantined; exit status 1")
    func refusedRowsAndFiles() async throws {
        try await BridgeHarness.with { h in
            let config = try h.configuration()
            try h.place(Synthetic.induction(good: 2, bad: 2), in: "ewc/pickup", as: "IND_mixed.csv")
            var binary = Data([0x50, 0x4B, 0x03, 0x04])  // a zip named .csv
            binary.append(Data((0..<2000).map { UInt8(truncatingIfNeeded: $0 &* 31) }))
            try h.place(binary, in: "ewc/pickup", as: "IND_zip.csv")
            let outcome = try await h.run(config)
            #expect(outcome.exitStatus == 1, "\(outcome.summary)")
            #expect(try await h.appliedWrites() == 2)
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.records WHERE outcome = 'rejected' AND problem IS NOT NULL") == 2)
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE state = 'quarantined' AND error_code IS NOT NULL") == 1)
            #expect(h.files(in: "ewc/quarantine").count == 1)
            #expect(h.files(in: "ewc/processed").count == 1)

            let report = try await RunReportBuilder(ledger: PostgresLedger(conninfo: h.ledgerURL), catalog: nil).build(runID: outcome.runID!)
            #expect(report.refused.count == 2)
            #expect(report.refused.allSatisfy { !$0.reasons.isEmpty && $0.reasons.allSatisfy { !$0.code.isEmpty } })
            let json = report.json.serialized
            #expect(!json.contains("Maybe"), "no value from the file in the report")
        }
    }

    @Test("A shadow feed is parsed, validated and reported but never published, and its files stay for the legacy job")
    func shadowFeedIsNotPublished() async throws {
        try await BridgeHarness.with { h in
            let config = try h.configuration()
            let qts = """
                REFERENCE_NO,FIRST_NAME,LAST_NAME,DATE_OF_BIRTH,CODE,QTS_DATE\r
                1000002,Siâneg,Llŷnffug,07/03/1974,49,01/09/2024\r
                1000003,Dŵrwen,Ap Ffugiŵr,10/04/1981,71,02/09/2024\r

                """
            try h.place(qts, in: "ewc/pickup", as: "QTS_20261120.csv")
            let first = try await h.run(config)
            #expect(first.exitStatus <= 1, "\(first.summary)")
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE feed = 'ewc-qts' AND state = 'shadowed'") == 1)
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.records WHERE outcome IN ('accepted', 'published')") == 0)
            // Each shadow record keeps its planned call, body included, for parity until the feed's parity window ends.
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.records WHERE outcome = 'shadow' AND body IS NOT NULL") == 2)
            #expect(try await h.appliedWrites() == 0)
            #expect(h.files(in: "ewc/pickup") == ["QTS_20261120.csv"])
            // Not taken again on the next run.
            _ = try await h.run(config)
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE feed = 'ewc-qts'") == 1)
        }
    }

    @Test("A replay sends the same keys: nothing is applied twice")
    func replayDoesNotDuplicate() async throws {
        try await BridgeHarness.with { h in
            let config = try h.configuration()
            let content = Synthetic.induction(good: 3)
            try h.place(content, in: "ewc/pickup", as: "IND_20261120.csv")
            let first = try await h.run(config)
            #expect(first.exitStatus == 0)
            let fileID = Int64(try h.ledgerInt("SELECT min(id) FROM bridge.files"))
            let auditBefore = try await h.apiInt("SELECT count(*) FROM audit")

            let dry = try await h.replay(config, ReplayRequest(fileID: fileID, dryRun: true))
            #expect(dry.summary.contains("3 of 3 records already acknowledged"), "\(dry.summary)")

            let replay = try await h.replay(config, ReplayRequest(fileID: fileID))
            #expect(replay.exitStatus == 0, "\(replay.summary)")
            #expect(replay.tally.feeds["ewc-induction"]?.recordsReplayed == 3)

            let local = joinPath(h.scratch, "IND_copy.csv")
            try content.write(toFile: local, atomically: true, encoding: .utf8)
            let fromFile = try await h.replay(config, ReplayRequest(path: local, feed: "ewc-induction"))
            #expect(fromFile.exitStatus == 0, "\(fromFile.summary)")

            #expect(try await h.appliedWrites() == 3)
            #expect(try await h.apiInt("SELECT count(*) FROM audit") == auditBefore)
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.records WHERE replayed") == 6)
        }
    }

    @Test("A second run while one holds the lock exits 0 and does nothing")
    func lockIsExclusive() async throws {
        try await BridgeHarness.with { h in
            let config = try h.configuration()
            try h.place(Synthetic.induction(good: 1), in: "ewc/pickup", as: "IND_locked.csv")
            let ledger = PostgresLedger(conninfo: h.ledgerURL)
            try await ledger.migrate()
            let lock = try #require(try await ledger.acquireRunLock())
            let outcome = try await h.run(config)
            #expect(outcome.exitStatus == 0)
            #expect(outcome.lockHeldElsewhere)
            #expect(outcome.summary.contains("holds the lock"))
            #expect(try await h.appliedWrites() == 0)
            await lock.release()
            let after = try await h.run(config)
            #expect(after.exitStatus == 0)
            #expect(try await h.appliedWrites() == 1)
            ledger.close()
        }
    }

    @Test("A changed SFTP host key stops the run, naming the fingerprint")
    func changedHostKeyStopsTheRun() async throws {
        try await BridgeHarness.with { h in
            let known = joinPath(h.scratch, "known_hosts")
            let port = try TestServices.require(TestServices.sftpPort)
            // Another ed25519 key (valid encoding, wrong key) for this host and port.
            let otherKey = "AAAAC3NzaC1lZDI1NTE5AAAAIBh0dHRwczovL2V4YW1wbGUuY29tL25vdC10aGUta2V5"
            try "[127.0.0.1]:\(port) ssh-ed25519 \(otherKey)\n".write(toFile: known, atomically: true, encoding: .utf8)
            let config = try h.configuration { $0.sftp?.knownHosts = known }
            try h.place(Synthetic.induction(good: 1), in: "ewc/pickup", as: "IND_hostkey.csv")
            let outcome = try await h.run(config)
            #expect(outcome.exitStatus == 2)
            #expect(outcome.summary.contains("SHA256:"), "\(outcome.summary)")
            #expect(outcome.summary.contains("does not match"))
            #expect(try await h.appliedWrites() == 0)
            #expect(h.files(in: "ewc/pickup") == ["IND_hostkey.csv"])
        }
    }

    @Test("An answer lost after the API applied a batch: the next run resends, nothing is applied twice")
    func lostAcknowledgementResumes() async throws {
        try await BridgeHarness.with { h in
            let config = try h.configuration {
                $0.api.batchSize = 2
                $0.api.concurrency = 1
                $0.api.maxAttempts = 1
            }
            try h.place(Synthetic.induction(good: 5), in: "ewc/pickup", as: "IND_lost.csv")
            let real = GeneratedClientTransport(baseURL: h.apiBaseURL, apiKey: h.apiKey, httpClient: h.httpClient)
            let lossy = LosingTransport(real: real, deliverAndLoseAfter: 1)
            let first = try await h.run(config, transport: lossy)
            #expect(first.exitStatus == 2, "\(first.summary)")
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE state = 'publishing'") == 1)
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.records WHERE outcome = 'published'") == 2)
            #expect(try await h.appliedWrites() == 4, "the second batch was applied, its answer lost")
            #expect(h.files(in: "ewc/pickup") == ["IND_lost.csv"], "not archived before it is published")

            let second = try await h.run(config)
            #expect(second.exitStatus == 0, "\(second.summary)")
            #expect(try await h.appliedWrites() == 5)
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.records WHERE outcome = 'published'") == 5)
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.records WHERE replayed") == 2)
            #expect(h.files(in: "ewc/processed").count == 1)
        }
    }

    @Test("The API unreachable: records stay staged, the run fails (exit 2), the next run publishes them")
    func apiOutage() async throws {
        try await BridgeHarness.with { h in
            var config = try h.configuration { $0.api.maxAttempts = 2 }
            config.api.baseURL = "http://127.0.0.1:9"  // nothing listens on the discard port
            try h.place(Synthetic.induction(good: 3), in: "ewc/pickup", as: "IND_outage.csv")
            let down = GeneratedClientTransport(baseURL: URL(string: "http://127.0.0.1:9")!, apiKey: h.apiKey, httpClient: h.httpClient)
            let first = try await h.run(config, transport: down)
            #expect(first.exitStatus == 2)
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.records WHERE outcome = 'accepted'") == 3)
            let second = try await h.run(try h.configuration())
            #expect(second.exitStatus == 0, "\(second.summary)")
            #expect(try await h.appliedWrites() == 3)
        }
    }

    @Test("Unsafe file names are refused and quarantined under a safe name")
    func unsafeNames() async throws {
        try await BridgeHarness.with { h in
            let config = try h.configuration()
            try h.place(Synthetic.induction(good: 1), in: "ewc/pickup", as: "IND_evil\nname.csv")
            try h.place(Synthetic.induction(good: 1), in: "ewc/pickup", as: "IND..\\..\\etc.csv")
            let outcome = try await h.run(config)
            #expect(outcome.exitStatus == 1, "\(outcome.summary)")
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE state = 'quarantined' AND error_code = 'unsafe-name'") == 2)
            #expect(try await h.appliedWrites() == 0)
            let quarantined = h.files(in: "ewc/quarantine")
            #expect(quarantined.count == 2)
            #expect(quarantined.allSatisfy { $0.hasSuffix("-unsafe-name") && FileNameSafety.problem($0) == nil })
            #expect(h.files(in: "ewc/pickup").isEmpty)
        }
    }

    @Test("The mail drop routes emails by sender and attachment; a live email feed publishes, a refused email is quarantined")
    func mailDrop() async throws {
        try await BridgeHarness.with { h in
            // A copy of the mappings with the email feed live.
            let mappings = joinPath(h.scratch, "mappings")
            try FileManager.default.copyItem(atPath: joinPath(BridgeHarness.repository, "mappings"), toPath: mappings)
            let path = joinPath(mappings, "prohibition-notices.yaml")
            let live = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "status: shadow", with: "status: live")
            try live.write(toFile: path, atomically: true, encoding: .utf8)
            let config = try h.configuration { $0.mappings = mappings }
            try h.place(Synthetic.notices(from: "alerts@ewc.wales.example", rows: 2), in: "mail/inbox", as: "notice-1.eml")
            try h.place(Synthetic.notices(from: "someone@elsewhere.example", rows: 1), in: "mail/inbox", as: "notice-2.eml")
            let outcome = try await h.run(config, feeds: ["prohibition-notices"])
            #expect(outcome.exitStatus == 1, "\(outcome.summary)")
            #expect(
                try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE feed = 'prohibition-notices' AND state = 'published' AND sender IS NOT NULL")
                    == 1)
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.files WHERE state = 'quarantined' AND error_code = 'sender-not-allowed'") == 1)
            #expect(try await h.appliedWrites() == 2)
            #expect(h.files(in: "mail/processed").count == 1)
            #expect(h.files(in: "mail/quarantine").count == 1)
            #expect(h.files(in: "mail/inbox").isEmpty)
        }
    }

    @Test("The local folder source has the same semantics, done-marker included")
    func folderSource() async throws {
        try await BridgeHarness.with { h in
            let config = try h.configuration {
                $0.defaultSource = .folder
                $0.feeds["ewc-induction"] = .init(stableSeconds: 3600, minimumAgeSeconds: 3600, doneMarker: ".done")
            }
            try h.place(Synthetic.induction(good: 2), in: "ewc/pickup", as: "IND_marked.csv")
            try h.place(Synthetic.induction(good: 1, salt: "x"), in: "ewc/pickup", as: "IND_unmarked.csv")
            try h.place("", in: "ewc/pickup", as: "IND_marked.csv.done")
            let outcome = try await h.run(config)
            #expect(outcome.exitStatus == 0, "\(outcome.summary)")
            #expect(try await h.appliedWrites() == 2)
            #expect(outcome.tally.left.count == 1)
            #expect(h.files(in: "ewc/pickup") == ["IND_unmarked.csv"])
            #expect(h.files(in: "ewc/processed").count == 2, "the file and its marker")
        }
    }
}

/// Forwards batches to the API; after `deliverAndLoseAfter` answered batches, the next batch is delivered (applied)
/// but its answer is lost, and every later call fails as if the network were gone.
final class LosingTransport: BatchTransport, Sendable {
    let real: any BatchTransport
    let limit: Int
    private let calls = Mutex(0)

    init(real: any BatchTransport, deliverAndLoseAfter: Int) {
        self.real = real
        self.limit = deliverAndLoseAfter
    }

    func send(_ operations: [BatchOperation]) async throws -> BatchReply {
        let call = calls.withLock { value -> Int in
            value += 1
            return value
        }
        if call <= limit { return try await real.send(operations) }
        if call == limit + 1 {
            _ = try await real.send(operations)
            throw TransportFailure(kind: .connection, message: "connection reset after the request was sent")
        }
        throw TransportFailure(kind: .connection, message: "connection refused")
    }
}
