import DQTModel
import LibPQ

/// `PATCH /v3/persons/{trn}`: Capita register changes. Only the fields present change; `previousLastName` adds a
/// previous name.
struct PatchPerson: PersonWrite {
    typealias Body = Schemas.PatchPersonRequest
    static let operationID = "patchPerson"
    static let method = "PATCH"
    static let route = WriteRoute("/v3/persons/{trn}")
    static let role = Role.updatePerson

    let trn: String
    let body: Body

    func validate(_ v: inout Validator) {
        if body.firstName != nil { _ = v.name("firstName", body.firstName, required: true) }
        if body.lastName != nil { _ = v.name("lastName", body.lastName, required: true) }
        _ = v.name("middleName", body.middleName, required: false)
        _ = v.name("previousLastName", body.previousLastName, required: false)
        _ = v.optionalDate("dateOfBirth", body.dateOfBirth, notFuture: true)
        _ = v.nino("nationalInsuranceNumber", body.nationalInsuranceNumber)
        if body.firstName == nil && body.middleName == nil && body.lastName == nil && body.previousLastName == nil
            && body.dateOfBirth == nil && body.nationalInsuranceNumber == nil && body.gender == nil
        {
            v.fail("body", "At least one field is required.")
        }
    }

    func apply(_ request: WriteRequest, in transaction: WriteTransaction) throws -> WriteResult {
        let person = try transaction.requirePerson(trn)
        var changes: [WriteTransaction.ColumnChange] = []
        if let first = WriteTransaction.trimmed(body.firstName), first != person.firstName { changes.append(("first_name", .text(first), "")) }
        if let middle = WriteTransaction.trimmed(body.middleName), middle != person.middleName { changes.append(("middle_name", .text(middle), "")) }
        if let last = WriteTransaction.trimmed(body.lastName), last != person.lastName { changes.append(("last_name", .text(last), "")) }
        if let dob = body.dateOfBirth, dob != person.dateOfBirth { changes.append(("date_of_birth", .text(dob), "::date")) }
        if let given = body.nationalInsuranceNumber, let nino = NationalInsuranceNumber(given)?.normalized, nino != person.nino {
            changes.append(("nino", .text(nino), ""))
        }
        if let gender = body.gender?.rawValue, gender != person.gender { changes.append(("gender", .text(gender), "")) }
        if let previous = WriteTransaction.trimmed(body.previousLastName) {
            try transaction.addPreviousName(
                trn, first: WriteTransaction.trimmed(body.firstName) ?? person.firstName,
                middle: WriteTransaction.trimmed(body.middleName) ?? person.middleName, last: previous)
            if changes.isEmpty {
                try transaction.audit(request, trn: trn, before: person.document, after: try transaction.personDocument(trn))
            }
        }
        try transaction.updatePerson(request, person, changes)
        return .success(204)
    }
}

extension APIHandler {
    func patchPerson(_ input: Operations.PatchPerson.Input) async throws -> Operations.PatchPerson.Output {
        guard case .json(let body) = input.body else { throw Problem.invalid(field: "body", "JSON body required.") }
        _ = try await write(
            PatchPerson.self, body, parameters: [input.path.trn],
            idempotencyKey: input.headers.idempotencyKey, source: input.headers.xDQTSource)
        return .noContent(.init())
    }
}
