import BridgeRun
import DQTTesting
import FeedMapping
import FileSources
import Foundation
import Ledger
import LibPQ
import Testing

/// Expected arrivals against the real ledger with a controlled clock: the committed tps-workforce mapping is due
/// monthly by day 5 09:00 (London), its window opening on the 20th; the gauge the run writes follows the check.
@Suite("Expected arrivals", .serialized, .enabled(if: TestServices.shouldRun(TestServices.databaseURL)))
struct ExpectedArrivalsTests {
    static func utc(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    /// Records a workforce file first seen at `seen` (the ledger's own clock set back, as if it had been then).
    static func arrive(_ ledger: PostgresLedger, run: Int64, name: String, seen: Date) async throws {
        let file = try await ledger.discover(
            runID: run, feed: "tps-workforce", origin: .sftp, transport: "sftp", path: "tps/workforce/\(name)", name: name, size: 1,
            mtime: seen, reason: "stable")
        try await ledger.withConnection { connection in
            _ = try connection.execute("UPDATE bridge.files SET created_at = $1 WHERE id = $2", [.timestamp(seen), .int64(file.id)])
        }
    }

    static func gauge(_ checks: [ArrivalCheck]) -> String {
        let metrics = RunMetrics()
        ExpectedArrivals.record(checks, in: metrics)
        return metrics.prometheusText()
    }

    @Test("missing after the deadline, on time, arrived late; a late file never counts for the next deadline")
    func monthlyWorkforceExtract() async throws {
        let catalog = try FeedCatalog.load(directory: joinPath(BridgeHarness.repository, "mappings"))
        #expect(catalog.feed(id: "tps-workforce")?.due != nil, "the committed mapping declares due:")
        try await TemporaryDatabase.with(prefix: "bridge_arrivals_test") { database in
            let ledger = PostgresLedger(conninfo: database.url, maximumConnections: 2, reconnectAttempts: 1)
            defer { ledger.close() }
            try await ledger.migrate()
            let run = try await ledger.startRun(command: "run", host: "h", pid: 1, feeds: ["tps-workforce"])
            func check(_ now: String) async throws -> ArrivalCheck {
                let checks = try await ExpectedArrivals.check(catalog: catalog, ledger: ledger, at: Self.utc(now))
                #expect(checks.map { $0.feed } == ["tps-workforce"], "only polled feeds with due: are judged")
                return checks[0]
            }
            // Nothing yet: before November's deadline the October one is judged, and nothing came.
            var result = try await check("2026-11-05T08:00:00Z")
            #expect(result.state == .missing && result.period.deadline == Self.utc("2026-10-05T08:00:00Z"), "09:00 British Summer Time")
            #expect(Self.gauge([result]).contains("dqt_bridge_feed_file_late{feed=\"tps-workforce\"} 1"))

            // October's extract on the 26th: on time for 5 November.
            try await Self.arrive(ledger, run: run, name: "Workforce-Dataset-1-20261025-1329.csv", seen: Self.utc("2026-10-26T13:29:00Z"))
            result = try await check("2026-11-05T10:00:00Z")
            #expect(result.state == .onTime)
            #expect(Self.gauge([result]).contains("dqt_bridge_feed_file_late{feed=\"tps-workforce\"} 0"))

            // November's comes a day after its deadline (5 December 09:00 GMT): late, but arrived.
            result = try await check("2026-12-05T09:30:00Z")
            #expect(result.state == .missing && result.isLate)
            try await Self.arrive(ledger, run: run, name: "Workforce-Dataset-1-20261125-1329.csv", seen: Self.utc("2026-12-06T08:00:00Z"))
            result = try await check("2026-12-06T10:00:00Z")
            #expect(result.state == .arrivedLate && !result.isLate)

            // January's deadline: the late December file belongs to December's window, so January's is missing.
            result = try await check("2027-01-05T09:01:00Z")
            #expect(result.state == .missing, "\(result.summary)")
            #expect(result.summary.hasPrefix("LATE: due by 2027-01-05 09:00 GMT"), "\(result.summary)")
        }
    }

    @Test("a feed that is not polled is not judged, whatever its due:")
    func notPolledFeeds() async throws {
        let text = try String(contentsOfFile: joinPath(BridgeHarness.repository, "mappings/tps-workforce.yaml"), encoding: .utf8)
        let legacy = try MappingLoader.parse(
            text.replacingOccurrences(of: "status: shadow", with: "status: legacy"), file: "/mappings/tps-workforce.yaml")
        let checks = try await ExpectedArrivals.check(catalog: FeedCatalog(feeds: [legacy]), ledger: MemoryLedger(), at: Date())
        #expect(checks.isEmpty)
    }
}
