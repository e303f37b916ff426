public import BridgeReport
public import FeedMapping
public import Foundation
public import Ledger

/// Puts the estate report together: the inventory judged against the mappings' lifecycle states, and for each
/// replacing feed its last file, its parity over its last files and its expected arrival, from the ledger.
public struct EstateReportBuilder: Sendable {
    public let inventory: EstateInventory
    public let catalog: FeedCatalog
    public let ledger: any LedgerStore
    /// How many of each feed's last files parity is read over.
    public let parityFiles: Int

    public init(inventory: EstateInventory, catalog: FeedCatalog, ledger: any LedgerStore, parityFiles: Int) {
        self.inventory = inventory
        self.catalog = catalog
        self.ledger = ledger
        self.parityFiles = parityFiles
    }

    /// The report as of `now` (expected arrivals are judged at that time).
    public func build(at now: Date) async throws -> EstateReport {
        var statuses: [String: FeedStatus] = [:]
        for feed in catalog.feeds { statuses[feed.id] = feed.status }
        for feed in catalog.outboundFeeds { statuses[feed.id] = feed.status }
        let progress = EstateProgress(inventory: inventory, statuses: statuses)

        let lastFiles = Dictionary(try await ledger.lastFilePerFeed().map { ($0.feed, $0) }, uniquingKeysWith: { first, _ in first })
        let exports = Dictionary(try await ledger.exportSummaries().map { ($0.feed, $0) }, uniquingKeysWith: { first, _ in first })
        let arrivals = Dictionary(
            try await ExpectedArrivals.check(catalog: catalog, ledger: ledger, at: now).map { ($0.feed, $0) }, uniquingKeysWith: { first, _ in first }
        )

        var feeds: [String: EstateReport.Feed] = [:]
        for id in Set(inventory.entries.flatMap(\.feeds)) {
            let outbound = catalog.outboundFeed(id: id) != nil
            var last: EstateReport.LastFile?
            if outbound {
                if let export = exports[id]?.lastDelivered, let delivered = export.deliveredAt {
                    last = EstateReport.LastFile(id: export.id, name: export.fileName, state: "delivered", at: delivered)
                }
            } else if let file = lastFiles[id] {
                last = EstateReport.LastFile(id: file.id, name: file.name, state: file.state.rawValue, at: file.createdAt)
            }
            let history = try await ledger.parityHistory(feed: id, limit: parityFiles).map { summary in
                EstateReport.ParityFile(
                    fileID: summary.fileID, fileName: summary.fileName, comparedAt: summary.comparedAt, rowsCompared: summary.rowsCompared,
                    rowsAgreed: summary.rowsAgreed)
            }
            feeds[id] = EstateReport.Feed(id: id, outbound: outbound, status: statuses[id], lastFile: last, parity: history, arrival: arrivals[id])
        }
        return EstateReport(generatedAt: now, parityFiles: parityFiles, progress: progress, feeds: feeds)
    }
}
