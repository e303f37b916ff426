import FeedMapping
import FileSources
import Testing

@testable import BridgeRun

/// `run --feed`: the outbound feeds a limited run exports.
@Suite("Run selection")
struct RunSelectionTests {
    @Test("a run limited to feeds exports only the outbound ones named, and the problems of the inbound ones named")
    func limitedRunsExportOnlyWhatTheyName() throws {
        let catalog = try FeedCatalog.load(directory: joinPath(BridgeHarness.repository, "mappings"))
        func taken(_ requested: Set<String>?) -> [String] {
            catalog.outboundFeeds.filter { ExportStage.isRequested($0, in: requested) }.map { $0.id }.sorted()
        }
        #expect(taken(nil) == catalog.outboundFeeds.map { $0.id }.sorted())
        #expect(taken(["prohibition-notices"]).isEmpty)
        #expect(taken(["prohibitions-ewc", "prohibition-notices"]) == ["prohibitions-ewc"])
        #expect(taken(["tps-workforce"]) == ["tps-workforce-problems"])
    }
}
