public import DQTModel

/// A row of the establishments file TPS sends with the workforce extract: an establishment by LA code and
/// establishment code (no URN), with TPS's name for it, GIAS's name and the date it closed.
public struct TpsEstablishment: FeedRecord {
    public enum Field: Int, RecordField {
        case laCode, establishmentCode, empsName, giasName, schoolClosedDate
    }

    public static func kind(of field: Field) -> FieldKind {
        field == .schoolClosedDate ? .date : .text
    }

    public static let mandatoryFields: [Field] = [.laCode, .establishmentCode]
    public static func allowedCodes(for field: Field) -> Set<String>? { nil }
    public static let pathParameters: Set<String> = ["laCode", "establishmentCode"]

    public let laCode: String
    public let establishmentCode: String
    public let empsName: String?
    public let giasName: String?
    public let schoolClosedDate: LocalDate?

    public init(_ row: MappedRow<Field>) throws(RecordRejection) {
        guard let la = row.text(.laCode), let code = row.text(.establishmentCode) else {
            throw RecordRejection(field: Field.establishmentCode, message: "the LA code and establishment code are required")
        }
        laCode = la
        establishmentCode = code
        empsName = row.text(.empsName)
        giasName = row.text(.giasName)
        schoolClosedDate = row.date(.schoolClosedDate)
    }

    public func pathParameter(_ name: String) -> String { name == "laCode" ? laCode : establishmentCode }

    public var body: JSONValue? {
        .object([
            ("empsName", JSONValue(empsName)), ("giasName", JSONValue(giasName)), ("schoolClosedDate", JSONValue(schoolClosedDate)),
        ])
    }
}
