import LibPQ

/// `PUT /v3/tps-establishments/{laCode}/{establishmentCode}`: an entry of the TPS establishments file (it has no URN),
/// created or replaced whole. Kept beside GIAS's establishments: a workforce row's establishment is known when either
/// has it.
struct UpsertTpsEstablishment: SingleWrite {
    typealias Body = Schemas.TpsEstablishmentRequest
    static let operationID = "upsertTpsEstablishment"
    static let method = "PUT"
    static let route = WriteRoute("/v3/tps-establishments/{laCode}/{establishmentCode}")
    static let role = Role.updateEstablishments

    let laCode: String
    let establishmentCode: String
    let body: Body

    init(parameters: [String], body: Body) {
        laCode = parameters[0]
        establishmentCode = parameters[1]
        self.body = body
    }

    func validateParameters(_ v: inout Validator) {
        v.digits("laCode", laCode, count: 3)
        v.digits("establishmentCode", establishmentCode, count: 4)
    }

    func validate(_ v: inout Validator) {
        _ = v.name("empsName", body.empsName, required: false, max: 200)
        _ = v.name("giasName", body.giasName, required: false, max: 200)
        _ = v.optionalDate("schoolClosedDate", body.schoolClosedDate, notFuture: true)
    }

    func apply(_ request: WriteRequest, in transaction: WriteTransaction) throws -> WriteResult {
        let result = try transaction.connection.queryPrepared(
            Self.upsertSQL,
            [
                .text(laCode), .text(establishmentCode), WriteTransaction.trimmed(body.empsName).map { .text($0) },
                WriteTransaction.trimmed(body.giasName).map { .text($0) }, body.schoolClosedDate.map { .text($0) },
            ])
        try transaction.audit(request, trn: nil, before: result.string(0, "before"), after: result.string(0, "after"))
        return .success(204)
    }

    /// The entry's camelCase document (the contract's `TpsEstablishment`); `t` is a row of `tps_establishments`.
    static let document = """
        json_build_object('laCode', t.la_code, 'establishmentCode', t.establishment_code, 'empsName', t.emps_name,
          'giasName', t.gias_name, 'schoolClosedDate', t.closed_date)
        """

    static let upsertSQL = """
        WITH old AS (SELECT \(document)::text AS doc FROM tps_establishments t WHERE t.la_code = $1 AND t.establishment_code = $2),
        up AS (
          INSERT INTO tps_establishments AS t (la_code, establishment_code, emps_name, gias_name, closed_date, updated_at)
          VALUES ($1, $2, $3, $4, $5::date, now())
          ON CONFLICT (la_code, establishment_code) DO UPDATE SET emps_name = EXCLUDED.emps_name,
            gias_name = EXCLUDED.gias_name, closed_date = EXCLUDED.closed_date, updated_at = now()
          RETURNING \(document)::text AS doc
        )
        SELECT (SELECT doc FROM old) AS before, (SELECT doc FROM up) AS after
        """
}

extension APIHandler {
    func upsertTpsEstablishment(_ input: Operations.UpsertTpsEstablishment.Input) async throws -> Operations.UpsertTpsEstablishment.Output {
        guard case .json(let body) = input.body else { throw Problem.invalid(field: "body", "JSON body required.") }
        _ = try await write(
            UpsertTpsEstablishment.self, body, parameters: [input.path.laCode, input.path.establishmentCode],
            idempotencyKey: input.headers.idempotencyKey, source: input.headers.xDQTSource)
        return .noContent(.init())
    }
}
