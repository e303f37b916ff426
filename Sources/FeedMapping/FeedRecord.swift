public import DQTModel

/// A feed's record: a Swift type with typed properties, built from one mapped row of a legacy file.
///
/// The mapping file says where each field comes from and how it is typed and checked; the record type says which
/// fields exist (its `Field` enum: a mapping that names any other field is refused when loaded), what kind of
/// value each one must be, and what API call a record becomes.
public protocol FeedRecord: Sendable {
    /// The record's fields, by the names that mapping files use (the case names).
    associatedtype Field: RecordField

    /// What kind of value each field holds; a mapping whose `type` does not give that kind is refused.
    static func kind(of field: Field) -> FieldKind

    /// The placeholders this record can fill in an operation path, e.g. `trn` in `/v3/persons/{trn}`.
    static var pathParameters: Set<String> { get }

    /// Fields every mapping of this record must map (default none).
    static var mandatoryFields: [Field] { get }

    /// For `code` fields: the lookup outputs the record understands (default: any).
    static func allowedCodes(for field: Field) -> Set<String>?

    /// Builds the record from a row whose fields have already passed their own checks and the mapping's rules.
    /// Throws ``RecordRejection`` for what only the record type can judge.
    init(_ row: MappedRow<Field>) throws(RecordRejection)

    /// The value for a path placeholder listed in ``pathParameters``.
    func pathParameter(_ name: String) -> String

    /// The request body, or nil for a call without one.
    var body: JSONValue? { get }

    /// For reconciliation feeds whose operation is a read: what the file says the API should answer.
    var expectation: JSONValue? { get }

    /// Non-fatal findings about the record (e.g. an invalid NI number that the feed only warns about).
    var warnings: [RecordWarning] { get }
}

extension FeedRecord {
    public var expectation: JSONValue? { nil }
    public var warnings: [RecordWarning] { [] }
}

/// The fields of a record type: an `Int`-backed enum whose case names are the names mapping files use.
public protocol RecordField: RawRepresentable, CaseIterable, Hashable, Sendable where RawValue == Int {}

extension RecordField {
    /// The case name, as written in mapping files.
    public var name: String { String(describing: self) }
}

/// The kinds of value a record field can hold; each mapping field type produces one kind.
public enum FieldKind: String, Sendable, Hashable {
    case trn, nationalInsuranceNumber, date, timestamp, text, code, boolean, integer, decimal
}

/// A field value after conversion and checks.
public enum FieldValue: Sendable, Hashable {
    case absent
    case trn(TRN)
    case nationalInsuranceNumber(NationalInsuranceNumber)
    case date(LocalDate)
    /// An instant written as `yyyy-MM-ddTHH:mm:ssZ`.
    case timestamp(String)
    case text(String)
    /// A lookup table's output.
    case code(String)
    case boolean(Bool)
    case integer(Int)
    /// A decimal number as exact text, e.g. `123.45`.
    case decimal(String)

    public var isAbsent: Bool { if case .absent = self { true } else { false } }
}

/// A row of one feed, its fields converted to typed values, as a record type's initialiser sees it.
public struct MappedRow<Field: RecordField>: Sendable {
    @usableFromInline var values: [FieldValue]
    /// The data record type's code (fixed-width feeds with several record types), else nil.
    public let recordType: String?
    /// The gender code carried as a pensions TRN's eighth digit, when the TRN field allowed one.
    public let trnGenderDigit: UInt8?

    init(values: [FieldValue], recordType: String?, trnGenderDigit: UInt8?) {
        self.values = values
        self.recordType = recordType
        self.trnGenderDigit = trnGenderDigit
    }

    @inlinable public subscript(field: Field) -> FieldValue { values[field.rawValue] }

    public func trn(_ field: Field) -> TRN? { if case .trn(let v) = self[field] { v } else { nil } }
    public func nationalInsuranceNumber(_ field: Field) -> NationalInsuranceNumber? {
        if case .nationalInsuranceNumber(let v) = self[field] { v } else { nil }
    }
    public func date(_ field: Field) -> LocalDate? { if case .date(let v) = self[field] { v } else { nil } }
    public func timestamp(_ field: Field) -> String? { if case .timestamp(let v) = self[field] { v } else { nil } }
    public func text(_ field: Field) -> String? { if case .text(let v) = self[field] { v } else { nil } }
    public func code(_ field: Field) -> String? { if case .code(let v) = self[field] { v } else { nil } }
    public func boolean(_ field: Field) -> Bool? { if case .boolean(let v) = self[field] { v } else { nil } }
    public func integer(_ field: Field) -> Int? { if case .integer(let v) = self[field] { v } else { nil } }
    public func decimal(_ field: Field) -> String? { if case .decimal(let v) = self[field] { v } else { nil } }
}

/// A row that the record type refuses, naming the field at fault.
public struct RecordRejection: Error, Sendable {
    public let field: String?
    public let code: String
    public let message: String

    public init(field: (some RecordField)?, code: String = "rule-error", message: String) {
        self.field = field?.name
        self.code = code
        self.message = message
    }
}

/// A finding that does not stop the record.
public struct RecordWarning: Sendable, Hashable {
    public let field: String
    public let code: String
    public let message: String

    public init(field: some RecordField, code: String, message: String) {
        self.field = field.name
        self.code = code
        self.message = message
    }
}

/// Splits legacy "first and middle names" text: the first token is the first name, the rest the middle names.
public func splitForenames(_ text: String?) -> (first: String?, middle: String?) {
    guard let text else { return (nil, nil) }
    let tokens = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
    guard let first = tokens.first else { return (nil, nil) }
    let middle = tokens.dropFirst().joined(separator: " ")
    return (String(first), middle.isEmpty ? nil : middle)
}

extension FeedRecord {
    /// Fields every mapping of this record must map (e.g. the TRN its path needs).
    public static var mandatoryFields: [Field] { [] }
    /// For `code` fields: the lookup outputs the record understands; a lookup table with any other output is refused.
    public static func allowedCodes(for field: Field) -> Set<String>? { nil }
}

/// What the loader needs to know about a record type to check a mapping against it.
public struct RecordSchema: Sendable {
    public let name: String
    public let fieldNames: [String]
    let kinds: [String: FieldKind]
    let pathParameters: Set<String>
    let mandatory: [String]
    let allowedCodes: [String: Set<String>]
    /// A mapping that declares its own body: any field name, of the kind its type gives.
    let declared: Bool

    /// Before a declared mapping's fields are read: it accepts any field.
    static let declaredFields = RecordSchema(declaring: [])

    /// A declared mapping's fields, once read: their names in order and the kinds their types give.
    init(declaring fields: [FieldSpec]) {
        name = "(declared in the mapping)"
        var names: [String] = []
        var kinds: [String: FieldKind] = [:]
        for field in fields where kinds[field.name] == nil {
            names.append(field.name)
            kinds[field.name] = field.type.kind
        }
        fieldNames = names
        self.kinds = kinds
        pathParameters = Set(names)
        mandatory = []
        allowedCodes = [:]
        declared = true
    }

    init<Record: FeedRecord>(_ type: Record.Type, name: String) {
        self.name = name
        fieldNames = Record.Field.allCases.map(\.name)
        kinds = Dictionary(uniqueKeysWithValues: Record.Field.allCases.map { ($0.name, Record.kind(of: $0)) })
        pathParameters = Record.pathParameters
        mandatory = Record.mandatoryFields.map(\.name)
        allowedCodes = Dictionary(
            uniqueKeysWithValues: Record.Field.allCases.compactMap { field in
                Record.allowedCodes(for: field).map { (field.name, $0) }
            })
        declared = false
    }
}
