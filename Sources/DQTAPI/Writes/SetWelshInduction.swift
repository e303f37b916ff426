import LibPQ

/// `PUT /v3/persons/{trn}/welsh-induction`: the EWC's Wales induction outcome. Needs QTS; refused when the
/// induction is already decided or in progress, or a date is before the QTS date.
struct SetWelshInduction: PersonWrite {
    typealias Body = Schemas.WelshInductionRequest
    static let operationID = "setWelshInduction"
    static let method = "PUT"
    static let route = WriteRoute("/v3/persons/{trn}/welsh-induction")
    static let role = Role.setWelshInduction

    let trn: String
    let body: Body

    func validate(_ v: inout Validator) {
        let start = v.date("startDate", body.startDate, notFuture: true)
        let completed = v.date("completedDate", body.completedDate, notFuture: true)
        if let start, let completed, completed < start {
            v.fail("completedDate", "completedDate cannot be before startDate.")
        }
        _ = v.optionalDate("dateOfBirth", body.dateOfBirth, notFuture: true)
    }

    func apply(_ request: WriteRequest, in transaction: WriteTransaction) throws -> WriteResult {
        let person = try transaction.requirePerson(trn)
        if let dob = body.dateOfBirth, dob != person.dateOfBirth { throw Problem.dateOfBirthMismatch() }
        guard let qts = person.qtsDate else { throw Problem.noQts() }
        if ["Passed", "Failed", "FailedInWales", "InProgress"].contains(person.inductionStatus) {
            throw Problem.inductionStatusConflict(person.inductionStatus)
        }
        if body.startDate < qts { throw Problem.beforeQts("startDate") }
        if body.completedDate < qts { throw Problem.beforeQts("completedDate") }
        try transaction.updatePerson(
            request, person,
            [
                ("induction_status", .text(body.passed ? "Passed" : "FailedInWales"), ""),
                ("induction_start", .text(body.startDate), "::date"), ("induction_completed", .text(body.completedDate), "::date"),
            ])
        return .success(204)
    }
}

extension APIHandler {
    func setWelshInduction(_ input: Operations.SetWelshInduction.Input) async throws -> Operations.SetWelshInduction.Output {
        guard case .json(let body) = input.body else { throw Problem.invalid(field: "body", "JSON body required.") }
        _ = try await write(
            SetWelshInduction.self, body, parameters: [input.path.trn],
            idempotencyKey: input.headers.idempotencyKey, source: input.headers.xDQTSource)
        return .noContent(.init())
    }
}
