import Foundation
import LibPQ

/// The establishment reads: one GIAS establishment by URN, and everything known under an LA code (and establishment
/// number) from GIAS and the TPS establishments file. Documents are made by PostgreSQL in the contract's shape.
extension APIHandler {
    static let establishmentSQL = "SELECT \(UpsertEstablishment.document)::text AS doc FROM establishments e WHERE e.urn = $1::int"

    /// $1 the LA code, $2 the establishment number or NULL for the whole LA.
    static let establishmentsByCodeSQL = """
        SELECT (SELECT coalesce(json_agg(\(UpsertEstablishment.document) ORDER BY e.urn), '[]'::json) FROM establishments e
                WHERE e.la_code = $1 AND ($2::text IS NULL OR e.establishment_number = $2))::text AS gias,
               (SELECT coalesce(json_agg(\(UpsertTpsEstablishment.document) ORDER BY t.establishment_code), '[]'::json)
                FROM tps_establishments t WHERE t.la_code = $1 AND ($2::text IS NULL OR t.establishment_code = $2))::text AS tps
        """

    func getEstablishment(_ input: Operations.GetEstablishment.Input) async throws -> Operations.GetEstablishment.Output {
        try principal().requireAny(.updateEstablishments, .setWorkforceData, .getPerson)
        let urn = input.path.urn
        guard (1...9).contains(urn.utf8.count), urn.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), Int(urn) != 0 else {
            throw Problem.invalid(field: "urn", "urn must be 1 to 9 digits, above 0.")
        }
        let document = try await read { connection in
            try connection.queryPrepared(Self.establishmentSQL, [.text(urn)]).string(0, "doc")
        }
        guard let document else { throw Problem.notFound("The establishment") }
        return .ok(.init(body: .json(try JSONText.decoder.decode(Schemas.Establishment.self, from: Data(document.utf8)))))
    }

    func listEstablishments(_ input: Operations.ListEstablishments.Input) async throws -> Operations.ListEstablishments.Output {
        try principal().requireAny(.updateEstablishments, .setWorkforceData, .getPerson)
        var v = Validator()
        v.digits("laCode", input.query.laCode, count: 3)
        v.digits("establishmentNumber", input.query.establishmentNumber, count: 4)
        try v.check()
        let laCode = input.query.laCode
        let number = input.query.establishmentNumber
        let (gias, tps) = try await read { connection in
            let result = try connection.queryPrepared(Self.establishmentsByCodeSQL, [.text(laCode), number.map { .text($0) }])
            return (result.string(0, "gias") ?? "[]", result.string(0, "tps") ?? "[]")
        }
        let list = Schemas.EstablishmentList(
            establishments: try JSONText.decoder.decode([Schemas.Establishment].self, from: Data(gias.utf8)),
            tpsEstablishments: try JSONText.decoder.decode([Schemas.TpsEstablishment].self, from: Data(tps.utf8)))
        return .ok(.init(body: .json(list)))
    }
}
