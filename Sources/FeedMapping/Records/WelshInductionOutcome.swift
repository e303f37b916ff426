public import DQTModel

/// An EWC Wales induction outcome (file `IND*.csv`): a pass or a fail with its dates.
public struct WelshInductionOutcome: FeedRecord {
    public enum Field: Int, RecordField {
        case trn, firstName, lastName, dateOfBirth, startDate, passDate, failDate, employerName, employerCode, status
    }

    public static func kind(of field: Field) -> FieldKind {
        switch field {
        case .trn: .trn
        case .firstName, .lastName, .employerName, .employerCode: .text
        case .dateOfBirth, .startDate, .passDate, .failDate: .date
        case .status: .code
        }
    }

    public static let mandatoryFields: [Field] = [.trn, .dateOfBirth, .startDate, .passDate, .failDate, .status]
    public static func allowedCodes(for field: Field) -> Set<String>? { field == .status ? ["Pass", "Fail"] : nil }
    public static let pathParameters: Set<String> = ["trn"]

    public let trn: TRN
    public let passed: Bool
    public let startDate: LocalDate
    public let completedDate: LocalDate
    /// Sent so the API can refuse the outcome when the person's date of birth differs.
    public let dateOfBirth: LocalDate

    public init(_ row: MappedRow<Field>) throws(RecordRejection) {
        guard let trn = row.trn(.trn), let dateOfBirth = row.date(.dateOfBirth), let startDate = row.date(.startDate),
            let status = row.code(.status)
        else { throw RecordRejection(field: Field.trn, message: "TRN, date of birth, start date and status are required") }
        let passed = status == "Pass"
        guard let completedDate = passed ? row.date(.passDate) : row.date(.failDate) else {
            throw RecordRejection(field: passed ? Field.passDate : Field.failDate, message: "no completion date for the row's status")
        }
        self.trn = trn
        self.passed = passed
        self.startDate = startDate
        self.completedDate = completedDate
        self.dateOfBirth = dateOfBirth
    }

    public func pathParameter(_ name: String) -> String { trn.digits }

    public var body: JSONValue? {
        .object([
            ("passed", .bool(passed)),
            ("startDate", JSONValue(startDate)),
            ("completedDate", JSONValue(completedDate)),
            ("dateOfBirth", JSONValue(dateOfBirth)),
        ])
    }
}
