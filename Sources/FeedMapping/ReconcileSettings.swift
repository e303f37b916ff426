import DQTModel

/// A reconciliation feed's `reconcile:` section: the partner's file is compared with the API's alerts of one source,
/// by the partner's reference, instead of being published.
public struct ReconcileSettings: Sendable, Hashable {
    /// How much of the API a file speaks for.
    public enum Scope: String, Sendable, CaseIterable {
        /// The cases that changed in the file's period (a weekly file): only the references it lists are compared.
        case listed = "weekly"
        /// Every case the partner holds (a monthly file): alerts it does not list are "only in ours".
        case full = "monthly"
    }

    /// The fields an alert is compared on, by their names in the API's `SourceAlert`.
    public enum ComparedField: String, Sendable, CaseIterable {
        case trn, alertTypeCode, startDate, endDate
    }

    /// The alerts' `source` (e.g. `dbs`).
    public var source: String
    public var compared: [ComparedField]
    /// Always false once loaded: lint refuses `apply: true` (writing the differences is not built).
    public var apply: Bool
    /// File name glob per scope, checked in order.
    public var kinds: [(scope: Scope, pattern: String)]

    public init(source: String, compared: [ComparedField], apply: Bool, kinds: [(scope: Scope, pattern: String)]) {
        self.source = source
        self.compared = compared
        self.apply = apply
        self.kinds = kinds
    }

    /// The scope a file's name says, or nil when it matches none of the kinds.
    public func scope(ofFileNamed name: String) -> Scope? {
        kinds.first { FileNamePattern.matches($0.pattern, name: name) }?.scope
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.source == rhs.source && lhs.compared == rhs.compared && lhs.apply == rhs.apply
            && lhs.kinds.map(\.scope) == rhs.kinds.map(\.scope) && lhs.kinds.map(\.pattern) == rhs.kinds.map(\.pattern)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(source)
        hasher.combine(compared)
        hasher.combine(kinds.map(\.pattern))
    }
}
