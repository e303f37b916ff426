import BridgeReport
import BridgeRun
import DQTModel
import FeedMapping
import FileSources
import Foundation
import Ledger
import Testing

/// Shadow parity against real services: a shadow run over SFTP, a synthetic legacy outcome beside the input, writes the
/// "legacy job" made through dqt-api, and the read-back of every planned write from the running API.
@Suite("Shadow parity", .serialized, .enabled(if: BridgeHarness.servicesAvailable))
struct ParityTests {
    @Test("a shadow file against its legacy outcome and the API's state: matrix, disagreements, read-back, report and ledger")
    func parityReport() async throws {
        try await BridgeHarness.with { harness in
            let mappings = try harness.mappingsCopy(status: .shadow)
            let configuration = try harness.configuration { $0.mappings = mappings }
            try harness.dropParityFixture(withOutcome: true)
            let run = try await harness.run(configuration, feeds: ["ewc-induction"])
            #expect(run.exitStatus < 2, "\(run.summary)")
            let environment = try harness.environment(configuration)
            defer { environment.ledger.close() }
            let files = try await environment.ledger.files(feed: "ewc-induction", afterID: nil, limit: 10)
            #expect(files.map(\.name) == [BridgeHarness.parityFixture], "the legacy outcome beside it is not taken as a file")
            #expect(files.first?.state == .shadowed)

            // The legacy job wrote line 2 as planned and line 3 with another completion date; lines 4 and 7 it did not.
            let same = #"{"passed":true,"startDate":"2024-09-01","completedDate":"2025-07-18","dateOfBirth":"1974-03-07"}"#
            #expect(try await harness.legacyWrite("/v3/persons/1000002/welsh-induction", body: same) == 204)
            let other = #"{"passed":true,"startDate":"2024-09-02","completedDate":"2025-07-10","dateOfBirth":"1981-04-10"}"#
            #expect(try await harness.legacyWrite("/v3/persons/1000003/welsh-induction", body: other) == 204)

            let reader = HTTPStateReader(baseURL: harness.apiBaseURL.absoluteString, apiKey: harness.apiKey, client: harness.httpClient)
            let outcome = await ParityRunner(environment: environment, stateReader: reader).run(ParityRequest(feed: "ewc-induction"))
            #expect(outcome.exitStatus == 1, "\(outcome.summary)")
            let report = try #require(outcome.report, "\(outcome.summary)")
            var matrix = ParityReport.Matrix()
            (matrix.bothAccepted, matrix.bothRejected, matrix.onlyBridgeAccepted, matrix.onlyLegacyAccepted) = (2, 1, 1, 1)
            (matrix.missingInLegacy, matrix.missingInBridge) = (1, 1)
            #expect(report.matrix == matrix)
            #expect(report.legacyRows == 6 && report.legacySource.hasSuffix("ewc/pickup/\(BridgeHarness.parityFixture).outcome.csv"))
            #expect(report.disagreements.map(\.line) == [4, 6, 7, 8])
            #expect(report.disagreements.map(\.bridge) == [.accepted, .rejected, .accepted, .missing])
            #expect(report.disagreements.map(\.legacy) == ["Failure", "Success", "missing", "Warning"])
            let line6 = try #require(report.disagreements.first { $0.line == 6 })
            #expect(line6.problems.contains { $0.field == "passDate" && $0.code == "type-error" }, "\(line6.problems)")
            #expect(report.readBack == [.noOp: 1, .wouldChange: 1, .wouldCreate: 2])
            #expect(report.readBackRows.map(\.line) == [3, 4, 7])
            #expect(report.readBackRows.first?.kind == .wouldChange && report.readBackRows.first?.fields == ["completedDate"])

            // The ledger keeps the file's parity for promotion; the run report links the page.
            let history = try await environment.ledger.parityHistory(feed: "ewc-induction", limit: 5)
            #expect(history.map(\.fileID) == files.map(\.id) && history.first?.rowsCompared == 7 && history.first?.rowsAgreed == 3)
            let json = try String(contentsOfFile: try #require(outcome.jsonPath), encoding: .utf8)
            let html = try String(contentsOfFile: try #require(outcome.jsonPath).replacingOccurrences(of: ".json", with: ".html"), encoding: .utf8)
            for text in [json, html] {
                for personal in ["Siâneg", "Llŷnffug", "Prysample", "1974-03-07", "07/03/1974"] {
                    #expect(!text.contains(personal), "\(personal) in the masked report")
                }
            }
            #expect(html.contains("Parity: ewc-induction") && json.contains(#""bridgeAcceptedLegacyRejected":1"#))
            let runReport = try String(contentsOfFile: joinPath(configuration.reportsFolder!, "run-\(run.runID!).html"), encoding: .utf8)
            #expect(runReport.contains("ewc-induction-file-\(files[0].id)-parity.html"), "the run report links the parity page")

            // Unmasked, from a local copy of the outcome, after the parity window: the messages show, the bodies are gone.
            #expect(try await environment.ledger.wipeShadowBodies(feed: "ewc-induction", before: Date().addingTimeInterval(60)) == 4)
            let local = joinPath(BridgeHarness.parityFixtures, BridgeHarness.parityFixture + LegacyOutcomeReader.suffix)
            let later = await ParityRunner(environment: environment, stateReader: reader).run(
                ParityRequest(feed: "ewc-induction", fileID: files[0].id, legacyPath: local, unmask: true))
            let unmasked = try #require(later.report, "\(later.summary)")
            #expect(unmasked.matrix == matrix)
            #expect(unmasked.disagreements.first?.legacyMessage == "Teacher 1000004 Prysample not found, row skipped")
            #expect(unmasked.json.serialized.contains("Prysample not found"))
            #expect(unmasked.readBack == [.unavailable: 4] && unmasked.readBackRows.allSatisfy { $0.note?.contains("wiped") == true })
        }
    }

    @Test("a file without a legacy outcome beside it is not compared, and says where it looked")
    func missingOutcome() async throws {
        try await BridgeHarness.with { harness in
            let mappings = try harness.mappingsCopy(status: .shadow)
            let configuration = try harness.configuration { $0.mappings = mappings }
            try harness.dropParityFixture(withOutcome: false)
            _ = try await harness.run(configuration, feeds: ["ewc-induction"])
            let environment = try harness.environment(configuration)
            defer { environment.ledger.close() }
            let outcome = await ParityRunner(environment: environment, stateReader: nil).run(ParityRequest(feed: "ewc-induction"))
            #expect(outcome.exitStatus == 2)
            #expect(outcome.summary.contains("ewc/pickup/\(BridgeHarness.parityFixture).outcome.csv does not exist"), "\(outcome.summary)")
            #expect(try await environment.ledger.parityHistory(feed: "ewc-induction", limit: 5).isEmpty)
        }
    }
}
