/// One change of the DQT API's change feed (`GET /v3/changes`), as the bridge carries it. `before` and `after` are the
/// record's documents with each scalar value as text (strings as they are, numbers and booleans as their JSON text);
/// null values are left out and nested values are not carried. `at` is the API's ISO text, kept verbatim.
public struct Change: Sendable, Hashable, Codable {
    public var cursor: String
    public var kind: String
    public var trn: String?
    public var keyName: String
    public var operation: String
    public var at: String
    public var before: [String: String]?
    public var after: [String: String]?

    public init(
        cursor: String, kind: String, trn: String?, keyName: String, operation: String, at: String, before: [String: String]?,
        after: [String: String]?
    ) {
        self.cursor = cursor
        self.kind = kind
        self.trn = trn
        self.keyName = keyName
        self.operation = operation
        self.at = at
        self.before = before
        self.after = after
    }
}
