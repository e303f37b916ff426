import DQTModel
import Foundation
import LibPQ

/// The connection inside the write transaction, with what the write rules share: the person row locked for the
/// change, column updates audited before and after, previous names.
struct WriteTransaction {
    let connection: PGConnection
    let context: WriteContext

    /// A change of one `persons` column: the column's name (fixed in code), the bound value and its cast.
    typealias ColumnChange = (column: String, value: PGValue?, cast: String)

    static let personSQL = """
        SELECT p.trn, p.status, p.merged_into, p.first_name, p.middle_name, p.last_name, p.date_of_birth, p.nino,
               p.gender, p.date_of_death, p.induction_status, p.induction_start, p.induction_completed,
               p.induction_modified_on, p.qtls_date, p.qtls_status, to_json(p)::text AS doc,
               (SELECT least(min(r.holds_from), p.qtls_date) FROM routes r WHERE r.trn = p.trn AND r.status = 'Holds'
                  AND r.professional_status_type = 'QualifiedTeacherStatus') AS qts_date,
               (SELECT min(r.holds_from) FROM routes r WHERE r.trn = p.trn AND r.status = 'Holds'
                  AND r.professional_status_type = 'EarlyYearsTeacherStatus') AS eyts_date
        FROM persons p WHERE p.trn = $1 FOR UPDATE OF p
        """

    /// The person, locked until the transaction ends; nil when no person has this TRN.
    func loadPerson(_ trn: String) throws -> PersonState? {
        let r = try connection.queryPrepared(Self.personSQL, [.text(trn)])
        guard r.rowCount == 1 else { return nil }
        return PersonState(
            trn: try r.requireString(0, "trn"), status: try r.requireString(0, "status"), mergedInto: r.string(0, "merged_into"),
            firstName: r.string(0, "first_name") ?? "", middleName: r.string(0, "middle_name"),
            lastName: r.string(0, "last_name") ?? "", dateOfBirth: try r.requireString(0, "date_of_birth"),
            nino: r.string(0, "nino"), gender: r.string(0, "gender"), dateOfDeath: r.string(0, "date_of_death"),
            qtsDate: r.string(0, "qts_date"), eytsDate: r.string(0, "eyts_date"),
            inductionStatus: r.string(0, "induction_status") ?? "None", inductionStart: r.string(0, "induction_start"),
            inductionCompleted: r.string(0, "induction_completed"), inductionModifiedOn: r.date(0, "induction_modified_on"),
            qtlsDate: r.string(0, "qtls_date"), qtlsStatus: r.string(0, "qtls_status") ?? "None",
            document: try r.requireString(0, "doc"))
    }

    /// The person, locked, when active: 404, 308 (merged) or 410 (deactivated) otherwise.
    func requirePerson(_ trn: String) throws -> PersonState {
        guard let person = try loadPerson(trn) else { throw Problem.personNotFound() }
        try person.requireActive()
        return person
    }

    func personDocument(_ trn: String) throws -> String? {
        try connection.query("SELECT to_json(p)::text AS doc FROM persons p WHERE trn = $1", [.text(trn)]).string(0, "doc")
    }

    /// Updates columns of a person (names fixed in code, values bound) and audits before/after.
    func updatePerson(_ request: WriteRequest, _ person: PersonState, _ changes: [ColumnChange]) throws {
        guard !changes.isEmpty else { return }
        var sets: [String] = []
        var params: [PGValue?] = [.text(person.trn)]
        for change in changes {
            params.append(change.value)
            sets.append("\(change.column) = $\(params.count)\(change.cast)")
        }
        let after = try connection.query(
            "UPDATE persons SET \(sets.joined(separator: ", ")), updated_at = now() WHERE trn = $1 RETURNING to_json(persons)::text AS doc",
            params
        ).string(0, "doc")
        try audit(request, trn: person.trn, before: person.document, after: after)
    }

    func addPreviousName(_ trn: String, first: String, middle: String?, last: String) throws {
        try connection.query(
            """
            INSERT INTO previous_names (trn, first_name, middle_name, last_name)
            SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM previous_names WHERE trn = $1 AND first_name = $2
              AND middle_name IS NOT DISTINCT FROM $3 AND last_name = $4)
            """, [.text(trn), .text(first), middle.map { .text($0) }, .text(last)])
    }

    /// `text` as stored: without surrounding whitespace, in NFC; nil when nothing is left.
    static func trimmed(_ text: String?) -> String? {
        guard let value = text.map(Validator.trimmed), !value.isEmpty else { return nil }
        return PlausibleText.normalized(value)
    }
}

/// A person row as the write rules need it.
struct PersonState {
    var trn: String
    var status: String
    var mergedInto: String?
    var firstName: String
    var middleName: String?
    var lastName: String
    var dateOfBirth: String
    var nino: String?
    var gender: String?
    var dateOfDeath: String?
    var qtsDate: String?
    var eytsDate: String?
    var inductionStatus: String
    var inductionStart: String?
    var inductionCompleted: String?
    var inductionModifiedOn: Date?
    var qtlsDate: String?
    var qtlsStatus: String
    var document: String

    func requireActive() throws(Problem) {
        switch status {
        case "Active": return
        case "Merged":
            let kept = mergedInto ?? ""
            throw Problem.merged(into: kept, location: "/v3/persons/\(kept)")
        default: throw Problem.deactivated()
        }
    }
}
