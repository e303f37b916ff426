import Foundation
import LibPQ

/// The change feed's reading of the audit: a page of changes after a cursor, oldest first, each as the JSON text of
/// one `Change` of openapi.yaml, made by PostgreSQL.
///
/// Invariant: a client that follows `nextCursor` sees every committed change exactly once, in one order that never
/// changes. Audit ids come from a sequence, so they are taken in the order rows are inserted, not the order their
/// transactions commit: a transaction can hold id 10 while id 11 commits and is read, and a cursor at 11 would then
/// skip 10 for ever. So every audit row records its writing transaction's id (`xid`, the top-level transaction's
/// even inside a savepoint) and the feed is ordered by (xid, id), reading only rows whose xid is below
/// `pg_snapshot_xmin(pg_current_snapshot())`: the oldest transaction still running when the statement's snapshot was
/// taken. Every transaction below it has ended, committed or rolled back, and any transaction that starts later gets
/// a higher id, so no row can ever appear below that bound once the feed has read up to it; the rows of one
/// transaction are read all at once, in id order. The statement reads with the same snapshot, so it sees every
/// committed row below the bound. The price is latency, not loss: a long-running transaction anywhere in the
/// cluster holds the feed back until it ends. The page's end cursor (the last row ready) is read under the same bound
/// in the same statement, so the rows up to it are as fixed as those up to the page's last.
enum ChangeFeedQuery {
    /// Each write endpoint's change kind (and the retention policy's), as SQL over an audit row (`{row}` stands for its alias). An endpoint that writes two kinds of
    /// record tells them apart by the row: a route and the induction status it implies; a new person or a TRN request
    /// left for review; a new person or an update of one.
    static let kindByOperation: [(operation: String, kind: String)] = [
        (CapitaImportPerson.operationID, "CASE WHEN {row}.before IS NULL THEN 'person.created' ELSE 'person.updated' END"),
        (UpdatePerson.operationID, "'person.updated'"),
        (PatchPerson.operationID, "'person.updated'"),
        (SetDeceased.operationID, "'person.updated'"),
        (SetWelshInduction.operationID, "'induction.updated'"),
        (SetCpdInduction.operationID, "'induction.updated'"),
        (SetRouteToProfessionalStatus.operationID, "CASE WHEN {row}.after::jsonb ? 'route_id' THEN 'route.updated' ELSE 'induction.updated' END"),
        (SetQtls.operationID, "'qtls.updated'"),
        (UpsertEmployment.operationID, "'employment.upserted'"),
        (CreateAlert.operationID, "CASE WHEN {row}.before IS NULL THEN 'alert.created' ELSE 'alert.updated' END"),
        (UpdateAlert.operationID, "'alert.updated'"),
        (EndAlert.operationID, "'alert.ended'"),
        (CreateTrnRequest.operationID, "CASE WHEN {row}.trn IS NULL THEN 'trnRequest.created' ELSE 'person.created' END"),
        (UpsertEstablishment.operationID, "'establishment.upserted'"),
        (UpsertTpsEstablishment.operationID, "'establishment.upserted'"),
        // Not an endpoint: `dqt-api retention` clearing contact fields of persons and their employments.
        (ContactRetention.operationID, "CASE WHEN {row}.after::jsonb ? 'employment_key' THEN 'employment.upserted' ELSE 'person.updated' END"),
    ]

    /// The kinds whose documents are rows of `persons`.
    static let personKinds = "('person.created', 'person.updated', 'induction.updated', 'qtls.updated')"

    static func kind(of alias: String) -> String {
        let cases = kindByOperation.map { "WHEN '\($0.operation)' THEN \($0.kind.replacingOccurrences(of: "{row}", with: alias))" }
        return "CASE \(alias).operation \(cases.joined(separator: " ")) END"
    }

    /// Parameters: $1 the cursor's transaction id, $2 its change id, $3 the kinds (NULL: all), $4 the rows to read.
    /// Walks the (xid, id) index from the cursor and stops after $4 rows; the documents are made only for those, after
    /// the limit, by id: the planner cannot tell how many rows the kinds keep and may scan and sort instead of walking
    /// the index, and then it sorts ids, not documents. `end_cursor` is the last change (of the kinds) ready, by the
    /// same bound and snapshot as the page: an uncorrelated subquery, read once per statement, walking the index back
    /// from its end to the first match.
    static let pageSQL = """
        SELECT a.xid::text || '.' || a.id AS cursor, (SELECT e.xid::text || '.' || e.id FROM audit e
            WHERE (e.xid, e.id) > ($1::xid8, $2::bigint) AND e.xid < pg_snapshot_xmin(pg_current_snapshot())
              AND ($3::text[] IS NULL OR \(kind(of: "e")) = ANY ($3::text[]))
            ORDER BY e.xid DESC, e.id DESC LIMIT 1) AS end_cursor, json_build_object(
          'cursor', a.xid::text || '.' || a.id, 'kind', k.kind, 'trn', a.trn, 'keyName', a.key_name, 'operation', a.operation,
          'at', to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
          'before', \(document("before", previousNamesBefore: "<")), 'after', \(document("after", previousNamesBefore: "<=")))::text AS change
        FROM (SELECT s.xid, s.id FROM audit s
            WHERE (s.xid, s.id) > ($1::xid8, $2::bigint) AND s.xid < pg_snapshot_xmin(pg_current_snapshot())
              AND ($3::text[] IS NULL OR \(kind(of: "s")) = ANY ($3::text[]))
            ORDER BY s.xid, s.id LIMIT $4::int) c
          JOIN audit a ON a.id = c.id CROSS JOIN LATERAL (SELECT \(kind(of: "a")) AS kind) k
        ORDER BY c.xid, c.id
        """

    /// The camelCase document of the audit row's `before` or `after` (`column`), by the row's kind. The person's
    /// previous surname is the latest one recorded before the change (`<`) or with it (`<=`): a change and the
    /// previous name it adds are written in one transaction, with one `now()`.
    static func document(_ column: String, previousNamesBefore comparison: String) -> String {
        let source = "a.\(column)"
        return """
            CASE WHEN \(source) IS NULL THEN NULL
            WHEN k.kind IN \(personKinds) THEN (SELECT \(personDocument(previousNames: comparison))
              FROM json_populate_record(NULL::persons, \(source)) p)
            WHEN k.kind IN ('alert.created', 'alert.updated', 'alert.ended') THEN (SELECT \(alertDocument)
              FROM json_populate_record(NULL::alerts, \(source)) r
              CROSS JOIN LATERAL json_populate_record(NULL::persons, \(personAtAlert)) w)
            WHEN k.kind = 'route.updated' THEN (SELECT \(routeDocument) FROM json_populate_record(NULL::routes, \(source)) r)
            WHEN k.kind = 'employment.upserted' THEN (SELECT \(employmentDocument)
              FROM json_populate_record(NULL::employments, \(source)) e)
            WHEN k.kind = 'establishment.upserted' THEN \(source)
            WHEN k.kind = 'trnRequest.created' THEN (SELECT \(trnRequestDocument) FROM (SELECT \(source)::jsonb AS d) t)
            END
            """
    }

    static func personDocument(previousNames comparison: String) -> String {
        """
        json_build_object('trn', p.trn, 'firstName', p.first_name, 'middleName', p.middle_name, 'lastName', p.last_name,
          'previousLastName', (SELECT n.last_name FROM previous_names n WHERE n.trn = p.trn AND n.created_at \(comparison) a.at
                               ORDER BY n.created_at DESC, n.id DESC LIMIT 1),
          'dateOfBirth', p.date_of_birth, 'nationalInsuranceNumber', p.nino, 'gender', p.gender, 'emailAddress', p.email,
          'dateOfDeath', p.date_of_death, 'status', p.status, 'inductionStatus', p.induction_status,
          'inductionStartDate', p.induction_start, 'inductionCompletedDate', p.induction_completed,
          'qtlsStatus', p.qtls_status, 'qtlsDate', p.qtls_date)
        """
    }

    /// The person as they were when the alert was made. Writes to one person hold its row lock until they commit,
    /// so that person's audit ids follow the order the changes happened: their state then is the `after` of their
    /// last change before the alert, else the `before` of their first change after it, else the row as it is (a
    /// person never changed through the API since being loaded).
    static let personAtAlert = """
        coalesce(
          (SELECT h.after FROM audit h WHERE h.trn = r.trn AND h.id < a.id AND \(kind(of: "h")) IN \(personKinds) ORDER BY h.id DESC LIMIT 1),
          (SELECT h.before FROM audit h WHERE h.trn = r.trn AND h.id > a.id AND h.before IS NOT NULL
             AND \(kind(of: "h")) IN \(personKinds) ORDER BY h.id LIMIT 1),
          (SELECT to_json(c) FROM persons c WHERE c.trn = r.trn))
        """

    static let alertDocument = """
        json_build_object('alertId', r.alert_id, 'trn', r.trn, 'alertTypeCode', r.alert_type_code, 'details', r.details,
          'startDate', r.start_date, 'endDate', r.end_date, 'sender', r.sender, 'source', r.source, 'reference', r.reference,
          'endReason', r.end_reason, 'firstName', w.first_name,
          'middleName', w.middle_name, 'lastName', w.last_name, 'dateOfBirth', w.date_of_birth)
        """

    static let routeDocument = """
        json_build_object('routeToProfessionalStatusId', r.route_id, 'trn', r.trn, 'reference', r.reference,
          'routeToProfessionalStatusTypeId', r.route_type_id, 'routeToProfessionalStatusTypeName', r.route_type_name,
          'professionalStatusType', r.professional_status_type, 'status', r.status, 'holdsFrom', r.holds_from,
          'trainingStartDate', r.training_start, 'trainingEndDate', r.training_end,
          'trainingCountryReference', r.detail #>> '{trainingCountry,reference}',
          'trainingProviderUkprn', r.detail #>> '{trainingProvider,ukprn}', 'degreeTypeId', r.detail #>> '{degreeType,degreeTypeId}',
          'isExemptFromInduction', r.detail #> '{inductionExemption,isExempt}')
        """

    static let employmentDocument = """
        json_build_object('employmentKey', e.employment_key, 'trn', e.trn, 'localAuthorityCode', e.local_authority_code,
          'establishmentCode', e.establishment_code, 'establishmentPostcode', e.establishment_postcode,
          'establishmentEmailAddress', e.establishment_email, 'memberPostcode', e.member_postcode,
          'memberEmailAddress', e.member_email, 'startDate', e.start_date, 'endDate', e.end_date,
          'employmentType', e.employment_type, 'withdrawn', e.withdrawn, 'extractDate', e.extract_date,
          'nationalInsuranceNumber', e.nino, 'dateOfBirth', e.date_of_birth, 'dateOfDeath', e.date_of_death, 'gender', e.gender)
        """

    static let trnRequestDocument = """
        json_build_object('requestId', d->'requestId', 'status', d->'status', 'potentialDuplicate', d->'potentialDuplicate',
          'firstName', d #> '{person,firstName}', 'middleName', d #> '{person,middleName}', 'lastName', d #> '{person,lastName}',
          'dateOfBirth', d #> '{person,dateOfBirth}', 'nationalInsuranceNumber', d #> '{person,nationalInsuranceNumber}',
          'gender', d #> '{person,gender}', 'emailAddress', d #> '{person,emailAddresses,0}')
        """

    /// Up to `limit` changes after `cursor`, with the last change ready (nil with them) and whether more are ready;
    /// `kinds` nil for every kind.
    static func page(_ connection: PGConnection, after cursor: ChangeCursor, limit: Int, kinds: [String]?) throws -> (
        changes: [String], last: String?, end: String?, hasMore: Bool
    ) {
        let result = try connection.query(
            pageSQL, [.text(String(cursor.transaction)), .int64(cursor.change), kinds.map { .textArray($0) }, .int(limit + 1)])
        let count = min(result.rowCount, limit)
        var changes: [String] = []
        changes.reserveCapacity(count)
        for row in 0..<count { changes.append(result.string(row, 2) ?? "null") }
        return (changes, count > 0 ? result.string(count - 1, 0) : nil, count > 0 ? result.string(0, 1) : nil, result.rowCount > limit)
    }
}
