import BridgeRun
import DQTTesting
import FileSources
import Foundation
import Ledger
import LibPQ
import Testing

/// `dqt-bridge export` end to end, in process: prohibition alerts made through the API, read back through its change
/// feed, written as prohibitions-gtcs's CSV and delivered over the real SFTP server (the feed made live with an SFTP
/// destination in a copy of the mappings).
@Suite("Exports end to end", .serialized, .enabled(if: BridgeHarness.servicesAvailable))
struct ExportTests {
    static let feed = "prohibitions-gtcs"
    static let folder = "gtcs/outbound"

    @Test("each range once, contiguous; nothing new writes nothing; a removed file is resent byte for byte under its name")
    func rangesAndResend() async throws {
        try await BridgeHarness.with { h in
            let mappings = try h.liveExportMappings(feed: Self.feed, sftpFolder: Self.folder)
            let configuration = try h.configuration { $0.mappings = mappings }
            try await h.createAlerts(1...12)
            let first = try await h.export(configuration, ExportRequest(feeds: [Self.feed]))
            #expect(first.exitStatus == 0, "\(first.summary)")
            var files = h.delivered(in: Self.folder)
            #expect(files.count == 1, "\(files.keys.sorted())")
            let (firstName, firstBytes) = try #require(files.first)
            let lines = String(decoding: firstBytes, as: UTF8.self).split(separator: "\r\n")
            #expect(lines.first == "TRN,Date of birth,Full name,Sanction name,Alert start date,Alert end date")
            #expect(lines.count == 13 && lines.dropFirst().allSatisfy { $0.hasPrefix("10000") })

            let nothing = try await h.export(configuration, ExportRequest(feeds: [Self.feed]))
            #expect(nothing.exitStatus == 0 && h.delivered(in: Self.folder).count == 1, "\(nothing.summary)")

            try await h.createAlerts(13...20, code: "T2")
            try await Task.sleep(for: .milliseconds(1100))  // file names carry the second
            let second = try await h.export(configuration, ExportRequest(feeds: [Self.feed]))
            #expect(second.exitStatus == 0, "\(second.summary)")
            files = h.delivered(in: Self.folder)
            #expect(files.count == 2 && files[firstName] == firstBytes)
            let rows = try h.exportRows()
            #expect(rows.count == 2 && rows.allSatisfy { $0[6] == "delivered" })
            #expect(rows[0][2] == nil && rows[1][2] == rows[0][3], "the second range starts where the first ended: \(rows)")
            #expect(rows.map { $0[5] } == ["12", "8"])
            let watermark = try h.ledgerQuery {
                try $0.query("SELECT cursor FROM bridge.export_watermarks WHERE feed = $1", [.text(Self.feed)]).rows.first?["cursor"]
            }
            #expect(watermark == rows[1][3])

            try FileManager.default.removeItem(atPath: joinPath(h.localRoot, Self.folder, firstName))
            let resend = try await h.export(configuration, ExportRequest(resend: Int64(rows[0][0]!)!))
            #expect(resend.exitStatus == 0, "\(resend.summary)")
            #expect(h.delivered(in: Self.folder)[firstName] == firstBytes)
            let afterResend = try h.exportRows()
            #expect(afterResend.count == 3 && afterResend[2][7] == rows[0][0] && afterResend[2][4] == firstName)
            let watermarkAfter = try h.ledgerQuery {
                try $0.query("SELECT cursor FROM bridge.export_watermarks WHERE feed = $1", [.text(Self.feed)]).rows.first?["cursor"]
            }
            #expect(watermarkAfter == watermark, "a resend does not move the watermark")

            // The run report lists the run's exports; the metrics count them per feed.
            let report = try String(contentsOfFile: joinPath(configuration.reportsFolder!, "run-\(resend.runID!).json"), encoding: .utf8)
            #expect(report.contains(#""resendOf":\#(rows[0][0]!)"#) && report.contains(firstName))
            let metrics = try String(contentsOfFile: configuration.metricsFile!, encoding: .utf8)
            #expect(metrics.contains(#"dqt_bridge_exports_delivered{feed="prohibitions-gtcs"} 3"#), "\(metrics)")
            #expect(metrics.contains(#"dqt_bridge_exports_pending{feed="prohibitions-gtcs"} 0"#))
        }
    }

    @Test("a shadow feed writes the same file into the report folder, with the same ledger rows, and delivers nothing")
    func shadowFeed() async throws {
        try await BridgeHarness.with { h in
            let configuration = try h.configuration()
            try await h.createAlerts(1...3)
            let outcome = try await h.export(configuration, ExportRequest(feeds: ["prohibitions-ewc"]))
            #expect(outcome.exitStatus == 0, "\(outcome.summary)")
            let folder = joinPath(configuration.reportsFolder!, "exports", "prohibitions-ewc")
            let names = try FileManager.default.contentsOfDirectory(atPath: folder)
            #expect(names.count == 1 && names[0].hasPrefix("Prohibitions_"))
            #expect(try h.exportRows().map { $0[6] } == ["delivered"])
            #expect(!FileManager.default.fileExists(atPath: configuration.mailOutbox))
        }
    }

    @Test("tps-workforce-problems follows each workforce file: its refused rows' problems, once, and nothing for a file already sent")
    func problemsAfterEachFile() async throws {
        try await BridgeHarness.with { h in
            let configuration = try h.configuration()
            for name in ["Workforce-Dataset-9-bad-values.csv", "Workforce-Dataset-9-dates.csv"] {
                let content = try Data(contentsOf: URL(fileURLWithPath: joinPath(BridgeHarness.repository, "fixtures/tps-workforce/malformed", name)))
                try h.place(content, in: "tps/workforce", as: name)
                try h.place("", in: "tps/workforce", as: name + ".done")
            }
            let first = try await h.run(configuration, feeds: ["tps-workforce"])
            #expect(first.exitStatus == 1, "\(first.summary)")
            let problems = try h.ledgerInt(
                "SELECT coalesce(sum(jsonb_array_length(problem)), 0)::int FROM bridge.records WHERE outcome = 'rejected'")
            #expect(problems > 0)
            let folder = joinPath(configuration.reportsFolder!, "exports", "tps-workforce-problems")
            let names = try FileManager.default.contentsOfDirectory(atPath: folder)
            #expect(names.count == 1 && names[0].hasPrefix("Workforce-Problems-"), "\(names)")
            let text = try String(contentsOfFile: joinPath(folder, names[0]), encoding: .utf8)
            let lines = text.split(separator: "\r\n")
            #expect(lines.first == "File,Line,Field,Code,Message,TRN")
            #expect(lines.count == problems + 1, "one line per problem of the refused rows")
            #expect(lines.dropFirst().allSatisfy { $0.hasPrefix("Workforce-Dataset-9-") })
            let rows = try h.exportRows()
            let lastFile = try h.ledgerInt("SELECT max(id)::int FROM bridge.files WHERE feed = 'tps-workforce'")
            #expect(rows.count == 1 && rows[0][2] == nil && rows[0][3] == String(lastFile) && rows[0][6] == "delivered", "\(rows)")

            let second = try await h.run(configuration, feeds: ["tps-workforce"])
            #expect(second.exitStatus == 0, "\(second.summary)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder).count == 1 && h.exportRows().count == 1)
        }
    }

    @Test("the command: an unknown or legacy feed exits 2 naming why; status shows each feed's exports and watermark")
    func command() async throws {
        try await BridgeHarness.with { h in
            let mappings = try h.liveExportMappings(feed: Self.feed, sftpFolder: Self.folder)
            let file = try h.writeConfigurationFile(try h.configuration { $0.mappings = mappings })
            let unknown = try await h.runBinary(["export", "no-such-feed", "--config", file])
            #expect(unknown.status == 2 && unknown.output.contains("outbound feeds: capita-export-amend"), "\(unknown.output)")
            let legacy = try await h.runBinary(["export", "prohibitions-gtcni", "--config", file])
            #expect(legacy.status == 2 && legacy.output.contains("is legacy"), "\(legacy.output)")
            let both = try await h.runBinary(["export", Self.feed, "--resend", "1", "--config", file])
            #expect(both.status == 2)
            try await h.createAlerts(1...2)
            let export = try await h.runBinary(["export", Self.feed, "--config", file])
            #expect(export.status == 0 && export.output.contains("delivered, 2 records"), "\(export.output)")
            let status = try await h.runBinary(["status", "--config", file])
            let watermark = try #require(try h.exportRows().first?[3])
            #expect(status.output.contains("Exports:") && status.output.contains("watermark \(watermark)"), "\(status.output)")
        }
    }

    @Test("--dry-run writes the next file into --out and records nothing")
    func dryRun() async throws {
        try await BridgeHarness.with { h in
            let configuration = try h.configuration()
            try await h.createAlerts(1...4)
            let out = joinPath(h.scratch, "dry")
            let outcome = try await h.export(configuration, ExportRequest(feeds: ["prohibitions-gtcs"], dryRun: true, outFolder: out))
            #expect(outcome.exitStatus == 0, "\(outcome.summary)")
            let names = try FileManager.default.contentsOfDirectory(atPath: out)
            #expect(names.count == 1)
            #expect(try h.exportRows().isEmpty)
        }
    }
}
