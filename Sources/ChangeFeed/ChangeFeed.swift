import DQTAPIClient
public import DQTModel

/// One page of the change feed.
public struct ChangePage: Sendable, Hashable {
    public var changes: [Change]
    /// The cursor of the last change, or the `after` asked for when there is none: it never moves back.
    public var nextCursor: String
    /// The cursor of the last change (of the kinds asked for) ready now, `nextCursor` when there is none after it: the
    /// changes after `after` up to it never change, so a range can be fixed without reading it.
    public var endCursor: String
    /// More changes (of the kinds asked for) are ready after `nextCursor` now.
    public var hasMore: Bool

    public init(changes: [Change], nextCursor: String, endCursor: String, hasMore: Bool) {
        self.changes = changes
        self.nextCursor = nextCursor
        self.endCursor = endCursor
        self.hasMore = hasMore
    }
}

/// The DQT API's change feed as the bridge reads it: ``HTTPChangeFeed`` calls dqt-api, ``MemoryChangeFeed`` serves
/// a list for fast tests. Both keep the feed's contract: changes in cursor order, each after `after` (nil: from the
/// first), at most `limit` (1...10,000), only `kinds` (empty: every kind); a range between two cursors always holds
/// the same changes.
public protocol ChangeFeed: Sendable {
    func changes(after: String?, limit: Int, kinds: [String]) async throws -> ChangePage
}

/// Why a change feed call failed.
public enum ChangeFeedError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The API answered with an error status (the problem's title, detail and error code; never a value).
    case refused(status: Int, problem: String?)
    /// A kind the contract does not name.
    case unknownKind(String)
    /// A cursor that is not `<digits>.<digits>`.
    case invalidCursor(String)
    /// `limit` outside 1...10,000.
    case invalidLimit(Int)

    public var description: String {
        switch self {
        case .refused(let status, let problem): "the change feed answered \(status)\(problem.map { ": \($0)" } ?? "")"
        case .unknownKind(let kind): "\(kind) is not a kind of change"
        case .invalidCursor: "a change feed cursor must be <digits>.<digits>"
        case .invalidLimit(let limit): "limit \(limit) is outside 1...10000"
        }
    }
}

/// The kinds of change the contract names (openapi.yaml's `ChangeKind`), `resource.verb`.
public enum ChangeKinds {
    public static let all: [String] = Components.Schemas.ChangeKind.allCases.map(\.rawValue)
}
