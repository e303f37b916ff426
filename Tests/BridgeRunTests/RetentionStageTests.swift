import DQTTesting
import FileSources
import Foundation
import Ledger
import Synchronization
import Testing

@testable import BridgeRun

/// A clock the test moves.
final class TestClock: Sendable {
    private let current = Mutex(Date())
    var now: Date { current.withLock { $0 } }
    func set(daysFromNow days: Double) { current.withLock { $0 = Date().addingTimeInterval(days * 86_400) } }
}

/// The retention stage with a clock the test moves, over a folder source on disk and the in-memory ledger (the
/// ledger's scenario holds the PostgreSQL store to the same behaviour).
@Suite("Retention stage")
struct RetentionStageTests {
    static func age(_ path: String, days: Double) throws {
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-days * 86_400)], ofItemAtPath: path)
    }

    static func write(_ text: String, to path: String, ageDays: Double) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try age(path, days: ageDays)
    }

    @Test("Nothing inside its period is touched; past each period its class goes, counted once in the ledger")
    func periods() async throws {
        let clock = TestClock()
        let reports = NSTemporaryDirectory() + "bridge-retention-reports-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: reports) }
        try await StageBench.with(feeds: ["ewc-induction"], adjust: { $0.reportsFolder = reports }, clock: { clock.now }) { bench in
            let ledger = bench.ledger
            let file = try await bench.discover(Synthetic.induction(good: 3), in: "ewc/pickup", as: "IND_1.csv")
            try await FileStateMachine(context: bench.context).advance(file, rawPath: file.sourcePath)
            #expect(bench.files(in: "ewc/processed").count == 1)
            // An unfinished file: its work is never touched, however old.
            let unfinished = try await bench.discover(Synthetic.induction(good: 2, salt: "u"), in: "ewc/pickup", as: "IND_2.csv")
            try Self.write("{}", to: reports + "/run-1.json", ageDays: 0)
            try Self.write("<html>", to: reports + "/old/run-0.html", ageDays: 100)
            // A shadow export not yet delivered waits in the reports folder: kept whatever its age.
            _ = try await ledger.planExport(
                feed: "tps-workforce-problems", runID: bench.context.runID, range: ExportRange(after: nil, upTo: "1"),
                fileName: "PENDING.csv", destination: "folder")
            try Self.write("x", to: reports + "/exports/tps-workforce-problems/PENDING.csv", ageDays: 200)

            func pass(daysFromNow days: Double) async throws -> [RetentionCount] {
                clock.set(daysFromNow: days)
                bench.context.runID = try await ledger.startRun(command: "retention", host: "t", pid: 1, feeds: [])
                try await RetentionStage().run(in: bench.context)
                return try await ledger.retentionCounts(runID: bench.context.runID)
            }
            func removed(_ counts: [RetentionCount]) -> [Int] { counts.map(\.deleted) }

            // 89 days on: inside every period but the old report's.
            let first = try await pass(daysFromNow: 89)
            #expect(first.map(\.retentionClass) == RetentionClass.allCases)
            #expect(removed(first) == [0, 0, 0, 1])
            #expect(first.map(\.periodDays) == [90, 30, 365, 90])
            #expect(bench.files(in: "ewc/processed").count == 1)
            #expect(try await ledger.recordCounts(fileID: file.id) == [.published: 3])
            #expect(FileManager.default.fileExists(atPath: reports + "/run-1.json"))
            #expect(!FileManager.default.fileExists(atPath: reports + "/old/run-0.html"))
            #expect(FileManager.default.fileExists(atPath: reports + "/exports/tps-workforce-problems/PENDING.csv"))
            #expect(bench.context.tally.retention == first)

            // 91 days on: the archived file and the report of today go.
            let second = try await pass(daysFromNow: 91)
            #expect(removed(second) == [1, 0, 0, 1])
            #expect(second[0].bytes > 0 && second[0].oldestDeleted != nil && second[0].oldestKept == nil)
            #expect(bench.files(in: "ewc/processed").isEmpty)
            #expect(try await ledger.recordCounts(fileID: file.id) == [.published: 3])
            #expect(FileManager.default.fileExists(atPath: reports + "/exports/tps-workforce-problems/PENDING.csv"))

            // Again at the same time: nothing is counted twice.
            #expect(removed(try await pass(daysFromNow: 91)) == [0, 0, 0, 0])

            // A year and a day on: the finished file's records go, its row stays; the unfinished file keeps its own.
            let third = try await pass(daysFromNow: 366)
            #expect(removed(third) == [0, 0, 3, 0])
            #expect(try await ledger.recordCounts(fileID: file.id).isEmpty)
            #expect(try await ledger.file(id: file.id)?.state == .published)
            #expect(try await ledger.file(id: unfinished.id)?.state == .discovered)
            #expect(bench.files(in: "ewc/pickup") == ["IND_2.csv"])
            #expect(bench.context.tally.failures.isEmpty)
            #expect(
                bench.context.tally.summary(runID: bench.context.runID, seconds: 0, command: "retention").contains(
                    "retention records (365 days): removed 3"))
        }
    }

    @Test("Records an outbound problems feed has not sent yet are held; a dry run says what would go and changes nothing")
    func holdsAndDryRun() async throws {
        let clock = TestClock()
        try await StageBench.with(feeds: ["ewc-induction"], clock: { clock.now }) { bench in
            #expect(try await RetentionStage.holds(bench.context) == ["tps-workforce": 0])
            let file = try await bench.discover(Synthetic.induction(good: 2), in: "ewc/pickup", as: "IND_1.csv")
            try await FileStateMachine(context: bench.context).advance(file, rawPath: file.sourcePath)
            clock.set(daysFromNow: 400)
            let runner = BridgeRunner(environment: bench.environment)
            let preview = await runner.retention(dryRun: true)
            #expect(preview.exitStatus == 0 && preview.runID == nil)
            #expect(preview.summary.contains("archivedFiles (90 days: before"), "\(preview.summary)")
            #expect(preview.summary.contains("would remove 1, the oldest from"), "\(preview.summary)")
            #expect(preview.summary.contains("records (365 days: before") && preview.summary.contains("would remove 2"), "\(preview.summary)")
            #expect(bench.files(in: "ewc/processed").count == 1, "a dry run removes nothing")
            #expect(try await bench.ledger.recordCounts(fileID: file.id) == [.published: 2])

            let outcome = await runner.retention(dryRun: false)
            #expect(outcome.exitStatus == 0, "\(outcome.summary)")
            #expect(outcome.summary.contains("retention archivedFiles (90 days): removed 1"), "\(outcome.summary)")
            #expect(bench.files(in: "ewc/processed").isEmpty)
            #expect(try await bench.ledger.run(id: try #require(outcome.runID))?.command == "retention")
        }
    }

    @Test("The retention periods are strict configuration: a misspelt key is named with the nearest, a period must be 1...36500 days")
    func configuration() throws {
        let folder = NSTemporaryDirectory() + "bridge-retention-config-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/bridge.yaml"
        func load(_ retention: String) throws -> RunConfiguration {
            try "api: {baseURL: \"http://x\"}\nfolder: {root: /x}\nretention:\n\(retention)".write(toFile: path, atomically: true, encoding: .utf8)
            return try RunConfiguration.load(path: path, environment: [:])
        }
        let configured = try load("  archivedFilesDays: 30\n  reportsDays: 7\n")
        #expect(RetentionClass.allCases.map(configured.retention.days) == [30, 30, 365, 7])
        for (text, message) in [
            ("  archivedFileDays: 30\n", "\(path):4: unknown key 'archivedFileDays' in retention (did you mean 'archivedFilesDays'?)"),
            ("  recordsDays: 0\n", "\(path): retention.recordsDays must be a whole number of days, 1...36500"),
        ] {
            do {
                _ = try load(text)
                Issue.record("\(text) loaded")
            } catch {
                #expect("\(error)" == message)
            }
        }
    }
}
