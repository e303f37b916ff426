import DQTModel
import Foundation
import LibPQ

/// `PUT /v3/capita/persons/{trn}`: the Capita import. An unknown TRN creates the person (201, a potential duplicate
/// flagged); a known one is filled where empty, never overwritten, and differences come back as warnings (200).
struct CapitaImportPerson: PersonWrite {
    typealias Body = Schemas.CapitaPersonRequest
    static let operationID = "capitaImportPerson"
    static let method = "PUT"
    static let route = WriteRoute("/v3/capita/persons/{trn}")
    static let role = Role.capitaImport

    let trn: String
    let body: Body

    func validate(_ v: inout Validator) {
        _ = v.name("lastName", body.lastName, required: true)
        _ = v.name("firstName", body.firstName, required: false)
        _ = v.name("middleName", body.middleName, required: false)
        _ = v.name("previousLastName", body.previousLastName, required: false)
        let dob = v.date("dateOfBirth", body.dateOfBirth, notFuture: true)
        if let death = v.optionalDate("dateOfDeath", body.dateOfDeath, notFuture: true), let dob, death < dob {
            v.fail("dateOfDeath", "dateOfDeath cannot be before dateOfBirth.")
        }
    }

    func apply(_ request: WriteRequest, in transaction: WriteTransaction) throws -> WriteResult {
        var warnings: [Schemas.Warning] = []
        let first = WriteTransaction.trimmed(body.firstName)
        let middle = WriteTransaction.trimmed(body.middleName)
        let last = WriteTransaction.trimmed(body.lastName) ?? ""
        var nino: String?
        if let given = WriteTransaction.trimmed(body.nationalInsuranceNumber) {
            if let valid = NationalInsuranceNumber(given) {
                nino = valid.normalized
            } else {
                warnings.append(
                    .init(
                        code: "NationalInsuranceNumberInvalid", field: "nationalInsuranceNumber",
                        message: "The NI number is not valid and was ignored."))
            }
        }
        guard let person = try transaction.loadPerson(trn) else {
            guard let dob = LocalDate(iso: body.dateOfBirth), dob >= .earliestNewRecordBirth else {
                throw Problem.invalid(field: "dateOfBirth", "dateOfBirth cannot be before 1940-01-01 for a new person.")
            }
            let duplicate =
                try transaction.connection.query(
                    """
                    SELECT 1 FROM persons WHERE lower(last_name) = lower($1) AND lower(first_name) = lower($2)
                      AND date_of_birth = $3::date AND trn <> $4 AND status = 'Active' LIMIT 1
                    """, [.text(last), .text(first ?? ""), .text(body.dateOfBirth), .text(trn)]
                ).rowCount > 0
            let after = try transaction.connection.query(
                """
                INSERT INTO persons (trn, first_name, middle_name, last_name, date_of_birth, nino, gender, date_of_death)
                VALUES ($1, $2, $3, $4, $5::date, $6, $7, $8::date) RETURNING to_json(persons)::text AS doc
                """,
                [
                    .text(trn), .text(first ?? ""), middle.map { .text($0) }, .text(last), .text(body.dateOfBirth),
                    nino.map { .text($0) }, body.gender.map { .text($0.rawValue) }, body.dateOfDeath.map { .text($0) },
                ]
            ).string(0, "doc")
            if let previous = WriteTransaction.trimmed(body.previousLastName), previous.lowercased() != last.lowercased() {
                try transaction.addPreviousName(trn, first: first ?? "", middle: middle, last: previous)
            }
            try transaction.audit(request, trn: trn, before: nil, after: after)
            let result = Schemas.CapitaImportResult(trn: trn, created: true, potentialDuplicate: duplicate, warnings: warnings)
            return .success(201, try JSONText.encode(result))
        }
        try person.requireActive()
        var changes: [WriteTransaction.ColumnChange] = []
        if let nino {
            if person.nino == nil {
                changes.append(("nino", .text(nino), ""))
            } else if person.nino != nino {
                warnings.append(
                    .init(
                        code: "NationalInsuranceNumberDiffers", field: "nationalInsuranceNumber",
                        message: "The NI number differs from the record's; the record was kept."))
            }
        }
        if let gender = body.gender?.rawValue, let stored = person.gender, stored != gender {
            warnings.append(.init(code: "GenderDiffers", field: "gender", message: "The gender differs from the record's; the record was kept."))
        }
        if last.lowercased() != person.lastName.lowercased() {
            warnings.append(
                .init(code: "LastNameDiffers", field: "lastName", message: "The last name differs from the record's; the record was kept."))
        }
        if let death = body.dateOfDeath, person.dateOfDeath != death {
            changes.append(("date_of_death", .text(death), "::date"))
        }
        try transaction.updatePerson(request, person, changes)
        let result = Schemas.CapitaImportResult(trn: trn, created: false, potentialDuplicate: false, warnings: warnings)
        return .success(200, try JSONText.encode(result))
    }
}

extension APIHandler {
    func capitaImportPerson(_ input: Operations.CapitaImportPerson.Input) async throws -> Operations.CapitaImportPerson.Output {
        guard case .json(let body) = input.body else { throw Problem.invalid(field: "body", "JSON body required.") }
        let result = try await write(
            CapitaImportPerson.self, body, parameters: [input.path.trn],
            idempotencyKey: input.headers.idempotencyKey, source: input.headers.xDQTSource)
        let typed = try decodeBody(Schemas.CapitaImportResult.self, result)
        return result.status == 201 ? .created(.init(body: .json(typed))) : .ok(.init(body: .json(typed)))
    }
}
