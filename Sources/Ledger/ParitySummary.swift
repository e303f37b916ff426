public import Foundation

/// One shadow file's parity against its legacy job: how many planned records agreed with the legacy outcome.
public struct ParitySummary: Sendable, Equatable {
    public var feed: String
    public var fileID: Int64
    public var fileName: String
    public var comparedAt: Date
    public var rowsCompared: Int
    public var rowsAgreed: Int
    public init(feed: String, fileID: Int64, fileName: String, comparedAt: Date, rowsCompared: Int, rowsAgreed: Int) {
        self.feed = feed
        self.fileID = fileID
        self.fileName = fileName
        self.comparedAt = comparedAt
        self.rowsCompared = rowsCompared
        self.rowsAgreed = rowsAgreed
    }
    /// Agreement as a fraction (1 when nothing was compared).
    public var agreement: Double { rowsCompared == 0 ? 1 : Double(rowsAgreed) / Double(rowsCompared) }
}
