public import DQTModel
public import Foundation

/// One shadow file compared with what its legacy job did: the accept/reject agreement per row (a confusion matrix),
/// every disagreement (up to ``listLimit``, the rest counted), and the planned writes classified against the state read
/// back from the API. No value from the file appears here; the legacy job's messages, free text that may name a person,
/// are shown only when the report is unmasked.
public struct ParityReport: Sendable {
    /// How a row ended on one side.
    public enum Side: String, Sendable {
        case accepted, rejected, missing
    }

    /// The confusion matrix: rows by what the bridge did and what the legacy job did.
    public struct Matrix: Sendable, Equatable {
        public var bothAccepted = 0
        public var bothRejected = 0
        /// The bridge accepted, the legacy job refused (Failure).
        public var onlyBridgeAccepted = 0
        /// The legacy job accepted (Success or Warning), the bridge rejected.
        public var onlyLegacyAccepted = 0
        /// A row the bridge read that the legacy outcome file does not mention.
        public var missingInLegacy = 0
        /// A line the legacy outcome file reports that the bridge read no row for.
        public var missingInBridge = 0
        public init() {}

        public var compared: Int { bothAccepted + bothRejected + onlyBridgeAccepted + onlyLegacyAccepted + missingInLegacy + missingInBridge }
        public var agreed: Int { bothAccepted + bothRejected }
    }

    /// A row the two sides handled differently.
    public struct Disagreement: Sendable {
        public var line: Int
        public var bridge: Side
        /// `Success`, `Failure`, `Warning`, or `missing`.
        public var legacy: String
        public var legacyMessage: String?
        /// The bridge's problems for a rejected row: field and code.
        public var problems: [(field: String?, code: String)]
        public init(line: Int, bridge: Side, legacy: String, legacyMessage: String?, problems: [(field: String?, code: String)]) {
            self.line = line
            self.bridge = bridge
            self.legacy = legacy
            self.legacyMessage = legacyMessage
            self.problems = problems
        }
    }

    /// A planned write against the API's current state.
    public enum ReadBackClass: String, Sendable, CaseIterable {
        /// The legacy job already did the same.
        case noOp
        /// The API holds other values in these fields.
        case wouldChange
        /// The API has nothing there yet.
        case wouldCreate
        /// Not compared: no read-back for the operation, the body already wiped, or the person not readable.
        case unavailable
    }

    public struct ReadBackRow: Sendable {
        public var line: Int
        public var kind: ReadBackClass
        /// The fields that would change (names only), or why the write could not be compared.
        public var fields: [String]
        public var note: String?
        public init(line: Int, kind: ReadBackClass, fields: [String], note: String?) {
            self.line = line
            self.kind = kind
            self.fields = fields
            self.note = note
        }
    }

    public static let listLimit = 1000

    public var feed: String
    public var fileID: Int64
    public var fileName: String
    public var sha256: String?
    public var comparedAt: Date
    /// Where the legacy outcome came from (a path), and how many of its rows were read.
    public var legacySource: String
    public var legacyRows: Int
    public var unmasked: Bool
    public var matrix = Matrix()
    public var disagreements: [Disagreement] = []
    public var disagreementsNotListed = 0
    public var readBack: [ReadBackClass: Int] = [:]
    /// How many planned writes would change each field.
    public var changedFields: [String: Int] = [:]
    public var readBackRows: [ReadBackRow] = []
    public var readBackNotListed = 0

    public init(feed: String, fileID: Int64, fileName: String, sha256: String?, comparedAt: Date, legacySource: String, unmasked: Bool) {
        self.feed = feed
        self.fileID = fileID
        self.fileName = fileName
        self.sha256 = sha256
        self.comparedAt = comparedAt
        self.legacySource = legacySource
        self.legacyRows = 0
        self.unmasked = unmasked
    }

    /// Agreement in percent (100 when nothing was compared).
    public var agreementPercent: Double { matrix.compared == 0 ? 100 : Double(matrix.agreed) * 100 / Double(matrix.compared) }

    public mutating func add(_ disagreement: Disagreement) {
        if disagreements.count < Self.listLimit { disagreements.append(disagreement) } else { disagreementsNotListed += 1 }
    }

    public mutating func add(_ row: ReadBackRow) {
        readBack[row.kind, default: 0] += 1
        if row.kind == .wouldChange { for field in row.fields { changedFields[field, default: 0] += 1 } }
        guard row.kind != .noOp else { return }
        if readBackRows.count < Self.listLimit { readBackRows.append(row) } else { readBackNotListed += 1 }
    }

    /// A legacy message as the report shows it: itself when unmasked, else only its length.
    func shownMessage(_ text: String?) -> String? {
        guard let text else { return nil }
        return unmasked ? text : "(masked: \(text.count) characters; --unmask shows it)"
    }

    public var json: JSONValue {
        .object([
            ("feed", .string(feed)),
            ("file", .object([("id", .int(Int(fileID))), ("name", .string(fileName)), ("sha256", sha256.map(JSONValue.string) ?? .null)])),
            ("comparedAt", .string(ISO8601DateFormatter().string(from: comparedAt))),
            ("legacy", .object([("source", .string(legacySource)), ("rows", .int(legacyRows))])),
            ("masked", .bool(!unmasked)),
            (
                "agreement",
                .object([
                    ("rowsCompared", .int(matrix.compared)), ("rowsAgreed", .int(matrix.agreed)),
                    ("percent", .number(String(format: "%.3f", agreementPercent))),
                ])
            ),
            (
                "matrix",
                .object([
                    ("bothAccepted", .int(matrix.bothAccepted)), ("bothRejected", .int(matrix.bothRejected)),
                    ("bridgeAcceptedLegacyRejected", .int(matrix.onlyBridgeAccepted)),
                    ("bridgeRejectedLegacyAccepted", .int(matrix.onlyLegacyAccepted)),
                    ("missingInLegacy", .int(matrix.missingInLegacy)), ("missingInBridge", .int(matrix.missingInBridge)),
                ])
            ),
            ("disagreements", .array(disagreements.map(disagreementJSON))),
            ("disagreementsNotListed", .int(disagreementsNotListed)),
            (
                "readBack",
                .object(
                    ReadBackClass.allCases.map { ($0.rawValue, JSONValue.int(readBack[$0] ?? 0)) } + [
                        ("changedFields", .object(changedFields.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.int($0.value)) })),
                        ("rows", .array(readBackRows.map(readBackJSON))), ("rowsNotListed", .int(readBackNotListed)),
                    ])
            ),
        ])
    }

    private func disagreementJSON(_ row: Disagreement) -> JSONValue {
        .object([
            ("line", .int(row.line)), ("bridge", .string(row.bridge.rawValue)), ("legacy", .string(row.legacy)),
            ("legacyMessage", shownMessage(row.legacyMessage).map(JSONValue.string) ?? .null),
            ("problems", .array(row.problems.map { .object([("field", $0.field.map(JSONValue.string) ?? .null), ("code", .string($0.code))]) })),
        ])
    }

    private func readBackJSON(_ row: ReadBackRow) -> JSONValue {
        .object([
            ("line", .int(row.line)), ("class", .string(row.kind.rawValue)), ("fields", .array(row.fields.map(JSONValue.string))),
            ("note", row.note.map(JSONValue.string) ?? .null),
        ])
    }
}
