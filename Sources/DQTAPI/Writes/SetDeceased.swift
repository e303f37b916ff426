import LibPQ

/// `PUT /v3/persons/deceased/{trn}`: records a person's date of death.
struct SetDeceased: PersonWrite {
    typealias Body = Schemas.DeceasedRequest
    static let operationID = "setDeceased"
    static let method = "PUT"
    static let route = WriteRoute("/v3/persons/deceased/{trn}")
    static let role = Role.updatePerson

    let trn: String
    let body: Body

    func validate(_ v: inout Validator) {
        _ = v.date("dateOfDeath", body.dateOfDeath, notFuture: true)
    }

    func apply(_ request: WriteRequest, in transaction: WriteTransaction) throws -> WriteResult {
        let person = try transaction.requirePerson(trn)
        if body.dateOfDeath < person.dateOfBirth {
            throw Problem.invalid(field: "dateOfDeath", "dateOfDeath cannot be before the person's date of birth.")
        }
        if person.dateOfDeath != body.dateOfDeath {
            try transaction.updatePerson(request, person, [("date_of_death", .text(body.dateOfDeath), "::date")])
        }
        return .success(204)
    }
}

extension APIHandler {
    func setDeceased(_ input: Operations.SetDeceased.Input) async throws -> Operations.SetDeceased.Output {
        guard case .json(let body) = input.body else { throw Problem.invalid(field: "body", "JSON body required.") }
        _ = try await write(
            SetDeceased.self, body, parameters: [input.path.trn],
            idempotencyKey: input.headers.idempotencyKey, source: input.headers.xDQTSource)
        return .noContent(.init())
    }
}
