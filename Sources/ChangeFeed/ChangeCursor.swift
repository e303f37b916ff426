/// The order of the feed's cursors. A cursor is opaque to the feed's clients except for this: it is two numbers,
/// `<transaction>.<change>`, and changes come in the order of those pairs, so a client can tell whether a change is
/// within a range it fixed earlier.
public struct ChangeCursor: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let transaction: UInt64
    public let change: UInt64

    /// Before every change (`0.0`).
    public static let start = ChangeCursor(transaction: 0, change: 0)

    public init(transaction: UInt64, change: UInt64) {
        self.transaction = transaction
        self.change = change
    }

    /// nil unless `text` is `<digits>.<digits>` with numbers that fit.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }),
            let transaction = UInt64(parts[0]), let change = UInt64(parts[1])
        else { return nil }
        self.init(transaction: transaction, change: change)
    }

    public var description: String { "\(transaction).\(change)" }

    public static func < (lhs: ChangeCursor, rhs: ChangeCursor) -> Bool {
        (lhs.transaction, lhs.change) < (rhs.transaction, rhs.change)
    }

    static func parse(_ text: String) throws(ChangeFeedError) -> ChangeCursor {
        guard let cursor = ChangeCursor(text) else { throw .invalidCursor(text) }
        return cursor
    }
}
