import AsyncHTTPClient
import BridgeReport
import DQTModel
import FeedMapping
import FileSources
import Foundation
import LibPQ
import NIOCore
import NIOHTTP1
import Testing

@testable import BridgeRun

/// DBS's reconciliation files against a running dqt-api seeded with alerts of source dbs through `POST /v3/alerts`:
/// each category counted and listed, the weekly file's narrower scope, no write, malformed files refused with their
/// lines, and `dqt-bridge reconcile` writing the JSON and the (masked) HTML.
@Suite("DBS reconciliations", .serialized, .enabled(if: BridgeHarness.servicesAvailable))
struct ReconciliationTests {
    static let fixtures = joinPath(BridgeHarness.repository, "fixtures/dbs-reconciliations")
    static let today = LocalDate(iso: "2026-12-07")!

    /// Our side: matches 1 and 7, differs on 2 (TRN), 3 (not ended), 6 (list and start), 5 only ours; another
    /// source's alert under a reference DBS also uses is not DBS's.
    static let ours: [(trn: String, code: String, start: String, end: String?, reference: String, source: String)] = [
        ("1000001", "B1", "2025-03-10", nil, "DBS0000000001", "dbs"),
        ("1000002", "B2", "2025-04-01", nil, "DBS0000000002", "dbs"),
        ("1000004", "B1", "2025-05-05", nil, "DBS0000000003", "dbs"),
        ("1000006", "B2", "2024-01-01", nil, "DBS0000000005", "dbs"),
        ("1000007", "B1", "2025-06-06", nil, "DBS0000000006", "dbs"),
        ("1000008", "B1", "2024-02-02", "2026-09-09", "DBS0000000007", "dbs"),
        ("1000009", "T1", "2025-01-01", nil, "DBS0000000004", "ewc"),
    ]

    static func seed(_ harness: BridgeHarness) async throws {
        for alert in ours {
            var request = HTTPClientRequest(url: harness.apiBaseURL.absoluteString + "/v3/alerts")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(harness.apiKey)")
            request.headers.add(name: "Content-Type", value: "application/json")
            let end = alert.end.map { "\"\($0)\"" } ?? "null"
            request.body = .bytes(
                ByteBuffer(
                    string: """
                        {"trn":"\(alert.trn)","alertTypeCode":"\(alert.code)","startDate":"\(alert.start)","endDate":\(end),"sender":"DBS",\
                        "source":"\(alert.source)","reference":"\(alert.reference)"}
                        """))
            let status = try await harness.httpClient.execute(request, timeout: .seconds(10)).status.code
            #expect(status == 201)
        }
    }

    static func reconciliation(_ harness: BridgeHarness, runLimit: Int = 50_000, pageSize: Int = 2) throws -> Reconciliation {
        let feed = try #require(try FeedCatalog.loadFeed(id: "dbs-reconciliations", directory: joinPath(BridgeHarness.repository, "mappings")))
        var reconciliation = try #require(
            Reconciliation(feed: feed, alerts: HTTPSourceAlerts(baseURL: harness.apiBaseURL, apiKey: harness.apiKey, httpClient: harness.httpClient)))
        reconciliation.runLimit = runLimit
        reconciliation.pageSize = pageSize
        return reconciliation
    }

    static func email(_ name: String, into folder: String) -> CheckInput {
        .email(Result { try MailIntake.read(emlPath: joinPath(fixtures, name), into: folder) })
    }

    /// The alerts and audit rows the API holds: a reconciliation must leave both as they were.
    static func apiState(_ harness: BridgeHarness) async throws -> [Int] {
        [
            try await harness.apiInt("SELECT count(*) FROM alerts"), try await harness.apiInt("SELECT count(*) FROM audit"),
            try await harness.apiInt("SELECT count(*) FROM alerts WHERE end_date IS NOT NULL"),
        ]
    }

    @Test("a monthly file: every category counted and listed, in both sort paths, and nothing written")
    func monthly() async throws {
        try await BridgeHarness.with { harness in
            try await Self.seed(harness)
            let before = try await Self.apiState(harness)
            // One run in memory; then runs of 2 cases spilled to disk and merged, with pages of 2 alerts.
            for runLimit in [50_000, 2] {
                let outcome = try await Self.reconciliation(harness, runLimit: runLimit).run(
                    Self.email("good/dbs-reconciliation-monthly-20261130.eml", into: joinPath(harness.scratch, "mail-\(runLimit)")),
                    name: "dbs-reconciliation-monthly-20261130.eml", sha256: "00", today: Self.today, unmasked: false)
                guard case .reconciled(let report, let result) = outcome else {
                    Issue.record("refused: \(outcome)")
                    return
                }
                #expect(result.accepted == 6 && report.scope == "monthly" && report.file == "DBS_Reconciliation_Monthly_20261130.csv")
                #expect(report.counts.theirs == 6 && report.counts.ours == 6 && report.counts.matched == 2)
                #expect(report.counts.onlyInTheirs == 1 && report.counts.onlyInOurs == 1 && report.counts.different == 3)
                #expect(report.onlyInTheirs.map(\.reference) == ["DBS0000000004"] && report.onlyInTheirs.first?.line == 5)
                #expect(report.onlyInTheirs.first?.status == "Barred" && report.onlyInTheirs.first?.startDate == "2026-11-02")
                #expect(report.onlyInOurs.map(\.reference) == ["DBS0000000005"] && report.onlyInOurs.first?.trn == "1000006")
                #expect(report.different.map(\.reference) == ["DBS0000000002", "DBS0000000003", "DBS0000000006"])
                #expect(report.different.map(\.line) == [3, 4, 6])
                #expect(report.different[0].fields == [.init(field: "trn", theirs: "1000003", ours: "1000002")])
                #expect(report.different[1].fields == [.init(field: "endDate", theirs: "2026-10-20", ours: nil)])
                #expect(
                    report.different[2].fields == [
                        .init(field: "alertTypeCode", theirs: "B2", ours: "B1"), .init(field: "startDate", theirs: "2025-06-07", ours: "2025-06-06"),
                    ])

                // The JSON lists the same rows, TRNs masked; the HTML too.
                var bytes: [UInt8] = []
                report.json.write(to: &bytes)
                let json = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
                #expect(
                    (json["counts"] as? [String: Int]) == ["theirs": 6, "ours": 6, "matched": 2, "onlyInTheirs": 1, "onlyInOurs": 1, "different": 3])
                #expect((json["onlyInOurs"] as? [[String: Any]])?.first?["trn"] as? String == "*****06")
                let trnDifference = ((json["different"] as? [[String: Any]])?.first?["fields"] as? [[String: Any]])?.first
                #expect(trnDifference?["theirs"] as? String == "*****03" && trnDifference?["ours"] as? String == "*****02")
                #expect(json["masked"] as? Bool == true && json["agrees"] as? Bool == false)
                let html = report.html
                #expect(html.hasPrefix("<!doctype html>") && html.contains("DBS0000000004") && html.contains("*****05"))
                for trn in ["1000001", "1000002", "1000003", "1000005", "1000006", "1000008"] { #expect(!html.contains(trn), "\(trn) unmasked") }
            }
            #expect(try await Self.apiState(harness) == before, "a reconciliation wrote to the API")
        }
    }

    @Test("a weekly file compares only its own references")
    func weekly() async throws {
        try await BridgeHarness.with { harness in
            try await Self.seed(harness)
            let outcome = try await Self.reconciliation(harness).run(
                Self.email("good/dbs-reconciliation-weekly-20261206.eml", into: joinPath(harness.scratch, "mail")),
                name: "dbs-reconciliation-weekly-20261206.eml", sha256: "00", today: Self.today, unmasked: true)
            guard case .reconciled(let report, _) = outcome else {
                Issue.record("refused: \(outcome)")
                return
            }
            #expect(report.scope == "weekly")
            #expect(report.counts.theirs == 3 && report.counts.matched == 1 && report.counts.different == 1 && report.counts.onlyInTheirs == 1)
            #expect(report.counts.onlyInOurs == 0 && report.onlyInOurs.isEmpty, "alerts a weekly file does not list are not only in ours")
            #expect(report.onlyInTheirs.map(\.reference) == ["DBS0000000008"] && report.onlyInTheirs.first?.trn == "1000009")
            #expect(report.different.map(\.reference) == ["DBS0000000003"] && report.different.first?.line == 3)
            #expect(!report.html.contains("Only in ours"))
        }
    }

    @Test("a malformed file is refused with each problem located; a file of no known kind too")
    func malformed() async throws {
        try await BridgeHarness.with { harness in
            let reconciliation = try Self.reconciliation(harness)
            let outcome = try await reconciliation.run(
                Self.email("malformed/dbs-reconciliation-bad-rows.eml", into: joinPath(harness.scratch, "mail")),
                name: "dbs-reconciliation-bad-rows.eml", sha256: "00", today: Self.today, unmasked: false)
            guard case .refused(let result) = outcome else {
                Issue.record("reconciled a malformed file")
                return
            }
            let located = Set(result.errors.map { "\($0.line ?? 0) \($0.field ?? "-") \($0.code)" })
            #expect(located.contains("3 reference constraint-error"), "\(located)")
            #expect(located.contains("4 status constraint-error"), "\(located)")
            #expect(located.contains("5 statusDate type-error"), "\(located)")
            #expect(result.errors.contains { $0.line == 6 && $0.code == "duplicate-row" }, "\(located)")

            for (name, code) in [
                ("dbs-reconciliation-no-dkim.eml", "sender-unauthenticated"), ("dbs-reconciliation-other-attachment.eml", "no-attachment"),
            ] {
                let refused = try await reconciliation.run(
                    Self.email("malformed/\(name)", into: joinPath(harness.scratch, name)), name: name, sha256: "00", today: Self.today,
                    unmasked: false)
                guard case .refused(let result) = refused else {
                    Issue.record("\(name) reconciled")
                    continue
                }
                #expect(result.refusal?.code == code, "\(name): \(String(describing: result.refusal))")
            }
            let unknownKind = try await reconciliation.run(
                .file(path: joinPath(Self.fixtures, "csv/DBS_Reconciliation_Monthly_20261130.csv")), name: "DBS_Barring_20261130.csv",
                sha256: "00", today: Self.today, unmasked: false)
            guard case .refused(let result) = unknownKind else {
                Issue.record("a file of no known kind reconciled")
                return
            }
            #expect(result.refusal?.code == "reconciliation-kind-unknown")
        }
    }

    @Test("dqt-bridge reconcile writes the JSON and the masked HTML and exits 1 on differences, 2 on a refused file")
    func command() async throws {
        guard BridgeHarness.binaryAndServicesAvailable else { return }
        try await BridgeHarness.with { harness in
            try await Self.seed(harness)
            let config = try harness.writeConfigurationFile(try harness.configuration())
            let json = joinPath(harness.scratch, "r.json")
            let html = joinPath(harness.scratch, "r.html")
            let run = try await harness.runBinary([
                "reconcile", "--config", config, "dbs-reconciliations", joinPath(Self.fixtures, "csv/DBS_Reconciliation_Monthly_20261130.csv"),
                "--json", json, "--html", html, "--today", "2026-12-07",
            ])
            #expect(run.status == 1, "\(run.output)")
            #expect(run.output.contains("only in theirs 1, only in ours 1, different 3"), "\(run.output)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
            #expect((report["onlyInTheirs"] as? [[String: Any]])?.first?["reference"] as? String == "DBS0000000004")
            let page = try String(contentsOfFile: html, encoding: .utf8)
            #expect(page.contains("*****05") && !page.contains("1000005"))

            let refused = try await harness.runBinary([
                "reconcile", "--config", config, "dbs-reconciliations", joinPath(Self.fixtures, "csv/DBS_Reconciliation_Monthly_20261031.csv"),
                "--today", "2026-12-07",
            ])
            #expect(refused.status == 2)
        }
    }
}

extension ReconciliationTests {
    @Test("dqt-bridge run: a reconciliation email checked once, its report written, nothing published")
    func run() async throws {
        try await BridgeHarness.with { harness in
            try await Self.seed(harness)
            let before = try await Self.apiState(harness)
            let configuration = try harness.configuration {
                $0.feeds["dbs-reconciliations"] = .init(stableSeconds: 0, minimumAgeSeconds: 0)
            }
            let eml = try Data(contentsOf: URL(fileURLWithPath: joinPath(Self.fixtures, "good/dbs-reconciliation-monthly-20261130.eml")))
            try harness.place(eml, in: "mail/dbs-reconciliations", as: "dbs-reconciliation-monthly-20261130.eml")
            let first = try await harness.run(configuration, feeds: ["dbs-reconciliations"])
            #expect(first.exitStatus == 0, "\(first.summary)")
            let folder = joinPath(try #require(configuration.reportsFolder), "reconciliations")
            let reports = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
            #expect(reports.count == 2 && reports.allSatisfy { $0.hasPrefix("dbs-reconciliations-file-") }, "\(reports)")
            let jsonName = try #require(reports.first { $0.hasSuffix(".json") })
            let json = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: joinPath(folder, jsonName)))) as? [String: Any])
            #expect((json["counts"] as? [String: Int])?["different"] == 3 && (json["counts"] as? [String: Int])?["onlyInOurs"] == 1)
            #expect(json["masked"] as? Bool == true)
            // The run report links it.
            let reportsFolder = try #require(configuration.reportsFolder)
            let runReports = ((try? FileManager.default.contentsOfDirectory(atPath: reportsFolder)) ?? []).filter { $0.hasSuffix(".html") }
            let linked = try runReports.map { try String(contentsOfFile: joinPath(reportsFolder, $0), encoding: .utf8) }
            #expect(linked.contains { $0.contains("reconciliations/\(jsonName.replacingOccurrences(of: ".json", with: ".html"))") }, "\(runReports)")

            // Handled once: the next run takes nothing and writes no other report.
            let second = try await harness.run(configuration, feeds: ["dbs-reconciliations"])
            #expect(second.exitStatus == 0, "\(second.summary)")
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted() == reports)
            #expect(try await Self.apiState(harness) == before, "a reconciliation run wrote to the API")

            // A file with bad rows is quarantined, located, and gets no report.
            let bad = try Data(contentsOf: URL(fileURLWithPath: joinPath(Self.fixtures, "malformed/dbs-reconciliation-bad-rows.eml")))
            try harness.place(bad, in: "mail/dbs-reconciliations", as: "dbs-reconciliation-bad-rows.eml")
            let third = try await harness.run(configuration, feeds: ["dbs-reconciliations"])
            #expect(third.exitStatus == 1, "\(third.summary)")
            let code = try harness.ledgerQuery {
                try $0.query("SELECT error_code FROM bridge.files WHERE name = 'dbs-reconciliation-bad-rows.eml' AND state = 'quarantined'").string(
                    0, 0)
            }
            #expect(code == "reconciliation-rows-rejected")
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted() == reports)
        }
    }
}

/// The merge on its own, against alerts in memory.
@Suite("Reconciliation merge")
struct ReconcilerUnitTests {
    @Test("references order byte by byte on both sides; pages of one alert")
    func mergeOrder() async throws {
        let settings = ReconcileSettings(source: "dbs", compared: [.trn, .endDate], apply: false, kinds: [(.full, "*")])
        let alerts = MemorySourceAlerts([
            "dbs": [
                SourceAlert(alertId: "a", trn: "1000001", reference: "DBSb", alertTypeCode: "B1", startDate: "2025-01-01", endDate: nil),
                SourceAlert(alertId: "b", trn: "1000002", reference: "DBS_", alertTypeCode: "B1", startDate: "2025-01-01", endDate: nil),
                SourceAlert(alertId: "c", trn: "1000003", reference: "DBSZ", alertTypeCode: "B1", startDate: "2025-01-01", endDate: nil),
            ]
        ])
        var sorter = CaseSorter(runLimit: 1)
        defer { sorter.removeFiles() }
        for (line, reference) in ["DBSb", "DBSZ", "DBSA"].enumerated() {
            try sorter.add(
                PartnerCase(
                    reference: reference, trn: "100000\(line + 1)", alertTypeCode: "B1", status: .barred, statusDate: "2025-01-01", line: line + 2))
        }
        var sorted = try sorter.sorted()
        var report = ReconciliationReport(
            feed: "f", file: "x", sha256: "", scope: "monthly", source: "dbs", comparedFields: [], comparedAt: Date(), unmasked: true)
        try await Reconciler(settings: settings, scope: .full, alerts: alerts, pageSize: 1).merge(&sorted, into: &report)
        #expect(report.onlyInTheirs.map(\.reference) == ["DBSA"])
        #expect(report.onlyInOurs.map(\.reference) == ["DBS_"])
        #expect(report.different.map(\.reference) == ["DBSZ"] && report.different.first?.fields.map(\.field) == ["trn"])
        #expect(report.counts.ours == 3 && report.counts.theirs == 3 && report.counts.matched == 1)
    }
}
