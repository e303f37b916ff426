public import DQTModel

/// Capita (Teachers' Pensions) import, one person per semicolon-delimited line: creates the person under the TRN
/// Capita allocated, or fills what DQT lacks; a date of death also marks the person deceased.
public struct CapitaImportRecord: FeedRecord {
    public enum Field: Int, RecordField {
        case trn, gender, lastName, forenames, previousLastName, dateOfBirth, nationalInsuranceNumber, dateOfDeath
    }

    public static func kind(of field: Field) -> FieldKind {
        switch field {
        case .trn: .trn
        case .gender: .code
        case .lastName, .forenames, .previousLastName: .text
        case .dateOfBirth, .dateOfDeath: .date
        case .nationalInsuranceNumber: .nationalInsuranceNumber
        }
    }

    public static let mandatoryFields: [Field] = [.trn, .dateOfBirth]
    public static func allowedCodes(for field: Field) -> Set<String>? { field == .gender ? ["Male", "Female"] : nil }
    public static let pathParameters: Set<String> = ["trn"]

    public let trn: TRN
    public let gender: Gender?
    public let lastName: String?
    public let firstName: String?
    public let middleName: String?
    public let previousLastName: String?
    public let dateOfBirth: LocalDate
    public let nationalInsuranceNumber: NationalInsuranceNumber?
    public let dateOfDeath: LocalDate?

    public init(_ row: MappedRow<Field>) throws(RecordRejection) {
        guard let trn = row.trn(.trn), let dateOfBirth = row.date(.dateOfBirth) else {
            throw RecordRejection(field: Field.trn, message: "TRN and date of birth are required")
        }
        self.trn = trn
        self.dateOfBirth = dateOfBirth
        gender = row.code(.gender).flatMap(Gender.init(rawValue:))
        lastName = row.text(.lastName)
        (firstName, middleName) = splitForenames(row.text(.forenames))
        previousLastName = row.text(.previousLastName)
        nationalInsuranceNumber = row.nationalInsuranceNumber(.nationalInsuranceNumber)
        dateOfDeath = row.date(.dateOfDeath)
        if let dateOfDeath, dateOfDeath < dateOfBirth {
            throw RecordRejection(field: Field.dateOfDeath, message: "the date of death is before the date of birth")
        }
    }

    public func pathParameter(_ name: String) -> String { trn.digits }

    public var body: JSONValue? {
        .object([
            ("gender", JSONValue(gender?.rawValue)),
            ("lastName", JSONValue(lastName)),
            ("firstName", JSONValue(firstName)),
            ("middleName", JSONValue(middleName)),
            ("previousLastName", JSONValue(previousLastName)),
            ("dateOfBirth", JSONValue(dateOfBirth)),
            ("nationalInsuranceNumber", JSONValue(nationalInsuranceNumber?.normalized)),
            ("dateOfDeath", JSONValue(dateOfDeath)),
        ])
    }
}
