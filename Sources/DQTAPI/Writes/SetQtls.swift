import LibPQ

/// `PUT /v3/persons/{trn}/qtls`: sets the QTLS date (which exempts from induction) or removes it (null). Removing
/// it from a person whose induction is Passed, Failed or InProgress is 202: accepted, a manual task raised.
struct SetQtls: PersonWrite {
    typealias Body = Schemas.QtlsRequest
    static let operationID = "setQtls"
    static let method = "PUT"
    static let route = WriteRoute("/v3/persons/{trn}/qtls")
    static let role = Role.assignQtls

    let trn: String
    let body: Body

    func validate(_ v: inout Validator) {
        _ = v.optionalDate("qtsDate", body.qtsDate, notFuture: true)
    }

    func apply(_ request: WriteRequest, in transaction: WriteTransaction) throws -> WriteResult {
        let person = try transaction.requirePerson(trn)
        var status = 200
        let newStatus: String
        var changes: [WriteTransaction.ColumnChange] = []
        if let date = body.qtsDate {
            newStatus = "Active"
            changes.append(("qtls_date", .text(date), "::date"))
            if ["None", "RequiredToComplete"].contains(person.inductionStatus) {
                changes.append(("induction_status", .text("Exempt"), ""))
            }
        } else {
            newStatus = person.qtlsDate == nil && person.qtlsStatus == "None" ? "None" : "Expired"
            changes.append(("qtls_date", nil, "::date"))
            if person.qtlsDate != nil && ["Passed", "Failed", "InProgress"].contains(person.inductionStatus) { status = 202 }
        }
        changes.append(("qtls_status", .text(newStatus), ""))
        try transaction.updatePerson(request, person, changes)
        let result = Schemas.QtlsResult(trn: trn, qtsDate: body.qtsDate, qtlsStatus: .init(rawValue: newStatus)!)
        return .success(status, try JSONText.encode(result))
    }
}

extension APIHandler {
    func setQtls(_ input: Operations.SetQtls.Input) async throws -> Operations.SetQtls.Output {
        guard case .json(let body) = input.body else { throw Problem.invalid(field: "body", "JSON body required.") }
        let result = try await write(
            SetQtls.self, body, parameters: [input.path.trn],
            idempotencyKey: input.headers.idempotencyKey, source: input.headers.xDQTSource)
        let typed = try decodeBody(Schemas.QtlsResult.self, result)
        return result.status == 202 ? .accepted(.init(body: .json(typed))) : .ok(.init(body: .json(typed)))
    }
}
