public import DQTModel

/// A row of GIAS's daily `edubasealldata<yyyyMMdd>.csv`: one establishment in England, by URN, with the columns DQT
/// uses. Its LA code and establishment number are what the workforce extract's codes refer to.
public struct GiasEstablishment: FeedRecord {
    public enum Field: Int, RecordField {
        case urn, laCode, laName, establishmentNumber, name, typeCode, typeName, typeGroupCode, typeGroupName
        case statusCode, statusName, phaseCode, phaseName, numberOfPupils, percentageFsm
        case street, locality, address3, town, county, postcode, closeDate
    }

    public static func kind(of field: Field) -> FieldKind {
        switch field {
        case .urn, .numberOfPupils: .integer
        case .percentageFsm: .decimal
        case .closeDate: .date
        default: .text
        }
    }

    public static let mandatoryFields: [Field] = [.urn, .laCode, .name]
    public static func allowedCodes(for field: Field) -> Set<String>? { nil }
    public static let pathParameters: Set<String> = ["urn"]

    public let urn: Int
    public let laCode: String
    public let name: String
    public let establishmentNumber: String?
    public let numberOfPupils: Int?
    public let percentageFsm: String?
    public let closeDate: LocalDate?
    /// The other text fields, in the order of ``textFields``.
    public let texts: [String?]

    /// The other text fields with their names in the body, in the body's order. Spelled out: a case's name by
    /// `String(describing:)` costs a runtime cast per call, most of a row's time over 15 fields.
    static let textFields: [(field: Field, name: String)] = [
        (.laName, "laName"), (.typeCode, "typeCode"), (.typeName, "typeName"), (.typeGroupCode, "typeGroupCode"),
        (.typeGroupName, "typeGroupName"), (.statusCode, "statusCode"), (.statusName, "statusName"), (.phaseCode, "phaseCode"),
        (.phaseName, "phaseName"), (.street, "street"), (.locality, "locality"), (.address3, "address3"), (.town, "town"),
        (.county, "county"), (.postcode, "postcode"),
    ]

    public init(_ row: MappedRow<Field>) throws(RecordRejection) {
        guard let urn = row.integer(.urn), urn > 0 else {
            throw RecordRejection(field: Field.urn, message: "the URN is required and above 0")
        }
        guard let la = row.text(.laCode), let name = row.text(.name) else {
            throw RecordRejection(field: Field.laCode, message: "the LA code and the establishment's name are required")
        }
        self.urn = urn
        laCode = la
        self.name = name
        establishmentNumber = row.text(.establishmentNumber)
        numberOfPupils = row.integer(.numberOfPupils)
        percentageFsm = row.decimal(.percentageFsm)
        closeDate = row.date(.closeDate)
        texts = Self.textFields.map { row.text($0.field) }
    }

    public func pathParameter(_ name: String) -> String { String(urn) }

    public var body: JSONValue? {
        var members: [(String, JSONValue)] = [
            ("laCode", .string(laCode)), ("establishmentNumber", JSONValue(establishmentNumber)), ("name", .string(name)),
        ]
        members += zip(Self.textFields, texts).map { ($0.name, JSONValue($1)) }
        members += [
            ("numberOfPupils", numberOfPupils.map(JSONValue.int) ?? .null),
            ("percentageFsm", percentageFsm.map(JSONValue.number) ?? .null),
            ("closeDate", JSONValue(closeDate)),
        ]
        return .object(members)
    }
}
