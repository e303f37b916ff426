public import DQTModel

/// One case DBS holds about a teacher, as a row of its weekly or monthly reconciliation file: the barring decision's
/// reference (`DBS` and 10 digits), the TRN, the barred list (its lookup gives the alert type, B1 or B2), the status
/// (`Barred` or `Removed`) and the date of that decision.
///
/// Nothing is written from it: its operation is the read of the source's alerts, and its ``expectation`` is the alert
/// the row implies, which the reconciliation compares with the API's.
public struct DBSReconciliationCase: FeedRecord {
    public enum Field: Int, RecordField {
        case reference, trn, barredList, status, statusDate
    }

    public static func kind(of field: Field) -> FieldKind {
        switch field {
        case .reference: .text
        case .trn: .trn
        case .barredList, .status: .code
        case .statusDate: .date
        }
    }

    public static let mandatoryFields: [Field] = [.reference, .trn, .barredList, .status, .statusDate]
    public static let pathParameters: Set<String> = []

    public static func allowedCodes(for field: Field) -> Set<String>? {
        switch field {
        case .barredList: ["B1", "B2"]
        case .status: Set(Status.allCases.map(\.rawValue))
        default: nil
        }
    }

    /// Where the case stands at DBS: on the list since the status date, or taken off it then.
    public enum Status: String, Sendable, CaseIterable {
        case barred = "Barred"
        case removed = "Removed"
    }

    public let reference: String
    public let trn: TRN
    public let alertTypeCode: String
    public let status: Status
    public let statusDate: LocalDate

    public init(_ row: MappedRow<Field>) throws(RecordRejection) {
        guard let reference = row.text(.reference), Self.isReference(reference) else {
            throw RecordRejection(field: Field.reference, code: "constraint-error", message: "a DBS reference is DBS and 10 digits")
        }
        guard let trn = row.trn(.trn), let code = row.code(.barredList), let statusCode = row.code(.status),
            let status = Status(rawValue: statusCode), let statusDate = row.date(.statusDate)
        else { throw RecordRejection(field: Field.status, message: "TRN, barred list, status and status date are required") }
        self.reference = reference
        self.trn = trn
        alertTypeCode = code
        self.status = status
        self.statusDate = statusDate
    }

    /// `DBS` followed by exactly 10 ASCII digits.
    public static func isReference(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.count == 13 && bytes.starts(with: Array("DBS".utf8)) && bytes.dropFirst(3).allSatisfy(ASCII.isDigit)
    }

    public func pathParameter(_ name: String) -> String { "" }
    public var body: JSONValue? { nil }

    /// The alert the row implies, under the names of the API's `SourceAlert` (a barred case: started on the status
    /// date, not ended; a removed one: ended on it) plus the row's `status` and `statusDate`.
    public var expectation: JSONValue? {
        .object([
            ("reference", .string(reference)),
            ("trn", .string(trn.digits)),
            ("alertTypeCode", .string(alertTypeCode)),
            ("status", .string(status.rawValue)),
            ("statusDate", JSONValue(statusDate)),
        ])
    }
}
