import DQTModel
import LibPQ

/// `PUT /v3/persons/{trn}`: replaces a person's personal details, keeping the old name as a previous name; refused
/// once QTS or EYTS is held.
struct UpdatePerson: PersonWrite {
    typealias Body = Schemas.UpdatePersonRequest
    static let operationID = "updatePerson"
    static let method = "PUT"
    static let route = WriteRoute("/v3/persons/{trn}")
    static let role = Role.updatePerson

    let trn: String
    let body: Body

    func validate(_ v: inout Validator) {
        _ = v.name("firstName", body.firstName, required: true)
        _ = v.name("lastName", body.lastName, required: true)
        _ = v.name("middleName", body.middleName, required: false)
        _ = v.date("dateOfBirth", body.dateOfBirth, notFuture: true)
        _ = v.nino("nationalInsuranceNumber", body.nationalInsuranceNumber)
        _ = v.name("emailAddress", body.emailAddress, required: false, max: 200)
    }

    func apply(_ request: WriteRequest, in transaction: WriteTransaction) throws -> WriteResult {
        let person = try transaction.requirePerson(trn)
        if person.qtsDate != nil || person.eytsDate != nil { throw Problem.piiLocked() }
        let first = WriteTransaction.trimmed(body.firstName) ?? ""
        let middle = WriteTransaction.trimmed(body.middleName)
        let last = WriteTransaction.trimmed(body.lastName) ?? ""
        if first != person.firstName || middle != person.middleName || last != person.lastName {
            try transaction.addPreviousName(trn, first: person.firstName, middle: person.middleName, last: person.lastName)
        }
        let nino = body.nationalInsuranceNumber.flatMap { NationalInsuranceNumber($0)?.normalized }
        try transaction.updatePerson(
            request, person,
            [
                ("first_name", .text(first), ""), ("middle_name", middle.map { .text($0) }, ""), ("last_name", .text(last), ""),
                ("date_of_birth", .text(body.dateOfBirth), "::date"),
                ("email", WriteTransaction.trimmed(body.emailAddress).map { .text($0) }, ""),
                ("nino", nino.map { .text($0) }, ""), ("gender", body.gender.map { .text($0.rawValue) }, ""),
            ])
        return .success(204)
    }
}

extension APIHandler {
    func updatePerson(_ input: Operations.UpdatePerson.Input) async throws -> Operations.UpdatePerson.Output {
        guard case .json(let body) = input.body else { throw Problem.invalid(field: "body", "JSON body required.") }
        _ = try await write(
            UpdatePerson.self, body, parameters: [input.path.trn],
            idempotencyKey: input.headers.idempotencyKey, source: input.headers.xDQTSource)
        return .noContent(.init())
    }
}
