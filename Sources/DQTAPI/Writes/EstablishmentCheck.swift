import DQTModel
import LibPQ

/// What the establishments store (GIAS and the TPS establishments file) says about a workforce row's LA code,
/// establishment code and start date.
enum EstablishmentVerdict: String, Sendable {
    /// Found open on the start date (or nothing is loaded yet: no establishments, no judgement).
    case known
    /// The establishment code is in neither source: stored, with the warning `EstablishmentUnknown`.
    case unknownEstablishment
    /// No establishment code, and the LA has no establishment in either source: stored, with `LocalAuthorityUnknown`.
    case unknownLocalAuthority
    /// Every record of the establishment closed before the start date: refused (10106).
    case closed

    /// The warning a stored row answers with, as the contract's `EmploymentResult` (JSON text).
    var warningBody: String? {
        let warning: Schemas.Warning
        switch self {
        case .known, .closed: return nil
        case .unknownEstablishment:
            warning = .init(
                code: "EstablishmentUnknown", field: "establishmentCode",
                message: "No establishment has this LA code and establishment code in GIAS or the TPS establishments file.")
        case .unknownLocalAuthority:
            warning = .init(
                code: "LocalAuthorityUnknown", field: "localAuthorityCode",
                message: "No establishment has this LA code in GIAS or the TPS establishments file.")
        }
        return try? JSONText.encode(Schemas.EmploymentResult(warnings: [warning]))
    }
}

extension WriteTransaction {
    /// One verdict per row, in order, from one statement whatever the number of rows (a batch of workforce rows is
    /// checked at once, as it is upserted). Until the store holds any establishment every row is `known`: before the
    /// first GIAS download every row would otherwise warn, and a warning nobody can act on is noise.
    func establishmentVerdicts(_ rows: [EmploymentRow]) throws -> [EstablishmentVerdict] {
        guard !rows.isEmpty else { return [] }
        let result = try connection.queryPrepared(
            Self.establishmentCheckSQL,
            [
                .textArray(rows.map(\.la)), .textArray(rows.map(\.establishment)),
                .dateArray(rows.map(\.startDate), calendarDate: EmploymentColumns.calendarDate),
            ])
        var verdicts = [EstablishmentVerdict](repeating: .known, count: rows.count)
        for row in 0..<result.rowCount {
            guard let index = result.string(row, "n").flatMap({ Int($0) }), let verdict = result.string(row, "verdict") else { continue }
            verdicts[index - 1] = EstablishmentVerdict(rawValue: verdict) ?? .known
        }
        return verdicts
    }

    /// $1 LA codes, $2 establishment codes (NULL: none), $3 start dates. Only rows that are not `known` come back, by
    /// their 1-based position `n`. An establishment is open on a date when any of its records (GIAS, under any URN,
    /// or the TPS file) has no close date or one on or after that date.
    static let establishmentCheckSQL = """
        SELECT n, verdict FROM (SELECT x.n, CASE
            WHEN x.e IS NULL THEN CASE WHEN EXISTS (SELECT 1 FROM establishments g WHERE g.la_code = x.la)
              OR EXISTS (SELECT 1 FROM tps_establishments t WHERE t.la_code = x.la) THEN 'known' ELSE 'unknownLocalAuthority' END
            ELSE (SELECT CASE WHEN count(*) = 0 THEN 'unknownEstablishment'
                WHEN bool_or(s.closed IS NULL OR s.closed >= x.sd) THEN 'known' ELSE 'closed' END
              FROM (SELECT g.close_date AS closed FROM establishments g WHERE g.la_code = x.la AND g.establishment_number = x.e
                    UNION ALL SELECT t.closed_date FROM tps_establishments t WHERE t.la_code = x.la AND t.establishment_code = x.e) s)
          END AS verdict
        FROM unnest($1::text[], $2::text[], $3::date[]) WITH ORDINALITY AS x(la, e, sd, n)
        WHERE EXISTS (SELECT 1 FROM establishments) OR EXISTS (SELECT 1 FROM tps_establishments)) v
        WHERE verdict <> 'known'
        """
}
