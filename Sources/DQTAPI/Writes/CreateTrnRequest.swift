import DQTModel
import Foundation
import LibPQ

/// `POST /v3/trn-requests`: asks for a TRN. A new person gets one at once (Completed); a person who may already
/// have one (same names and date of birth, or NI number) waits for review (Pending). A repeated `requestId` of the
/// same key is 409.
struct CreateTrnRequest: SingleWrite {
    typealias Body = Schemas.TrnRequestRequest
    static let operationID = "createTrnRequest"
    static let method = "POST"
    static let route = WriteRoute("/v3/trn-requests")
    static let role = Role.createTrn

    let body: Body

    init(parameters: [String], body: Body) {
        self.body = body
    }

    func validate(_ v: inout Validator) {
        v.charset("requestId", body.requestId, max: 100, rule: "1-100 of 0-9, a-z, A-Z, _ and -") { ASCIIChar.isIDChar($0) && $0 != 0x2E }
        _ = v.name("person.firstName", body.person.firstName, required: true)
        _ = v.name("person.lastName", body.person.lastName, required: true)
        _ = v.name("person.middleName", body.person.middleName, required: false)
        if let dob = v.date("person.dateOfBirth", body.person.dateOfBirth, notFuture: true), dob < .earliestNewRecordBirth {
            v.fail("person.dateOfBirth", "person.dateOfBirth cannot be before 1940-01-01.")
        }
        _ = v.nino("person.nationalInsuranceNumber", body.person.nationalInsuranceNumber)
    }

    func apply(_ request: WriteRequest, in transaction: WriteTransaction) throws -> WriteResult {
        let connection = transaction.connection
        let keyName = transaction.context.keyName
        let exists = try connection.query(
            "SELECT 1 FROM trn_requests WHERE key_name = $1 AND request_id = $2", [.text(keyName), .text(body.requestId)])
        if exists.rowCount > 0 { throw Problem.trnRequestExists() }
        let p = body.person
        let first = WriteTransaction.trimmed(p.firstName) ?? ""
        let last = WriteTransaction.trimmed(p.lastName) ?? ""
        let nino = p.nationalInsuranceNumber.flatMap { NationalInsuranceNumber($0)?.normalized }
        let duplicate =
            try connection.query(
                """
                SELECT 1 FROM persons WHERE status = 'Active' AND ((lower(last_name) = lower($1) AND lower(first_name) = lower($2)
                  AND date_of_birth = $3::date) OR ($4::text IS NOT NULL AND nino = $4::text)) LIMIT 1
                """, [.text(last), .text(first), .text(p.dateOfBirth), nino.map { .text($0) }]
            ).rowCount > 0
        var trn: String?
        if !duplicate {
            var candidate = ""
            repeat {
                let next = try connection.query("SELECT nextval('trn_seq') AS n").int(0, "n") ?? 0
                candidate = String(format: "%07d", next)
            } while try connection.query("SELECT 1 FROM persons WHERE trn = $1", [.text(candidate)]).rowCount > 0
            let after = try connection.query(
                """
                INSERT INTO persons (trn, first_name, middle_name, last_name, date_of_birth, nino, email, gender)
                VALUES ($1, $2, $3, $4, $5::date, $6, $7, $8) RETURNING to_json(persons)::text AS doc
                """,
                [
                    .text(candidate), .text(first), WriteTransaction.trimmed(p.middleName).map { .text($0) }, .text(last),
                    .text(p.dateOfBirth), nino.map { .text($0) }, p.emailAddresses?.first.map { .text($0) },
                    p.gender.map { .text($0.rawValue) },
                ]
            ).string(0, "doc")
            try transaction.audit(request, trn: candidate, before: nil, after: after)
            trn = candidate
        }
        let result = Schemas.TrnRequestResult(
            requestId: body.requestId, person: p, trn: trn, status: duplicate ? .pending : .completed,
            potentialDuplicate: duplicate)
        let json = try JSONText.encode(result)
        try connection.query(
            """
            INSERT INTO trn_requests (request_id, key_name, trn, status, potential_duplicate, person)
            VALUES ($1, $2, $3, $4, $5::bool, $6::jsonb)
            """,
            [
                .text(body.requestId), .text(keyName), trn.map { .text($0) }, .text(result.status.rawValue),
                .bool(duplicate), .json(try JSONText.encode(p)),
            ])
        if duplicate { try transaction.audit(request, trn: nil, before: nil, after: json) }
        return .success(200, json)
    }
}

extension APIHandler {
    func createTrnRequest(_ input: Operations.CreateTrnRequest.Input) async throws -> Operations.CreateTrnRequest.Output {
        guard case .json(let body) = input.body else { throw Problem.invalid(field: "body", "JSON body required.") }
        let result = try await write(
            CreateTrnRequest.self, body, parameters: [], idempotencyKey: input.headers.idempotencyKey, source: input.headers.xDQTSource)
        return .ok(.init(body: .json(try decodeBody(Schemas.TrnRequestResult.self, result))))
    }
}
