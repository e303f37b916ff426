import LibPQ

/// `PUT /v3/establishments/{urn}`: a GIAS establishment, created or replaced whole. Its LA code and establishment
/// number are what the workforce rows refer to (``WriteTransaction/establishmentChecks(_:)``).
struct UpsertEstablishment: SingleWrite {
    typealias Body = Schemas.EstablishmentRequest
    static let operationID = "upsertEstablishment"
    static let method = "PUT"
    static let route = WriteRoute("/v3/establishments/{urn}")
    static let role = Role.updateEstablishments

    let urn: String
    let body: Body

    init(parameters: [String], body: Body) {
        urn = parameters[0]
        self.body = body
    }

    /// The text fields with their limits, in the order of the statement's parameters $4...$19.
    var texts: [(field: String, value: String?, max: Int)] {
        [
            ("laName", body.laName, 100), ("typeCode", body.typeCode, 10), ("typeName", body.typeName, 100),
            ("typeGroupCode", body.typeGroupCode, 10), ("typeGroupName", body.typeGroupName, 100),
            ("statusCode", body.statusCode, 10), ("statusName", body.statusName, 100), ("phaseCode", body.phaseCode, 10),
            ("phaseName", body.phaseName, 100), ("street", body.street, 100), ("locality", body.locality, 100),
            ("address3", body.address3, 100), ("town", body.town, 100), ("county", body.county, 100),
            ("postcode", body.postcode, 10),
        ]
    }

    func validateParameters(_ v: inout Validator) {
        v.charset("urn", urn, max: 9, rule: "1 to 9 digits") { $0 >= 0x30 && $0 <= 0x39 }
        if Int(urn) == 0 { v.fail("urn", "urn must be above 0.") }
    }

    func validate(_ v: inout Validator) {
        v.digits("laCode", body.laCode, count: 3)
        v.digits("establishmentNumber", body.establishmentNumber, count: 4)
        _ = v.name("name", body.name, required: true, max: 200)
        for text in texts { _ = v.name(text.field, text.value, required: false, max: text.max) }
        if let pupils = body.numberOfPupils, !(0...100_000).contains(pupils) {
            v.fail("numberOfPupils", "numberOfPupils must be between 0 and 100000.")
        }
        if let fsm = body.percentageFsm, !(0...100).contains(fsm) {
            v.fail("percentageFsm", "percentageFsm must be between 0 and 100.")
        }
        _ = v.optionalDate("closeDate", body.closeDate, notFuture: true)
    }

    func apply(_ request: WriteRequest, in transaction: WriteTransaction) throws -> WriteResult {
        var parameters: [PGValue?] = [
            .text(urn), .text(body.laCode), body.establishmentNumber.map { .text($0) },
        ]
        parameters += texts.map { text in WriteTransaction.trimmed(text.value).map { .text($0) } }
        parameters += [
            .text(WriteTransaction.trimmed(body.name) ?? body.name), body.numberOfPupils.map { .int($0) },
            body.percentageFsm.map { .text(String($0)) }, body.closeDate.map { .text($0) },
        ]
        let result = try transaction.connection.queryPrepared(Self.upsertSQL, parameters)
        try transaction.audit(request, trn: nil, before: result.string(0, "before"), after: result.string(0, "after"))
        return .success(204)
    }

    /// The establishment's camelCase document (the contract's `Establishment`), as the audit and the change feed
    /// keep it; `e` is a row of `establishments`.
    static let document = """
        json_build_object('urn', e.urn, 'laCode', e.la_code, 'laName', e.la_name,
          'establishmentNumber', e.establishment_number, 'name', e.name, 'typeCode', e.type_code, 'typeName', e.type_name,
          'typeGroupCode', e.type_group_code, 'typeGroupName', e.type_group_name, 'statusCode', e.status_code,
          'statusName', e.status_name, 'phaseCode', e.phase_code, 'phaseName', e.phase_name,
          'numberOfPupils', e.number_of_pupils, 'percentageFsm', e.percentage_fsm, 'street', e.street,
          'locality', e.locality, 'address3', e.address3, 'town', e.town, 'county', e.county, 'postcode', e.postcode,
          'closeDate', e.close_date)
        """

    static let upsertSQL = """
        WITH old AS (SELECT \(document)::text AS doc FROM establishments e WHERE e.urn = $1::int),
        up AS (
          INSERT INTO establishments AS e (urn, la_code, establishment_number, la_name, type_code, type_name,
            type_group_code, type_group_name, status_code, status_name, phase_code, phase_name, street, locality,
            address3, town, county, postcode, name, number_of_pupils, percentage_fsm, close_date, updated_at)
          VALUES ($1::int, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20::int,
            $21::numeric, $22::date, now())
          ON CONFLICT (urn) DO UPDATE SET la_code = EXCLUDED.la_code, establishment_number = EXCLUDED.establishment_number,
            la_name = EXCLUDED.la_name, type_code = EXCLUDED.type_code, type_name = EXCLUDED.type_name,
            type_group_code = EXCLUDED.type_group_code, type_group_name = EXCLUDED.type_group_name,
            status_code = EXCLUDED.status_code, status_name = EXCLUDED.status_name, phase_code = EXCLUDED.phase_code,
            phase_name = EXCLUDED.phase_name, street = EXCLUDED.street, locality = EXCLUDED.locality,
            address3 = EXCLUDED.address3, town = EXCLUDED.town, county = EXCLUDED.county, postcode = EXCLUDED.postcode,
            name = EXCLUDED.name, number_of_pupils = EXCLUDED.number_of_pupils, percentage_fsm = EXCLUDED.percentage_fsm,
            close_date = EXCLUDED.close_date, updated_at = now()
          RETURNING \(document)::text AS doc
        )
        SELECT (SELECT doc FROM old) AS before, (SELECT doc FROM up) AS after
        """
}

extension APIHandler {
    func upsertEstablishment(_ input: Operations.UpsertEstablishment.Input) async throws -> Operations.UpsertEstablishment.Output {
        guard case .json(let body) = input.body else { throw Problem.invalid(field: "body", "JSON body required.") }
        _ = try await write(
            UpsertEstablishment.self, body, parameters: [input.path.urn],
            idempotencyKey: input.headers.idempotencyKey, source: input.headers.xDQTSource)
        return .noContent(.init())
    }
}
