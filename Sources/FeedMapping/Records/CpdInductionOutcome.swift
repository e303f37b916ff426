public import DQTModel

/// An appropriate body's induction outcome (AB Import): the CPD induction status with its dates and the time the
/// appropriate body last changed it, so that an older update cannot overwrite a newer one.
public struct CpdInductionOutcome: FeedRecord {
    public enum Field: Int, RecordField {
        case trn, dateOfBirth, status, startDate, completedDate, modifiedOn, appropriateBody
    }

    public static func kind(of field: Field) -> FieldKind {
        switch field {
        case .trn: .trn
        case .dateOfBirth, .startDate, .completedDate: .date
        case .status: .code
        case .modifiedOn: .timestamp
        case .appropriateBody: .text
        }
    }

    public static let mandatoryFields: [Field] = [.trn, .status, .modifiedOn]
    public static func allowedCodes(for field: Field) -> Set<String>? {
        field == .status
            ? [InductionStatus.requiredToComplete, .inProgress, .passed, .failed].map(\.rawValue).reduce(into: []) { $0.insert($1) } : nil
    }
    public static let pathParameters: Set<String> = ["trn"]

    public let trn: TRN
    public let status: InductionStatus
    public let startDate: LocalDate?
    public let completedDate: LocalDate?
    public let modifiedOn: String

    public init(_ row: MappedRow<Field>) throws(RecordRejection) {
        guard let trn = row.trn(.trn), let code = row.code(.status), let status = InductionStatus(rawValue: code),
            let modifiedOn = row.timestamp(.modifiedOn)
        else { throw RecordRejection(field: Field.status, message: "TRN, status and modified-on time are required") }
        self.trn = trn
        self.status = status
        self.modifiedOn = modifiedOn
        startDate = row.date(.startDate)
        completedDate = row.date(.completedDate)
    }

    public func pathParameter(_ name: String) -> String { trn.digits }

    public var body: JSONValue? {
        .object([
            ("status", .string(status.rawValue)),
            ("startDate", JSONValue(startDate)),
            ("completedDate", JSONValue(completedDate)),
            ("modifiedOn", .string(modifiedOn)),
        ])
    }
}
