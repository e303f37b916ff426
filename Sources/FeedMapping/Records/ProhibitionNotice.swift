public import DQTModel

/// A prohibition or alert notice sent by email (EWC, GTC Scotland, GTC NI, DBS) as a CSV attachment.
public struct ProhibitionNotice: FeedRecord {
    public enum Field: Int, RecordField {
        case trn, dateOfBirth, fullName, alertType, details, startDate, endDate
    }

    public static func kind(of field: Field) -> FieldKind {
        switch field {
        case .trn: .trn
        case .dateOfBirth, .startDate, .endDate: .date
        case .fullName, .details: .text
        case .alertType: .code
        }
    }

    public static let mandatoryFields: [Field] = [.trn, .alertType, .startDate]
    public static func allowedCodes(for field: Field) -> Set<String>? {
        field == .alertType ? Set(AlertTypeCode.allCases.map(\.rawValue)) : nil
    }
    public static let pathParameters: Set<String> = ["trn"]

    public let trn: TRN
    public let alertType: AlertTypeCode
    public let details: String?
    public let startDate: LocalDate
    public let endDate: LocalDate?
    /// The email's sender, as the mail drop recorded it.
    public let sender: String?

    public init(_ row: MappedRow<Field>) throws(RecordRejection) {
        guard let trn = row.trn(.trn), let code = row.code(.alertType), let alertType = AlertTypeCode(rawValue: code),
            let startDate = row.date(.startDate)
        else { throw RecordRejection(field: Field.alertType, message: "TRN, prohibition code and start date are required") }
        self.trn = trn
        self.alertType = alertType
        self.startDate = startDate
        details = row.text(.details)
        endDate = row.date(.endDate)
        sender = row.sender
    }

    public func pathParameter(_ name: String) -> String { trn.digits }

    public var body: JSONValue? {
        .object([
            ("trn", .string(trn.digits)),
            ("alertTypeCode", .string(alertType.rawValue)),
            ("details", JSONValue(details)),
            ("startDate", JSONValue(startDate)),
            ("endDate", JSONValue(endDate)),
            ("sender", JSONValue(sender)),
        ])
    }
}
