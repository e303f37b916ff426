public import DQTModel

/// A row of the old DQT-to-Claim extract (2021-22). Claim now reads the API, so each row becomes a reconciliation
/// read: the Claim-era call, with what the extract said as the expected answer.
public struct ClaimExtractRow: FeedRecord {
    public enum Field: Int, RecordField {
        case trn, qtsDate, fullName, dateOfBirth, nationalInsuranceNumber, ittSubject1, ittSubject2, ittSubject3
        case ittStartDate, qualificationName, activeAlert, teacherStatus
    }

    public static func kind(of field: Field) -> FieldKind {
        switch field {
        case .trn: .trn
        case .qtsDate, .dateOfBirth, .ittStartDate: .date
        case .nationalInsuranceNumber: .nationalInsuranceNumber
        case .fullName, .ittSubject1, .ittSubject2, .ittSubject3, .qualificationName, .teacherStatus: .text
        case .activeAlert: .boolean
        }
    }

    public static let mandatoryFields: [Field] = [.trn]
    public static let pathParameters: Set<String> = ["trn"]

    public let trn: TRN
    public let expectation: JSONValue?

    public init(_ row: MappedRow<Field>) throws(RecordRejection) {
        guard let trn = row.trn(.trn) else { throw RecordRejection(field: Field.trn, message: "a TRN is required") }
        self.trn = trn
        expectation = .object([
            ("trn", .string(trn.digits)),
            ("qtsAwardDate", JSONValue(row.date(.qtsDate))),
            ("ittSubject1Code", JSONValue(row.text(.ittSubject1))),
            ("ittSubject2Code", JSONValue(row.text(.ittSubject2))),
            ("ittSubject3Code", JSONValue(row.text(.ittSubject3))),
            ("activeAlert", row.boolean(.activeAlert).map(JSONValue.bool) ?? .null),
            ("qualificationName", JSONValue(row.text(.qualificationName))),
            ("ittStartDate", JSONValue(row.date(.ittStartDate))),
        ])
    }

    public func pathParameter(_ name: String) -> String { trn.digits }
    public var body: JSONValue? { nil }
}
