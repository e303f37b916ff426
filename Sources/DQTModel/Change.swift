/// One change from the DQT API's change feed (`GET /v3/changes`), as the bridge's outbound feeds read it.
///
/// `before` and `after` hold each document's scalar values as text (strings as they are, numbers and booleans as
/// their JSON text); null values are left out and nested values are not carried. `at` is the API's ISO text, kept
/// verbatim so an export's bytes never depend on how a date is reformatted.
public struct Change: Sendable, Hashable, Codable {
    /// Opaque position in the feed; later changes have later cursors.
    public var cursor: String
    /// `resource.verb`, e.g. `person.created`.
    public var kind: String
    public var trn: String?
    /// The API key whose call made the change (e.g. `capita`).
    public var keyName: String
    /// The API operation that made it (e.g. `patchPerson`).
    public var operation: String
    public var at: String
    public var before: [String: String]?
    public var after: [String: String]?

    public init(
        cursor: String, kind: String, trn: String?, keyName: String, operation: String, at: String,
        before: [String: String]?, after: [String: String]?
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
