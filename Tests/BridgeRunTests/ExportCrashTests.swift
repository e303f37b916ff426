import BridgeRun
import DQTTesting
import FileSources
import Foundation
import Ledger
import Synchronization
import Testing

/// kill -9 of the real `dqt-bridge export` at every fail point a clean export passes (DQT_BRIDGE_FAILPOINT_TRACE),
/// then runs until the export is delivered, then one more range: each scenario must end exactly as the clean run
/// did. At the SFTP destination: one file per range, byte for byte the clean run's, no temporary file; across the
/// files every change once (none in two files, none skipped); in the ledger two delivered exports, contiguous.
@Suite("Export crash and resume", .serialized, .enabled(if: BridgeHarness.binaryAndServicesAvailable))
struct ExportCrashTests {
    static let feed = "prohibitions-gtcs"
    static let folder = "gtcs/outbound"
    static let firstRange = 1...30
    static let secondRange = 31...42

    struct Reference: Sendable {
        let files: [Data]
        let points: [String]
    }

    @Test("kill -9 at each export fail point, then runs until delivered: the destination ends as after a clean run")
    func crashAndResume() async throws {
        let reference = try await Self.cleanRun()
        #expect(reference.points.count >= 12, "only \(reference.points.count) kill points: \(reference.points)")
        for point in reference.points {
            try await Self.crash(at: point, reference: reference)
        }
    }

    static func export(_ h: BridgeHarness, _ config: String, environment: [String: String] = [:], log: String) throws -> ChildProcess {
        try bridgeProcess(["export", feed, "--config", config], harness: h, environment: environment, output: joinPath(h.scratch, log))
    }

    static func setUp(_ h: BridgeHarness) async throws -> String {
        let mappings = try h.liveExportMappings(feed: feed, sftpFolder: folder)
        let config = try h.writeConfigurationFile(try h.configuration { $0.mappings = mappings })
        try await h.createAlerts(firstRange)
        return config
    }

    /// The second range, after the first is delivered: the clean or the recovered run's watermark must start it.
    static func secondExport(_ h: BridgeHarness, _ config: String) async throws {
        try await h.createAlerts(secondRange, code: "T2")
        try await Task.sleep(for: .milliseconds(1100))  // file names carry the second
        let status = try await export(h, config, log: "second.log").wait()
        #expect(status == 0, "the second export exited \(status)")
    }

    static func cleanRun() async throws -> Reference {
        let reference = Mutex<Reference?>(nil)
        try await BridgeHarness.with { h in
            let config = try await setUp(h)
            let trace = joinPath(h.scratch, "failpoints.trace")
            let status = try await export(h, config, environment: ["DQT_BRIDGE_FAILPOINT_TRACE": trace], log: "clean.log").wait()
            #expect(status == 0)
            try await secondExport(h, config)
            let files = try destination(h)
            let passed = ((try? String(contentsOfFile: trace, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            let changes = Self.changes(in: files)
            let ok = files.count == 2 && changes.lost == 0 && changes.duplicated == 0
            #expect(ok, "clean run: \(files.count) files, \(changes)")
            reference.withLock { $0 = Reference(files: files, points: passed) }
            SuiteTable.append(
                SuiteRow(
                    suite: "crash", scenario: "export (reference): 2 ranges of alert.created changes to SFTP", runs: 2,
                    expected: firstRange.count + secondRange.count, applied: changes.delivered, lost: changes.lost,
                    duplicated: changes.duplicated, reasons: "changes; \(passed.count) fail points passed", ok: ok))
        }
        return try #require(reference.withLock { $0 })
    }

    static func crash(at point: String, reference: Reference) async throws {
        try await BridgeHarness.with { h in
            let config = try await setUp(h)
            let recovery = try await KillAndRecover.run(
                at: point, maxRuns: 4, statuses: [0], start: { try export(h, config, environment: $0, log: $1) },
                isDone: { try h.ledgerInt("SELECT count(*) FROM bridge.exports WHERE state = 'delivered'") >= 1 })
            let killed = recovery.killed
            var runs = recovery.runs
            try await secondExport(h, config)
            runs += 1
            let files = try destination(h)
            let changes = Self.changes(in: files)
            let rows = try h.exportRows()
            let contiguous = rows.count == 2 && rows.allSatisfy { $0[6] == "delivered" } && rows[0][2] == nil && rows[1][2] == rows[0][3]
            let identical = files == reference.files
            let ok = killed == -9 && identical && contiguous && changes.lost == 0 && changes.duplicated == 0
            #expect(ok, "kill at \(point): identical \(identical), contiguous \(contiguous) \(rows), \(changes)")
            SuiteTable.append(
                SuiteRow(
                    suite: "crash", scenario: "kill -9 of export at \(point)", runs: runs, expected: firstRange.count + secondRange.count,
                    applied: changes.delivered, lost: changes.lost, duplicated: changes.duplicated,
                    reasons: "changes" + (identical ? "" : "; files differ from the clean run's") + (contiguous ? "" : "; ranges not contiguous"),
                    ok: ok))
        }
    }

    /// The delivered files' bytes in name order (names carry the time, so they are not compared); fails on a temporary
    /// file left behind.
    static func destination(_ h: BridgeHarness) throws -> [Data] {
        let files = h.delivered(in: folder)
        let hidden = files.keys.filter { $0.hasPrefix(".") }
        #expect(hidden.isEmpty, "temporary files left at the destination: \(hidden)")
        return files.keys.sorted().compactMap { files[$0] }
    }

    /// Each alert's TRN across the files: delivered once, lost (never delivered) or duplicated (in more than one line).
    static func changes(in files: [Data]) -> (delivered: Int, lost: Int, duplicated: Int) {
        var seen: [String: Int] = [:]
        for file in files {
            for line in String(decoding: file, as: UTF8.self).split(separator: "\r\n").dropFirst() {
                seen[String(line.prefix(7)), default: 0] += 1
            }
        }
        let expected = (firstRange.lowerBound...secondRange.upperBound).map { String(1_000_000 + $0) }
        return (
            expected.filter { seen[$0] == 1 }.count, expected.filter { seen[$0] == nil }.count,
            seen.values.reduce(0) { $0 + max(0, $1 - 1) }
        )
    }
}
