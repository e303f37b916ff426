public import DQTModel

/// A line (or a type-1 line with its previous-surname line) of the Capita fixed-width register, returned by Capita:
/// a partial update of the person carrying only the fields the line carries.
public struct CapitaRegisterChange: FeedRecord {
    public enum Field: Int, RecordField {
        case trn, gender, dateOfBirth, lastName, forenames, previousLastName, nationalInsuranceNumber, surnamePrefix
    }

    public static func kind(of field: Field) -> FieldKind {
        switch field {
        case .trn: .trn
        case .gender: .code
        case .dateOfBirth: .date
        case .lastName, .forenames, .previousLastName, .surnamePrefix: .text
        case .nationalInsuranceNumber: .nationalInsuranceNumber
        }
    }

    public static let mandatoryFields: [Field] = [.trn]
    public static func allowedCodes(for field: Field) -> Set<String>? { field == .gender ? ["Male", "Female"] : nil }
    public static let pathParameters: Set<String> = ["trn"]

    public let trn: TRN
    /// The fields this line changes, in the API's names and order.
    public let changes: [(String, JSONValue)]

    public init(_ row: MappedRow<Field>) throws(RecordRejection) {
        guard let trn = row.trn(.trn) else { throw RecordRejection(field: Field.trn, message: "a TRN is required") }
        self.trn = trn
        let (firstName, middleName) = splitForenames(row.text(.forenames))
        let candidates: [(String, JSONValue?)] = [
            ("firstName", firstName.map(JSONValue.string)),
            ("middleName", middleName.map(JSONValue.string)),
            ("lastName", row.text(.lastName).map(JSONValue.string)),
            ("previousLastName", row.text(.previousLastName).map(JSONValue.string)),
            ("dateOfBirth", row.date(.dateOfBirth).map { JSONValue($0) }),
            ("nationalInsuranceNumber", row.nationalInsuranceNumber(.nationalInsuranceNumber).map { .string($0.normalized) }),
            ("gender", row.code(.gender).map(JSONValue.string)),
        ]
        changes = candidates.compactMap { name, value in value.map { (name, $0) } }
        guard changes.contains(where: { $0.0 != "gender" }) else {
            throw RecordRejection(field: Field.trn, code: "constraint-error", message: "the line changes nothing")
        }
    }

    public func pathParameter(_ name: String) -> String { trn.digits }
    public var body: JSONValue? { .object(changes) }
}
