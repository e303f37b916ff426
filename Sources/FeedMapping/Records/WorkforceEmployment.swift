public import DQTModel

/// A row of the TPS monthly workforce extract: one employment, keyed `<trn>.<la>.<establishment or NULL>.<start>`.
public struct WorkforceEmployment: FeedRecord {
    public enum Field: Int, RecordField {
        case trn, nationalInsuranceNumber, dateOfBirth, dateOfDeath, memberPostcode, memberEmailAddress
        case localAuthorityCode, establishmentCode, establishmentPostcode, establishmentEmailAddress
        case startDate, endDate, employmentType, withdrawn, extractDate, gender
    }

    public static func kind(of field: Field) -> FieldKind {
        switch field {
        case .trn: .trn
        case .nationalInsuranceNumber: .nationalInsuranceNumber
        case .dateOfBirth, .dateOfDeath, .startDate, .endDate, .extractDate: .date
        case .memberPostcode, .memberEmailAddress, .localAuthorityCode, .establishmentCode, .establishmentPostcode,
            .establishmentEmailAddress:
            .text
        case .employmentType, .gender: .code
        case .withdrawn: .boolean
        }
    }

    public static let mandatoryFields: [Field] = [.trn, .localAuthorityCode, .startDate, .employmentType]
    public static func allowedCodes(for field: Field) -> Set<String>? {
        switch field {
        case .employmentType: Set(EmploymentType.allCases.map(\.rawValue))
        case .gender: ["Male", "Female"]
        default: nil
        }
    }
    public static let pathParameters: Set<String> = ["trn", "employmentKey"]

    public let trn: TRN
    public let localAuthorityCode: String
    public let establishmentCode: String?
    public let startDate: LocalDate
    public let endDate: LocalDate?
    public let employmentType: String?
    public let withdrawn: Bool
    public let extractDate: LocalDate?
    public let nationalInsuranceNumber: NationalInsuranceNumber?
    public let dateOfBirth: LocalDate?
    public let dateOfDeath: LocalDate?
    public let gender: String?
    public let memberPostcode: String?
    public let memberEmailAddress: String?
    public let establishmentPostcode: String?
    public let establishmentEmailAddress: String?

    public init(_ row: MappedRow<Field>) throws(RecordRejection) {
        guard let trn = row.trn(.trn), let la = row.text(.localAuthorityCode), let start = row.date(.startDate) else {
            throw RecordRejection(field: Field.trn, message: "TRN, local authority code and start date are required")
        }
        if let end = row.date(.endDate), end < start {
            throw RecordRejection(field: Field.endDate, message: "the end date is before the start date")
        }
        self.trn = trn
        localAuthorityCode = la
        establishmentCode = row.text(.establishmentCode)
        startDate = start
        endDate = row.date(.endDate)
        employmentType = row.code(.employmentType)
        withdrawn = row.boolean(.withdrawn) ?? false
        extractDate = row.date(.extractDate)
        nationalInsuranceNumber = row.nationalInsuranceNumber(.nationalInsuranceNumber)
        dateOfBirth = row.date(.dateOfBirth)
        dateOfDeath = row.date(.dateOfDeath)
        gender = row.code(.gender)
        memberPostcode = row.text(.memberPostcode)
        memberEmailAddress = row.text(.memberEmailAddress)
        establishmentPostcode = row.text(.establishmentPostcode)
        establishmentEmailAddress = row.text(.establishmentEmailAddress)
    }

    /// `<trn>.<la>.<establishment or NULL>.<start yyyyMMdd>`, as TRS keys workforce rows.
    public var employmentKey: String {
        "\(trn.digits).\(localAuthorityCode).\(establishmentCode ?? "NULL").\(startDate.compact)"
    }

    public func pathParameter(_ name: String) -> String { name == "employmentKey" ? employmentKey : trn.digits }

    public var body: JSONValue? {
        .object([
            ("localAuthorityCode", .string(localAuthorityCode)),
            ("establishmentCode", JSONValue(establishmentCode)),
            ("establishmentPostcode", JSONValue(establishmentPostcode)),
            ("establishmentEmailAddress", JSONValue(establishmentEmailAddress)),
            ("memberPostcode", JSONValue(memberPostcode)),
            ("memberEmailAddress", JSONValue(memberEmailAddress)),
            ("startDate", JSONValue(startDate)),
            ("endDate", JSONValue(endDate)),
            ("employmentType", JSONValue(employmentType)),
            ("withdrawn", .bool(withdrawn)),
            ("extractDate", JSONValue(extractDate)),
            ("nationalInsuranceNumber", JSONValue(nationalInsuranceNumber?.normalized)),
            ("dateOfBirth", JSONValue(dateOfBirth)),
            ("dateOfDeath", JSONValue(dateOfDeath)),
            ("gender", JSONValue(gender)),
        ])
    }
}
