import DQTModel
import LibPQ

/// `POST /v3/alerts/{alertId}/end`: ends an alert on `endDate` (not before its start) for `reason`, audited as
/// `alert.ended`. An alert ends once: ending it again is 409 (10107), whatever the date, so a second end never
/// rewrites the first (a replay with the same Idempotency-Key gets the first answer).
struct EndAlert: SingleWrite {
    typealias Body = Schemas.EndAlertRequest
    static let operationID = "endAlert"
    static let method = "POST"
    static let route = WriteRoute("/v3/alerts/{alertId}/end")
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
        _ = v.date("endDate", body.endDate)
        _ = v.name("reason", body.reason, required: true, max: 200)
    }

    func apply(_ request: WriteRequest, in transaction: WriteTransaction) throws -> WriteResult {
        let alert = try transaction.requireAlert(alertID)
        guard !alert.isEnded else { throw Problem.alertEnded() }
        if body.endDate < alert.content.startDate { throw Problem.invalid(field: "endDate", "endDate cannot be before the alert's startDate.") }
        let after = try transaction.connection.query(
            """
            UPDATE alerts SET end_date = $2::date, end_reason = $3, ended_at = now(), updated_at = now()
            WHERE alert_id = $1 RETURNING to_json(alerts)::text AS doc
            """, [.text(alert.alertID), .text(body.endDate), .text(WriteTransaction.trimmed(body.reason) ?? "")]
        ).string(0, "doc")
        try transaction.audit(request, trn: alert.trn, before: alert.document, after: after)
        return .success(204)
    }
}

extension APIHandler {
    func endAlert(_ input: Operations.EndAlert.Input) async throws -> Operations.EndAlert.Output {
        guard case .json(let body) = input.body else { throw Problem.invalid(field: "body", "JSON body required.") }
        _ = try await write(
            EndAlert.self, body, parameters: [input.path.alertId],
            idempotencyKey: input.headers.idempotencyKey, source: input.headers.xDQTSource)
        return .noContent(.init())
    }
}
