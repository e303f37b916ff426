public import DQTModel

/// One finding about a file or a row: where it is, which field, a code and a plain message without personal data.
public struct Problem: Sendable, Hashable {
    /// 1-based physical line; nil for a finding about the whole file.
    public let line: Int?
    /// The mapping's field name, when one field is at fault.
    public let field: String?
    /// Where the field sits in the file: a header name, `#N` for a position, or fixed-width columns `25-41`.
    public let column: String?
    /// Frictionless's names where one fits (`type-error`, `constraint-error`, `missing-cell`, `extra-cell`,
    /// `blank-row`, `duplicate-row`), else the bridge's own (`encoding-error`, `rule-error`, ...).
    public let code: String
    public let message: String
    public let severity: Severity

    public init(line: Int?, field: String? = nil, column: String? = nil, code: String, message: String, severity: Severity = .error) {
        self.line = line
        self.field = field
        self.column = column
        self.code = code
        self.message = message
        self.severity = severity
    }
}

/// The API call an accepted record becomes.
public struct PlannedCall: Sendable {
    public let feed: String
    /// 1-based physical line where the record starts.
    public let line: Int
    /// The idempotency key: the same for the same feed, file content, attachment and line, on every run and machine.
    public let key: String
    public let method: String
    public let path: String
    /// The request body as compact JSON text, or nil. Serialized where the record is built, on the checker's
    /// parallel workers, so the in-order sink only copies it.
    public let body: String?
    /// For reconciliation reads: the answer the legacy file implies.
    public let expectation: JSONValue?

    /// Appends the `--records` NDJSON object: `{"feed","line","key","method","path","body"}` (plus `expect` for reads).
    public func writeJSON(to out: inout [UInt8]) {
        out.append(contentsOf: #"{"feed":"#.utf8)
        JSONValue.writeString(feed, to: &out)
        out.append(contentsOf: #","line":"#.utf8)
        out.append(contentsOf: String(line).utf8)
        out.append(contentsOf: #","key":"#.utf8)
        JSONValue.writeString(key, to: &out)
        out.append(contentsOf: #","method":"#.utf8)
        JSONValue.writeString(method, to: &out)
        out.append(contentsOf: #","path":"#.utf8)
        JSONValue.writeString(path, to: &out)
        out.append(contentsOf: #","body":"#.utf8)
        out.append(contentsOf: (body ?? "null").utf8)
        if let expectation {
            out.append(contentsOf: #","expect":"#.utf8)
            expectation.write(to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }
}

/// A refused row: every problem found in it, and its values for the analysts' export.
public struct RejectedRow: Sendable {
    public let line: Int
    public let problems: [Problem]
    /// The row's values, personal data masked unless the sink asked for it unmasked; nil when the row could not
    /// be split into values (e.g. an encoding error), in which case `text` carries what there is.
    public let values: [String]?
    public let text: String?
}

/// Where a check sends what it finds, row by row, in file order.
public protocol CheckSink {
    /// False: accepted records are counted but no API call is built (a plain check runs faster).
    var wantsCalls: Bool { get }
    /// True: rejected rows carry their values (for the rejected-rows export).
    var wantsRejectedValues: Bool { get }
    /// True: personal data in exported values is left unmasked.
    var unmasked: Bool { get }
    mutating func accepted(_ call: PlannedCall) throws
    mutating func rejected(_ row: RejectedRow) throws
}

extension Problem {
    /// The problem as reports and the ledger keep it: where and which code, never a value from the file.
    /// `severity` is left out where the document groups problems by severity already.
    public func json(withSeverity: Bool) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("line", line.map(JSONValue.int) ?? .null),
            ("field", JSONValue(field)),
            ("column", JSONValue(column)),
            ("code", .string(code)),
            ("message", .string(message)),
        ]
        if withSeverity { members.append(("severity", .string(severity.rawValue))) }
        return .object(members)
    }
}
