import DQTModel
import Foundation

/// `PUT /v3/persons/{trn}/employments/{employmentKey}`: a TPS workforce employment, created or replaced. Applied
/// in bulk with the workforce rows next to it in a batch (``WriteTransaction/applyEmployments(_:)``).
enum UpsertEmployment: WriteOperation {
    typealias Body = Schemas.EmploymentRequest
    static let operationID = "upsertEmployment"
    static let method = "PUT"
    static let route = WriteRoute("/v3/persons/{trn}/employments/{employmentKey}")
    static let role = Role.setWorkforceData

    /// The role, then the row (its key checked against the path and body), then the Idempotency-Key.
    static func prepare(
        _ body: Body, parameters: [String], envelope: WriteEnvelope, principal: Principal
    ) throws(Problem) -> WriteRequest {
        try principal.require(role)
        let row = try row(trn: parameters[0], key: parameters[1], body: body)
        return try request(row, envelope)
    }

    /// The role is checked before the body is read: a batch of workforce rows from a key without the role costs no
    /// decoding.
    static func prepare(
        batchBody: BatchBody, parameters: [String], envelope: WriteEnvelope, principal: Principal
    ) throws(Problem) -> WriteRequest {
        try principal.require(role)
        return try prepare(try batchBody.decode(Body.self), parameters: parameters, envelope: envelope, principal: principal)
    }

    /// Validates a workforce row against its key: `<trn>.<la>.<establishment or NULL>.<start yyyyMMdd>`.
    static func row(trn: String, key: String, body: Body) throws(Problem) -> EmploymentRow {
        var v = Validator()
        _ = v.trn("trn", trn)
        v.digits("localAuthorityCode", body.localAuthorityCode, count: 3)
        if let establishment = body.establishmentCode {
            v.digits("establishmentCode", establishment, count: 4)
        }
        let start = v.date("startDate", body.startDate)
        let end = v.optionalDate("endDate", body.endDate)
        if let start, let end, end < start { v.fail("endDate", "endDate cannot be before startDate.") }
        _ = v.date("extractDate", body.extractDate)
        let nino = v.nino("nationalInsuranceNumber", body.nationalInsuranceNumber, required: true)
        let dob = v.date("dateOfBirth", body.dateOfBirth, notFuture: true)
        if let death = v.optionalDate("dateOfDeath", body.dateOfDeath, notFuture: true), let dob, death < dob {
            v.fail("dateOfDeath", "dateOfDeath cannot be before dateOfBirth.")
        }
        for (field, value) in [("establishmentPostcode", body.establishmentPostcode), ("memberPostcode", body.memberPostcode)] {
            _ = v.name(field, value, required: false, max: 10)
        }
        for (field, value) in [("establishmentEmailAddress", body.establishmentEmailAddress), ("memberEmailAddress", body.memberEmailAddress)] {
            _ = v.name(field, value, required: false, max: 200)
        }
        try v.check()
        let expected = "\(trn).\(body.localAuthorityCode).\(body.establishmentCode ?? "NULL").\(start!.compact)"
        guard key == expected else {
            throw Problem.employmentKeyMismatch(
                "employmentKey must be <trn>.<localAuthorityCode>.<establishmentCode or NULL>.<startDate yyyyMMdd> of this path and body.")
        }
        return EmploymentRow(
            key: key, trn: trn, la: body.localAuthorityCode, establishment: body.establishmentCode,
            establishmentPostcode: body.establishmentPostcode, establishmentEmail: body.establishmentEmailAddress,
            memberPostcode: body.memberPostcode, memberEmail: body.memberEmailAddress, startDate: body.startDate,
            endDate: body.endDate, employmentType: body.employmentType.rawValue, withdrawn: body.withdrawn,
            extractDate: body.extractDate, nino: nino!, dateOfBirth: body.dateOfBirth, dateOfDeath: body.dateOfDeath,
            gender: body.gender.rawValue)
    }

    /// The row's request. Its canonical form for the idempotency hash is the validated row's fields (cheaper than
    /// encoding JSON again, and the same whether the row came directly or in a batch).
    static func request(_ row: EmploymentRow, _ envelope: WriteEnvelope) throws(Problem) -> WriteRequest {
        let key = try WriteRequest.validIdempotencyKey(envelope.idempotencyKey)
        let fields: [String?] = [
            row.key, row.trn, row.la, row.establishment, row.establishmentPostcode, row.establishmentEmail,
            row.memberPostcode, row.memberEmail, row.startDate, row.endDate, row.employmentType, row.withdrawn ? "W" : "-",
            row.extractDate, row.nino, row.dateOfBirth, row.dateOfDeath, row.gender,
        ]
        // `=<value>` or `~` (null) per field, separated by U+001F; written as bytes, the hash's input directly.
        var canonical: [UInt8] = []
        canonical.reserveCapacity(256)
        for (index, field) in fields.enumerated() {
            if index > 0 { canonical.append(0x1F) }
            if let field {
                canonical.append(UInt8(ascii: "="))
                canonical += field.utf8
            } else {
                canonical.append(UInt8(ascii: "~"))
            }
        }
        if canonical.contains(0) {
            throw Problem.invalid(field: "body", "Text fields cannot contain NUL characters.")
        }
        return WriteRequest(
            command: .employment(row), method: method, path: envelope.path, idempotencyKey: key,
            requestHash: WriteRequest.hash(method: method, path: envelope.path, canonicalBody: canonical), source: envelope.source)
    }
}

/// A validated employment row, ready for the bulk upsert. A class: a batch's requests are copied several times
/// between preparation and the bulk statement, and a struct of 17 strings costs 17 retains and releases per copy.
final class EmploymentRow: Sendable {
    let key: String
    let trn: String
    let la: String
    let establishment: String?
    let establishmentPostcode: String?
    let establishmentEmail: String?
    let memberPostcode: String?
    let memberEmail: String?
    let startDate: String
    let endDate: String?
    let employmentType: String
    let withdrawn: Bool
    let extractDate: String
    let nino: String
    let dateOfBirth: String
    let dateOfDeath: String?
    let gender: String

    init(
        key: String, trn: String, la: String, establishment: String?, establishmentPostcode: String?,
        establishmentEmail: String?, memberPostcode: String?, memberEmail: String?, startDate: String, endDate: String?,
        employmentType: String, withdrawn: Bool, extractDate: String, nino: String, dateOfBirth: String,
        dateOfDeath: String?, gender: String
    ) {
        self.key = key
        self.trn = trn
        self.la = la
        self.establishment = establishment
        self.establishmentPostcode = establishmentPostcode
        self.establishmentEmail = establishmentEmail
        self.memberPostcode = memberPostcode
        self.memberEmail = memberEmail
        self.startDate = startDate
        self.endDate = endDate
        self.employmentType = employmentType
        self.withdrawn = withdrawn
        self.extractDate = extractDate
        self.nino = nino
        self.dateOfBirth = dateOfBirth
        self.dateOfDeath = dateOfDeath
        self.gender = gender
    }
}

extension APIHandler {
    func upsertEmployment(_ input: Operations.UpsertEmployment.Input) async throws -> Operations.UpsertEmployment.Output {
        guard case .json(let body) = input.body else { throw Problem.invalid(field: "body", "JSON body required.") }
        let result = try await write(
            UpsertEmployment.self, body, parameters: [input.path.trn, input.path.employmentKey],
            idempotencyKey: input.headers.idempotencyKey, source: input.headers.xDQTSource)
        guard result.status == 200 else { return .noContent(.init()) }
        return .ok(.init(body: .json(try decodeBody(Schemas.EmploymentResult.self, result))))
    }
}
