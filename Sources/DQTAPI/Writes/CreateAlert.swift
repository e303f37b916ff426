import DQTModel
import Foundation
import LibPQ

/// `POST /v3/alerts`: a prohibition alert for a person. With a `reference`, the alert's natural key is its source
/// (the partner; absent: the API key's name) and that reference: a resent notice changes nothing (200, Unchanged),
/// a corrected one updates the alert it made (200, Updated, audited as `alert.updated`), never a second alert.
/// Without one, each call makes a new alert (201, Created).
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
        v.charset("source", body.source, max: 40, rule: "1-40 of a-z, 0-9, '.', '_' and '-'", Self.isSourceByte)
        v.charset("reference", body.reference, max: 100, rule: "1-100 printable ASCII characters, no space", Validator.isVisibleASCII)
        if body.source != nil && body.reference == nil { v.fail("source", "source is only used with reference.") }
    }

    static func isSourceByte(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2E || byte == 0x5F || byte == 0x2D
    }

    var content: AlertContent {
        AlertContent(
            alertTypeCode: body.alertTypeCode.rawValue, details: body.details.map(PlausibleText.normalized), startDate: body.startDate,
            endDate: body.endDate, sender: body.sender.map(PlausibleText.normalized))
    }

    func apply(_ request: WriteRequest, in transaction: WriteTransaction) throws -> WriteResult {
        _ = try transaction.requirePerson(body.trn)
        guard let reference = body.reference else { return try insert(request, in: transaction, naturalKey: nil) }
        let source = body.source ?? transaction.context.keyName
        // A concurrent call with the same key waits on the unique index, then finds the alert the other one made.
        let existing = try transaction.loadAlert(source: source, reference: reference)
        guard let alert = existing else { return try insert(request, in: transaction, naturalKey: (source, reference)) }
        guard alert.trn == body.trn else { throw Problem.alertReferenceTaken() }
        var wanted = content
        if alert.isEnded {
            // An ended alert keeps its end: the notice resent (without an end or with the same one) changes nothing.
            if wanted.endDate == nil { wanted.endDate = alert.content.endDate }
            guard wanted == alert.content else { throw Problem.alertEnded() }
        }
        let changed = try transaction.updateAlert(request, alert, to: wanted)
        return .success(200, try JSONText.encode(Schemas.CreateAlertResult(alertId: alert.alertID, outcome: changed ? .updated : .unchanged)))
    }

    private func insert(_ request: WriteRequest, in transaction: WriteTransaction, naturalKey: (source: String, reference: String)?) throws
        -> WriteResult
    {
        let id = UUID().uuidString.lowercased()
        let content = content
        let inserted = try transaction.connection.query(
            """
            INSERT INTO alerts (alert_id, trn, alert_type_code, details, start_date, end_date, sender, source, reference)
            VALUES ($1, $2, $3, $4, $5::date, $6::date, $7, $8, $9)
            ON CONFLICT (source, reference) WHERE reference IS NOT NULL DO NOTHING RETURNING to_json(alerts)::text AS doc
            """,
            [
                .text(id), .text(body.trn), .text(content.alertTypeCode), content.details.map { .text($0) }, .text(content.startDate),
                content.endDate.map { .text($0) }, content.sender.map { .text($0) }, naturalKey.map { .text($0.source) },
                naturalKey.map { .text($0.reference) },
            ])
        guard inserted.rowCount == 1 else {
            // Another transaction committed this natural key after the lookup: apply the notice to its alert.
            return try apply(request, in: transaction)
        }
        try transaction.audit(request, trn: body.trn, before: nil, after: inserted.string(0, "doc"))
        return .success(201, try JSONText.encode(Schemas.CreateAlertResult(alertId: id, outcome: .created)))
    }
}

extension APIHandler {
    func createAlert(_ input: Operations.CreateAlert.Input) async throws -> Operations.CreateAlert.Output {
        guard case .json(let body) = input.body else { throw Problem.invalid(field: "body", "JSON body required.") }
        let result = try await write(
            CreateAlert.self, body, parameters: [], idempotencyKey: input.headers.idempotencyKey, source: input.headers.xDQTSource)
        let typed = try decodeBody(Schemas.CreateAlertResult.self, result)
        return result.status == 201 ? .created(.init(body: .json(typed))) : .ok(.init(body: .json(typed)))
    }
}
