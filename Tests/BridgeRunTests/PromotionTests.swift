import BridgeRun
import FeedMapping
import FileSources
import Foundation
import Ledger
import Testing

/// `feeds promote` against the real ledger and SFTP server, and the statuses that are never polled.
@Suite("Feed promotion and lifecycle", .serialized, .enabled(if: BridgeHarness.servicesAvailable))
struct PromotionTests {
    static let bar = "promotion: {files: 2, agreement: 99.0}\nretirement: {legacyFolder: ewc/legacy, quietPeriodDays: 30}\n"

    @Test("shadow -> live: refused without evidence, allowed with it; live -> retired refused while a file arrived in the legacy folder")
    func promotionWithEvidence() async throws {
        try await BridgeHarness.with { harness in
            let mappings = try harness.mappingsCopy(status: .shadow, extra: Self.bar)
            let configuration = try harness.configuration { $0.mappings = mappings }
            let mappingFile = joinPath(mappings, "ewc-induction.yaml")
            let before = try String(contentsOfFile: mappingFile, encoding: .utf8)
            let feed = "ewc-induction"
            let environment = try harness.environment(configuration)
            defer { environment.ledger.close() }
            let ledger = environment.ledger
            let request = PromotionRequest(feed: feed, by: "tester")

            var refused = await FeedPromoter(environment: environment).promote(request)
            #expect(refused.exitStatus == 1 && refused.summary.contains("0 compared shadow files, 2 needed"), "\(refused.summary)")
            let run = try await ledger.startRun(command: "run", host: "h", pid: 1, feeds: [feed])
            let first = try await ledger.shadowFile(feed: feed, runID: run, number: 1)
            let second = try await ledger.shadowFile(feed: feed, runID: run, number: 2)
            try await ledger.recordParity(feed: feed, fileID: first, agreed: 1000, of: 1000)
            try await ledger.recordParity(feed: feed, fileID: second, agreed: 985, of: 1000)
            refused = await FeedPromoter(environment: environment).promote(request)
            #expect(refused.exitStatus == 1 && refused.summary.contains("below the bar: file \(second)"), "\(refused.summary)")
            let third = try await ledger.shadowFile(feed: feed, runID: run, number: 3)
            refused = await FeedPromoter(environment: environment).promote(request)
            #expect(refused.exitStatus == 1 && refused.summary.contains("shadow file \(third) is newer"), "\(refused.summary)")
            #expect(try String(contentsOfFile: mappingFile, encoding: .utf8) == before, "a refusal changes nothing")
            #expect(try await ledger.promotions(feed: feed, limit: 5).isEmpty)

            try await ledger.recordParity(feed: feed, fileID: third, agreed: 995, of: 1000)
            let fourth = try await ledger.shadowFile(feed: feed, runID: run, number: 4)
            try await ledger.recordParity(feed: feed, fileID: fourth, agreed: 1000, of: 1000)
            let wentLive = Date().addingTimeInterval(-40 * 86_400)
            let promoted = await FeedPromoter(environment: environment).promote(request, now: wentLive)
            #expect(promoted.exitStatus == 0, "\(promoted.summary)")
            #expect(
                try String(contentsOfFile: mappingFile, encoding: .utf8)
                    == before.replacingOccurrences(of: "\nstatus: shadow\n", with: "\nstatus: live\n"))
            let recorded = try #require(try await ledger.promotions(feed: feed, limit: 5).first)
            #expect(recorded.from == "shadow" && recorded.to == "live" && recorded.by == "tester" && recorded.overrideReason == nil)
            #expect(recorded.evidence.contains("bar: 2 files at 99.000 % met") && recorded.evidence.contains("file \(third) 99.500 %"))

            // Retirement lists the legacy folder on the SFTP server: a file that arrived yesterday keeps the feed live.
            // The mapping changed: a new catalog, as the next command would load it.
            let retiring = try harness.environment(configuration)
            defer { retiring.ledger.close() }
            let legacyFolder = joinPath(harness.localRoot, "ewc/legacy")
            try BridgeHarness.makeSharedFolder(legacyFolder)
            let legacyFile = joinPath(legacyFolder, "IND_20261201.csv")
            try Data("REFERENCE_NO\r\n".utf8).write(to: URL(fileURLWithPath: legacyFile))
            try Self.setModified(legacyFile, daysAgo: 1)
            refused = await FeedPromoter(environment: retiring).promote(request)
            #expect(refused.exitStatus == 1 && refused.summary.contains("a file arrived in the legacy folder ewc/legacy"), "\(refused.summary)")
            try Self.setModified(legacyFile, daysAgo: 31)
            let retired = await FeedPromoter(environment: retiring).promote(request)
            #expect(retired.exitStatus == 0, "\(retired.summary)")
            #expect(try String(contentsOfFile: mappingFile, encoding: .utf8).contains("\nstatus: retired\n"))
            #expect(try await ledger.promotions(feed: feed, limit: 5).map(\.to) == ["retired", "live"])
        }
    }

    @Test("an override moves a feed without evidence; the ledger records the reason and what the bar saw")
    func override() async throws {
        try await BridgeHarness.with { harness in
            let mappings = try harness.mappingsCopy(status: .shadow, extra: Self.bar)
            let configuration = try harness.configuration { $0.mappings = mappings }
            let environment = try harness.environment(configuration)
            defer { environment.ledger.close() }
            let outcome = await FeedPromoter(environment: environment).promote(
                PromotionRequest(feed: "ewc-induction", to: .live, overrideReason: "partner deadline agreed with the SSIS owner", by: "tester"))
            #expect(outcome.exitStatus == 0 && outcome.summary.contains("override"), "\(outcome.summary)")
            let recorded = try #require(try await environment.ledger.promotions(feed: "ewc-induction", limit: 5).first)
            #expect(recorded.overrideReason == "partner deadline agreed with the SSIS owner")
            #expect(recorded.evidence.contains("0 compared shadow files, 2 needed"))
            let wrong = await FeedPromoter(environment: environment).promote(PromotionRequest(feed: "ewc-induction", to: .legacy, by: "tester"))
            #expect(wrong.exitStatus == 2, "shadow -> legacy is not a move: \(wrong.summary)")
        }
    }

    @Test("a legacy feed is not polled: its file stays in the pickup folder and the ledger never sees it")
    func legacyNotPolled() async throws {
        try await Self.notPolled(.legacy)
    }

    @Test("a retired feed is not polled: its file stays in the pickup folder and the ledger never sees it")
    func retiredNotPolled() async throws {
        try await Self.notPolled(.retired)
    }

    static func notPolled(_ status: FeedStatus) async throws {
        try await BridgeHarness.with { harness in
            let mappings = try harness.mappingsCopy(status: status)
            let configuration = try harness.configuration { $0.mappings = mappings }
            try harness.dropParityFixture(withOutcome: false)
            let run = try await harness.run(configuration)
            #expect(run.exitStatus < 2, "\(run.summary)")
            let environment = try harness.environment(configuration)
            defer { environment.ledger.close() }
            #expect(try await environment.ledger.files(feed: "ewc-induction", afterID: nil, limit: 5).isEmpty)
            #expect(try await environment.ledger.lastFilePerFeed().isEmpty, "no feed took the file")
            #expect(FileManager.default.fileExists(atPath: joinPath(harness.localRoot, "ewc/pickup", BridgeHarness.parityFixture)))
            #expect(try await environment.ledger.run(id: try #require(run.runID))?.feeds.contains("ewc-induction") == false)
        }
    }

    static func setModified(_ path: String, daysAgo: Double) throws {
        let date = Date().addingTimeInterval(-daysAgo * 86_400)
        try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: path)
    }
}
