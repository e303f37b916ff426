import DQTModel
import Foundation
import LibPQ

/// `POST /v3/alerts`: a prohibition alert for a person; answers with the new alert's id (201).
struct CreateAlert: SingleWrite {
    typealias Body = Schemas.CreateAlertRequest
    static let operationID = "createAlert"
    static let method = "POST"
    static let route = WriteRoute("/v3/alerts")
    static let role = Role.updateRole

    let body: Body

    init(parameters: [String], body: Body) {
        self.body = body
    }

    func validate(_ v: inout Validator) {
        _ = v.trn("trn", body.trn)
        let start = v.date("startDate", body.startDate)
        let end = v.optionalDate("endDate", body.endDate)
        if let start, let end, end < start { v.fail("endDate", "endDate cannot be before startDate.") }
        _ = v.freeText("details", body.details, max: 4000)
        _ = v.name("sender", body.sender, required: false, max: 100)
    }

    func apply(_ request: WriteRequest, in transaction: WriteTransaction) throws -> WriteResult {
        _ = try transaction.requirePerson(body.trn)
        let id = UUID().uuidString.lowercased()
        let after = try transaction.connection.query(
            """
            INSERT INTO alerts (alert_id, trn, alert_type_code, details, start_date, end_date, sender)
            VALUES ($1, $2, $3, $4, $5::date, $6::date, $7) RETURNING to_json(alerts)::text AS doc
            """,
            [
                .text(id), .text(body.trn), .text(body.alertTypeCode.rawValue), body.details.map { .text(PlausibleText.normalized($0)) },
                .text(body.startDate), body.endDate.map { .text($0) }, body.sender.map { .text(PlausibleText.normalized($0)) },
            ]
        ).string(0, "doc")
        try transaction.audit(request, trn: body.trn, before: nil, after: after)
        return .success(201, try JSONText.encode(Schemas.CreateAlertResult(alertId: id)))
    }
}

extension APIHandler {
    func createAlert(_ input: Operations.CreateAlert.Input) async throws -> Operations.CreateAlert.Output {
        guard case .json(let body) = input.body else { throw Problem.invalid(field: "body", "JSON body required.") }
        let result = try await write(
            CreateAlert.self, body, parameters: [], idempotencyKey: input.headers.idempotencyKey, source: input.headers.xDQTSource)
        return .created(.init(body: .json(try decodeBody(Schemas.CreateAlertResult.self, result))))
    }
}
