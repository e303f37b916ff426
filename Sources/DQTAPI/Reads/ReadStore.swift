import Foundation
import LibPQ

/// What a read may include.
public struct Includes: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let induction = Includes(rawValue: 1)
    public static let alerts = Includes(rawValue: 2)
    public static let routes = Includes(rawValue: 4)
    public static let previousNames = Includes(rawValue: 8)
    public static let initialTeacherTraining = Includes(rawValue: 16)
    public static let all: Includes = [.induction, .alerts, .routes, .previousNames, .initialTeacherTraining]

    /// Parses `Induction,Alerts,...` or `All`; unknown names are a 400.
    public static func parse(_ text: String?) throws(Problem) -> Includes {
        guard let text, !text.isEmpty else { return [] }
        var includes: Includes = []
        for part in text.split(separator: ",") {
            switch part.trimmingCharacters(in: .whitespaces).lowercased() {
            case "all": includes.formUnion(.all)
            case "induction": includes.insert(.induction)
            case "alerts": includes.insert(.alerts)
            case "routestoprofessionalstatuses": includes.insert(.routes)
            case "previousnames": includes.insert(.previousNames)
            case "initialteachertraining": includes.insert(.initialTeacherTraining)
            case "": continue
            default:
                throw Problem.invalid(
                    field: "include",
                    "include takes Induction, Alerts, RoutesToProfessionalStatuses, PreviousNames, InitialTeacherTraining or All")
            }
        }
        return includes
    }
}

/// The person read path: one prepared statement builds the whole JSON document in PostgreSQL.
enum ReadStore {
    static let alertTypesSQL: String = {
        let rows = AlertTypes.all.map { type in
            let values = [type.code, type.id, type.name, type.category.id, type.category.name]
            return "(" + values.map { "'\($0.replacingOccurrences(of: "'", with: "''"))'" }.joined(separator: ",") + ")"
        }
        return "(VALUES \(rows.joined(separator: ","))) AS at(code, id, name, category_id, category_name)"
    }()

    static let alertJSON = """
        json_build_object('alertId', a.alert_id,
          'alertType', json_build_object('alertTypeId', at.id, 'name', at.name,
            'alertCategory', json_build_object('alertCategoryId', at.category_id, 'name', at.category_name)),
          'details', a.details, 'startDate', a.start_date, 'endDate', a.end_date)
        """

    static let routeJSON = """
        json_build_object('routeToProfessionalStatusId', r.route_id,
          'routeToProfessionalStatusType', json_build_object('routeToProfessionalStatusTypeId', r.route_type_id,
             'name', r.route_type_name, 'professionalStatusType', r.professional_status_type),
          'status', r.status, 'holdsFrom', r.holds_from, 'trainingStartDate', r.training_start,
          'trainingEndDate', r.training_end,
          'trainingSubjects', coalesce(r.detail->'trainingSubjects', '[]'::jsonb),
          'trainingAgeSpecialism', r.detail->'trainingAgeSpecialism',
          'trainingCountry', r.detail->'trainingCountry',
          'trainingProvider', r.detail->'trainingProvider',
          'degreeType', r.detail->'degreeType',
          'inductionExemption', r.detail->'inductionExemption')
        """

    static func statusSummary(_ type: String, qtls: Bool) -> String {
        let least = qtls ? "least(min(r.holds_from), p.qtls_date)" : "min(r.holds_from)"
        let empty = qtls ? "count(r.route_id) = 0 AND p.qtls_date IS NULL" : "count(r.route_id) = 0"
        return """
            (SELECT CASE WHEN \(empty) THEN NULL ELSE json_build_object('holdsFrom', \(least),
               'routes', coalesce(json_agg(json_build_object('routeToProfessionalStatusType',
                   json_build_object('routeToProfessionalStatusTypeId', r.route_type_id, 'name', r.route_type_name,
                                     'professionalStatusType', r.professional_status_type)) ORDER BY r.holds_from)
                 FILTER (WHERE r.route_id IS NOT NULL), '[]'::json)) END
             FROM routes r WHERE r.trn = p.trn AND r.status = 'Holds' AND r.professional_status_type = '\(type)')
            """
    }

    /// The person statement for one choice of includes, with or without an NI number check ($1 trn, $2 NI number).
    /// The choices are part of the text, not parameters: with them as parameters PostgreSQL kept planning the
    /// statement on every call (a custom plan folds away the parts not included, so it never settled on the generic
    /// plan), which cost more than running it. One text per choice is planned once per connection.
    static func personSQL(_ includes: Includes, checkNino: Bool) -> String {
        personSQLs[includes.rawValue & Includes.all.rawValue][checkNino ? 1 : 0]
    }

    private static let personSQLs: [[String]] = (0...Includes.all.rawValue).map { bits in
        [false, true].map { makePersonSQL(Includes(rawValue: bits), checkNino: $0) }
    }

    private static let inductionPart = """
        json_build_object('status', p.induction_status, 'startDate', p.induction_start,
          'completedDate', p.induction_completed, 'exemptionReasons', p.induction_exemption_reasons)
        """
    private static let routesPart = """
        (SELECT coalesce(json_agg(\(routeJSON) ORDER BY r.training_start NULLS LAST, r.route_id), '[]'::json)
         FROM routes r WHERE r.trn = p.trn)
        """
    private static let alertsPart = """
        (SELECT coalesce(json_agg(\(alertJSON) ORDER BY a.start_date, a.alert_id), '[]'::json)
         FROM alerts a JOIN \(alertTypesSQL) ON at.code = a.alert_type_code WHERE a.trn = p.trn)
        """
    private static let previousNamesPart = """
        (SELECT coalesce(json_agg(json_build_object('firstName', n.first_name, 'middleName', n.middle_name,
           'lastName', n.last_name) ORDER BY n.id), '[]'::json) FROM previous_names n WHERE n.trn = p.trn)
        """
    private static let ninoCheck = "(p.nino = $2::text OR EXISTS (SELECT 1 FROM employments e WHERE e.trn = p.trn AND e.nino = $2::text))"

    private static func makePersonSQL(_ includes: Includes, checkNino: Bool) -> String {
        func part(_ include: Includes, _ sql: String) -> String { includes.contains(include) ? sql : "NULL" }
        return """
            SELECT p.status, p.merged_into, p.date_of_birth::text AS dob, \(checkNino ? ninoCheck : "true") AS nino_ok,
              json_strip_nulls(json_build_object(
                'trn', p.trn, 'firstName', p.first_name, 'middleName', p.middle_name, 'lastName', p.last_name,
                'dateOfBirth', p.date_of_birth, 'nationalInsuranceNumber', p.nino, 'emailAddress', p.email,
                'gender', p.gender, 'dateOfDeath', p.date_of_death,
                'qts', \(statusSummary("QualifiedTeacherStatus", qtls: true)),
                'eyts', \(statusSummary("EarlyYearsTeacherStatus", qtls: false)),
                'qtlsStatus', p.qtls_status,
                'induction', \(part(.induction, inductionPart)),
                'routesToProfessionalStatuses', \(part(.routes, routesPart)),
                'alerts', \(part(.alerts, alertsPart)),
                'previousNames', \(part(.previousNames, previousNamesPart)),
                'initialTeacherTraining', \(part(.initialTeacherTraining, "p.itt"))
              ))::text AS doc
            FROM persons p WHERE p.trn = $1
            """
    }

    struct PersonRow: Sendable {
        var status: String
        var mergedInto: String?
        var ninoMatches: Bool
        var document: String
        var dateOfBirth: String? = nil
    }

    static func person(_ connection: PGConnection, trn: String, includes: Includes, nino: String? = nil) throws -> PersonRow? {
        let result = try connection.queryPrepared(
            personSQL(includes, checkNino: nino != nil), nino.map { [.text(trn), .text($0)] } ?? [.text(trn)])
        guard result.rowCount == 1 else { return nil }
        return PersonRow(
            status: try result.requireString(0, "status"), mergedInto: result.string(0, "merged_into"),
            ninoMatches: result.bool(0, "nino_ok") ?? false, document: try result.requireString(0, "doc"),
            dateOfBirth: result.string(0, "dob"))
    }

    /// Throws 404/410/308 for a row that is missing, deactivated or merged.
    static func requireActive(_ row: PersonRow?, locationPrefix: String = "/v3/persons/") throws(Problem) -> PersonRow {
        guard let row else { throw Problem.personNotFound() }
        switch row.status {
        case "Active": return row
        case "Merged":
            let kept = row.mergedInto ?? ""
            throw Problem.merged(into: kept, location: locationPrefix + kept)
        default: throw Problem.deactivated()
        }
    }

    static let employmentsSQL = """
        SELECT coalesce(json_agg(json_build_object('employmentKey', e.employment_key, 'trn', e.trn,
          'localAuthorityCode', e.local_authority_code, 'establishmentCode', e.establishment_code,
          'establishmentPostcode', e.establishment_postcode, 'establishmentEmailAddress', e.establishment_email,
          'memberPostcode', e.member_postcode, 'memberEmailAddress', e.member_email, 'startDate', e.start_date,
          'endDate', e.end_date, 'employmentType', e.employment_type, 'withdrawn', e.withdrawn,
          'extractDate', e.extract_date, 'nationalInsuranceNumber', e.nino, 'dateOfBirth', e.date_of_birth,
          'dateOfDeath', e.date_of_death, 'gender', e.gender) ORDER BY e.start_date, e.employment_key), '[]'::json)::text AS doc
        FROM employments e WHERE e.trn = $1
        """

    static let alertsSQL = """
        SELECT coalesce(json_agg(\(alertJSON) ORDER BY a.start_date, a.alert_id), '[]'::json)::text AS doc
        FROM alerts a JOIN \(alertTypesSQL) ON at.code = a.alert_type_code WHERE a.trn = $1
        """

    static let statusSQL = "SELECT status, merged_into FROM persons WHERE trn = $1"

    static func status(_ connection: PGConnection, trn: String) throws -> PersonRow? {
        let result = try connection.queryPrepared(statusSQL, [.text(trn)])
        guard result.rowCount == 1 else { return nil }
        return PersonRow(
            status: try result.requireString(0, "status"), mergedInto: result.string(0, "merged_into"), ninoMatches: true,
            document: "")
    }
}

/// Alert types: T1-T5, teaching prohibitions; B1-B2, barring by the Disclosure and Barring Service (its notices).
public enum AlertTypes {
    public struct AlertType: Sendable {
        public let code: String
        public let id: String
        public let name: String
        public let category: Category
    }
    public struct Category: Sendable {
        public let id: String
        public let name: String
    }
    public static let prohibition = Category(id: "790410c1-b884-4cdd-8db9-64a042ab54ae", name: "Teaching prohibition")
    public static let barring = Category(id: "0c3a9a44-6b1e-4f5e-9d0a-3b9b8f0e2d61", name: "Barring by the Disclosure and Barring Service")
    public static let all: [AlertType] = [
        AlertType(
            code: "T1", id: "ed0cd700-3fb2-4db0-9403-ba57126090ed", name: "Prohibition by the Secretary of State - misconduct", category: prohibition),
        AlertType(
            code: "T2", id: "8ef92c14-4b1f-4530-9189-779ad9f3cefd", name: "Interim prohibition by the Secretary of State", category: prohibition),
        AlertType(
            code: "T3", id: "50508749-7a6b-4175-8538-9a1e55692efd", name: "Prohibition by the General Teaching Council for Scotland (deregistered)",
            category: prohibition),
        AlertType(
            code: "T4", id: "a6fc9f2e-8923-4163-978e-93bd901d146f", name: "Referral to the Education Workforce Council, Wales", category: prohibition),
        AlertType(
            code: "T5", id: "fcff87d6-88f5-4fc5-ac81-5350b4fdd9e1", name: "Referral to the General Teaching Council for Northern Ireland",
            category: prohibition),
        AlertType(code: "B1", id: "5d1e8f3a-2c47-4b9e-a6d0-7f3b2e9c1a84", name: "Included in the DBS children's barred list", category: barring),
        AlertType(code: "B2", id: "9a7c4e21-d3b5-4f86-8e1a-6c2f0b4d7e93", name: "Included in the DBS adults' barred list", category: barring),
    ]
}

/// Route types this service knows.
public enum RouteTypes {
    public struct RouteType: Sendable {
        public let id: String
        public let name: String
        public let professionalStatusType: String
    }
    public static let all: [RouteType] = [
        RouteType(id: "877ba701-fe26-4951-9f15-171f3755d50d", name: "Welsh Recognition", professionalStatusType: "QualifiedTeacherStatus"),
        RouteType(id: "f4da123b-5c37-4060-ab00-52de4bd3599e", name: "EC directive", professionalStatusType: "QualifiedTeacherStatus"),
        RouteType(id: "52835b1f-1f2e-4665-abc6-7fb1ef0a80bb", name: "Scotland R", professionalStatusType: "QualifiedTeacherStatus"),
        RouteType(id: "3604ef30-8f11-4494-8b52-a2f9c5371e03", name: "NI R", professionalStatusType: "QualifiedTeacherStatus"),
        RouteType(id: "6987240e-966e-485f-b300-23b54937fb3a", name: "Core", professionalStatusType: "QualifiedTeacherStatus"),
        RouteType(
            id: "7f09002c-5dad-4839-9693-5e030d037ae9", name: "Early Years ITT Graduate Entry", professionalStatusType: "EarlyYearsTeacherStatus"),
    ]
    public static func find(_ id: String) -> RouteType? { all.first { $0.id == id.lowercased() } }
}
