import DQTModel
import LibPQ

/// `PATCH /v3/alerts/{alertId}`: corrects an alert. Only the fields present change (null or absent: unchanged);
/// the alert's dates stay in order. An ended alert no longer changes (409, 10107); ending is
/// `POST /v3/alerts/{alertId}/end`, and `endDate` here is the notice's scheduled end.
struct UpdateAlert: SingleWrite {
    typealias Body = Schemas.UpdateAlertRequest
    static let operationID = "updateAlert"
    static let method = "PATCH"
    static let route = WriteRoute("/v3/alerts/{alertId}")
    static let role = Role.updateRole

    let alertID: String
    let body: Body

    init(parameters: [String], body: Body) {
        alertID = parameters[0]
        self.body = body
    }

    func validateParameters(_ v: inout Validator) {
        v.validAlertID(alertID)
    }

    func validate(_ v: inout Validator) {
        let start = v.optionalDate("startDate", body.startDate)
        let end = v.optionalDate("endDate", body.endDate)
        if let start, let end, end < start { v.fail("endDate", "endDate cannot be before startDate.") }
        _ = v.freeText("details", body.details, max: 4000)
        if body.alertTypeCode == nil && body.details == nil && body.startDate == nil && body.endDate == nil {
            v.fail("body", "At least one field is required.")
        }
    }

    func apply(_ request: WriteRequest, in transaction: WriteTransaction) throws -> WriteResult {
        let alert = try transaction.requireAlert(alertID)
        guard !alert.isEnded else { throw Problem.alertEnded() }
        var content = alert.content
        if let code = body.alertTypeCode { content.alertTypeCode = code.rawValue }
        if let details = body.details { content.details = PlausibleText.normalized(details) }
        if let start = body.startDate { content.startDate = start }
        if let end = body.endDate { content.endDate = end }
        if let end = content.endDate, end < content.startDate { throw Problem.invalid(field: "endDate", "endDate cannot be before startDate.") }
        try transaction.updateAlert(request, alert, to: content)
        return .success(204)
    }
}

extension Validator {
    /// An alert id as the API makes them (a UUID) or as loaded records carry them: 1-100 of letters, digits and '-'.
    mutating func validAlertID(_ alertID: String) {
        charset("alertId", alertID, max: 100, rule: "1-100 of letters, digits and '-'") { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D
        }
    }
}

extension APIHandler {
    func updateAlert(_ input: Operations.UpdateAlert.Input) async throws -> Operations.UpdateAlert.Output {
        guard case .json(let body) = input.body else { throw Problem.invalid(field: "body", "JSON body required.") }
        _ = try await write(
            UpdateAlert.self, body, parameters: [input.path.alertId],
            idempotencyKey: input.headers.idempotencyKey, source: input.headers.xDQTSource)
        return .noContent(.init())
    }
}
