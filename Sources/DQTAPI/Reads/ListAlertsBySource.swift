import Foundation
import LibPQ

/// `GET /v3/alerts?source=&after=&limit=` (role GetPerson): a source's alerts by natural key, keyset-paged on the
/// reference. The page is one query over the partial unique index `alerts_natural_key (source, reference)`, so a page
/// costs its own rows whatever the position; the documents are made by PostgreSQL in the contract's shape.
extension APIHandler {
    static let alertsBySourceDefaultLimit = 500

    /// $1 the source, $2 the last reference already given or NULL, $3 the page size plus one (the extra row only says
    /// whether more follow). References compare byte by byte (`COLLATE "C"`, as the column is).
    static let alertsBySourceSQL = """
        SELECT coalesce(json_agg(json_build_object(
                 'alertId', a.alert_id, 'trn', a.trn, 'source', a.source, 'reference', a.reference,
                 'alertTypeCode', a.alert_type_code, 'startDate', a.start_date, 'endDate', a.end_date, 'details', a.details,
                 'updatedOn', to_char(coalesce(a.updated_at, a.created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
               ORDER BY a.reference) FILTER (WHERE a.n <= $3 - 1), '[]'::json)::text AS doc,
               count(*) AS rows
        FROM (SELECT alerts.*, row_number() OVER (ORDER BY reference COLLATE "C") AS n FROM alerts
              WHERE source = $1 AND reference IS NOT NULL AND ($2::text IS NULL OR reference > $2::text COLLATE "C")
              ORDER BY reference COLLATE "C" LIMIT $3) a
        """

    func listAlertsBySource(_ input: Operations.ListAlertsBySource.Input) async throws -> Operations.ListAlertsBySource.Output {
        try principal().require(.getPerson)
        let query = input.query
        guard query.source.utf8.count <= 40, !query.source.isEmpty, query.source.utf8.allSatisfy(Self.isSourceByte) else {
            throw Problem.invalid(field: "source", "source must be 1 to 40 of a-z, 0-9, '.', '_' and '-'.")
        }
        if let after = query.after {
            guard (1...100).contains(after.utf8.count), after.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                throw Problem.invalid(field: "after", "after must be a reference a page gave (1 to 100 printable ASCII characters).")
            }
        }
        let limit = query.limit ?? Self.alertsBySourceDefaultLimit
        guard (1...1000).contains(limit) else { throw Problem.invalid(field: "limit", "limit must be a whole number from 1 to 1000.") }
        let (document, rows) = try await read { connection in
            let result = try connection.queryPrepared(
                Self.alertsBySourceSQL, [.text(query.source), query.after.map { .text($0) }, .int(limit + 1)])
            return (result.string(0, "doc") ?? "[]", result.int(0, "rows") ?? 0)
        }
        let alerts = try JSONText.decoder.decode([Schemas.SourceAlert].self, from: Data(document.utf8))
        return .ok(.init(body: .json(.init(alerts: alerts, nextAfter: alerts.last?.reference, hasMore: rows > limit))))
    }

    private static func isSourceByte(_ byte: UInt8) -> Bool {
        (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) || byte == 0x2E || byte == 0x5F || byte == 0x2D
    }
}
