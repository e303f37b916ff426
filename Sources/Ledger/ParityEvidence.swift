import Synchronization

/// Where the estate report reads each feed's parity with its legacy job: the comparisons of its last shadow files.
public protocol ParityEvidence: Sendable {
    /// The feed's newest comparisons first, at most `limit`.
    func parityHistory(feed: String, limit: Int) async throws -> [ParitySummary]
}

/// Parity kept in memory, for tests and for a store that records none (then every feed has no parity yet).
public final class MemoryParityEvidence: ParityEvidence {
    private let summaries: Mutex<[ParitySummary]>

    public init(_ summaries: [ParitySummary] = []) { self.summaries = Mutex(summaries) }

    public func record(_ summary: ParitySummary) { summaries.withLock { $0.append(summary) } }

    public func parityHistory(feed: String, limit: Int) async throws -> [ParitySummary] {
        let all = summaries.withLock { $0 }
        return Array(all.filter { $0.feed == feed }.sorted { ($0.comparedAt, $0.fileID) > ($1.comparedAt, $1.fileID) }.prefix(limit))
    }
}
