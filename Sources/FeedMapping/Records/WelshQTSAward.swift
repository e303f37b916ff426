public import DQTModel

/// An EWC Wales QTS award (file `QTS*.csv`, 6- or 30-column layout read by position): a route to QTS that holds
/// from the QTS date.
public struct WelshQTSAward: FeedRecord {
    public enum Field: Int, RecordField {
        case trn, firstName, lastName, dateOfBirth, statusCode, routeType, trainingCountry, qtsDate
        case ittStartMonth, ittStartYear, ittEndDate, ittSubject1, ittSubject2, ittMinimumAge, ittMaximumAge
    }

    public static func kind(of field: Field) -> FieldKind {
        switch field {
        case .trn: .trn
        case .firstName, .lastName, .statusCode, .ittSubject1, .ittSubject2: .text
        case .routeType, .trainingCountry: .code
        case .dateOfBirth, .qtsDate, .ittEndDate: .date
        case .ittStartMonth, .ittStartYear, .ittMinimumAge, .ittMaximumAge: .integer
        }
    }

    public static let mandatoryFields: [Field] = [.trn, .dateOfBirth, .statusCode, .routeType, .qtsDate]
    public static func allowedCodes(for field: Field) -> Set<String>? {
        switch field {
        case .routeType: [RouteType.welshRecognition, RouteType.ecDirective, RouteType.scotlandRecognition, RouteType.northernIrelandRecognition]
        default: nil
        }
    }
    public static let pathParameters: Set<String> = ["trn", "reference"]

    public let trn: TRN
    public let routeType: String
    public let holdsFrom: LocalDate
    public let trainingCountry: String?
    public let trainingStartDate: LocalDate?
    public let trainingEndDate: LocalDate?
    public let subjects: [String]
    public let ageRange: (from: Int, to: Int)?

    public init(_ row: MappedRow<Field>) throws(RecordRejection) {
        guard let trn = row.trn(.trn), let routeType = row.code(.routeType), let qtsDate = row.date(.qtsDate) else {
            throw RecordRejection(field: Field.trn, message: "TRN, QTS status and QTS date are required")
        }
        self.trn = trn
        self.routeType = routeType
        holdsFrom = qtsDate
        trainingCountry = row.code(.trainingCountry)
        trainingEndDate = row.date(.ittEndDate)
        subjects = [row.text(.ittSubject1), row.text(.ittSubject2)].compactMap { $0 }
        if let month = row.integer(.ittStartMonth), let year = row.integer(.ittStartYear) {
            // ITT START YY is two digits: training starts before the QTS award.
            var fullYear = year >= 100 ? year : qtsDate.year - qtsDate.year % 100 + year
            if fullYear > qtsDate.year { fullYear -= 100 }
            guard let start = LocalDate(year: fullYear, month: month, day: 1) else {
                throw RecordRejection(field: Field.ittStartMonth, code: "constraint-error", message: "the ITT start month is not 1 to 12")
            }
            trainingStartDate = start
        } else {
            trainingStartDate = nil
        }
        if let start = trainingStartDate, let end = trainingEndDate, end < start {
            throw RecordRejection(field: Field.ittEndDate, message: "the ITT end date is before its start")
        }
        if let from = row.integer(.ittMinimumAge), let to = row.integer(.ittMaximumAge) {
            guard from <= to else {
                throw RecordRejection(field: Field.ittMaximumAge, message: "the ITT age range ends before it starts")
            }
            ageRange = (from, to)
        } else {
            ageRange = nil
        }
    }

    public func pathParameter(_ name: String) -> String {
        name == "reference" ? "ewc-qts-\(trn.digits)" : trn.digits
    }

    public var body: JSONValue? {
        .object([
            ("routeToProfessionalStatusTypeId", .string(routeType)),
            ("status", .string(RouteStatus.holds.rawValue)),
            ("holdsFrom", JSONValue(holdsFrom)),
            ("trainingStartDate", JSONValue(trainingStartDate)),
            ("trainingEndDate", JSONValue(trainingEndDate)),
            ("trainingSubjectReferences", .array(subjects.map(JSONValue.string))),
            (
                "trainingAgeSpecialism",
                ageRange.map { range in
                    .object([("type", .string(TrainingAgeSpecialismType.range.rawValue)), ("from", .int(range.from)), ("to", .int(range.to))])
                } ?? .null
            ),
            ("trainingCountryReference", JSONValue(trainingCountry)),
            ("trainingProviderUkprn", .null),
            ("degreeTypeId", .null),
            ("isExemptFromInduction", .null),
        ])
    }
}
