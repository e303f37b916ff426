/// An error from libpq or from the PostgreSQL server.
///
/// The description never contains the connection password, and never the server's `DETAIL` line (which can quote
/// row values, i.e. personal data): that stays in ``detail`` for callers that decide it is safe to show.
public struct PGError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// Could not connect, or the connection was lost.
        case connection
        /// The server refused a statement (see ``sqlState``).
        case query
        /// A `COPY ... FROM STDIN` failed on the client side.
        case copy
        /// The server answered with something this wrapper did not expect (e.g. a column that is missing or NULL).
        case protocolMisuse
    }

    public var kind: Kind
    /// The five-character SQLSTATE, e.g. `23505` for a unique violation; nil for client-side errors.
    public var sqlState: String?
    /// The server's primary message (or libpq's message for client-side errors).
    public var message: String
    /// The server's DETAIL line, which may quote data: not part of ``description``.
    public var detail: String?

    public init(kind: Kind, sqlState: String? = nil, message: String, detail: String? = nil) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
    }

    public var description: String {
        if let sqlState { return "PostgreSQL \(kind.rawValue) error \(sqlState): \(message)" }
        return "PostgreSQL \(kind.rawValue) error: \(message)"
    }

    /// `23505`.
    public var isUniqueViolation: Bool { sqlState == "23505" }
}
