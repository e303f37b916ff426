import DQTModel
import LibPQ

/// Workforce rows in bulk: a batch of a thousand upserts is three statements, not three thousand.
extension WriteTransaction {
    /// Upserts workforce rows with three statements whatever their number: person lookup, one multi-row insert that
    /// claims the idempotency keys, one multi-row upsert that also writes the audit rows. A key already stored (by an
    /// earlier request or a concurrent one) is not claimed: its row is not applied again and replays the stored result.
    func applyEmployments(_ items: [(WriteRequest, EmploymentRow)]) throws -> [WriteResult] {
        let trns = Array(Set(items.map { $0.1.trn }))
        let statuses = try connection.query(
            "SELECT trn, status, merged_into FROM persons WHERE trn = ANY($1::text[])", [.textArray(trns)])
        var byTRN: [String: (String, String?)] = [:]
        for row in statuses.rows { if let trn = row["trn"], let status = row["status"] { byTRN[trn] = (status, row["merged_into"]) } }
        var results = [WriteResult](repeating: .success(204), count: items.count)
        var eligible: [Int] = []
        // Keys whose stored result, if there is one, is the answer: not claimed, or of a row the person checks refused.
        var storedCandidates: [String] = []
        for (offset, (request, row)) in items.enumerated() {
            let problem: Problem
            switch byTRN[row.trn] {
            case nil: problem = .personNotFound()
            case ("Merged", let merged)?: problem = .merged(into: merged ?? "", location: "/v3/persons/\(merged ?? "")")
            case ("Active", _)?:
                eligible.append(offset)
                continue
            default: problem = .deactivated()
            }
            results[offset] = .failure(problem)
            if let key = request.idempotencyKey { storedCandidates.append(key) }
        }
        // The establishment check: a row whose establishment closed before it started is refused like a row of an
        // unknown person; a row with an unknown establishment is stored and answers 200 with its warning.
        var warnings: [Int: String] = [:]
        if !eligible.isEmpty {
            let verdicts = try establishmentVerdicts(eligible.map { items[$0].1 })
            var open: [Int] = []
            for (offset, verdict) in zip(eligible, verdicts) {
                if verdict == .closed {
                    results[offset] = .failure(.establishmentClosed())
                    if let key = items[offset].0.idempotencyKey { storedCandidates.append(key) }
                    continue
                }
                if let body = verdict.warningBody {
                    warnings[offset] = body
                    results[offset] = .success(200, body)
                }
                open.append(offset)
            }
            eligible = open
        }
        if !eligible.isEmpty {
            storedCandidates += try connection.savepoint { connection in
                let keyed = eligible.filter { items[$0].0.idempotencyKey != nil }
                var claimed = Set<String>()
                if !keyed.isEmpty {
                    // A key that a concurrent request holds blocks here until it commits, then is not inserted.
                    claimed = Set(
                        try connection.queryPrepared(
                            """
                            INSERT INTO idempotency_keys (idempotency_key, request_hash, method, path, status, response, key_name)
                            SELECT x.k, x.h, '\(UpsertEmployment.method)', x.p, CASE WHEN x.r IS NULL THEN 204 ELSE 200 END, x.r, $4
                            FROM unnest($1::text[], $2::text[], $3::text[], $5::text[]) AS x(k, h, p, r)
                            ON CONFLICT DO NOTHING RETURNING idempotency_key
                            """,
                            [
                                .textArray(keyed.map { items[$0].0.idempotencyKey }), .textArray(keyed.map { items[$0].0.requestHash }),
                                .textArray(keyed.map { items[$0].0.path }), .text(context.keyName), .textArray(keyed.map { warnings[$0] }),
                            ]
                        ).rows.compactMap { $0["idempotency_key"] })
                }
                var unclaimed: [String] = []
                var columns = EmploymentColumns(capacity: eligible.count)
                for offset in eligible {
                    let (request, row) = items[offset]
                    if let key = request.idempotencyKey, !claimed.contains(key) {
                        unclaimed.append(key)
                        continue
                    }
                    columns.append(request, row)
                }
                if !columns.isEmpty {
                    try connection.queryPrepared(
                        Self.employmentUpsertSQL, columns.parameters + [.text(context.keyName), .text(context.correlationID)])
                }
                return unclaimed
            }
        }
        guard !storedCandidates.isEmpty else { return results }
        let stored = try storedResults(storedCandidates)
        for (offset, (request, _)) in items.enumerated() {
            guard let key = request.idempotencyKey, let (hash, result) = stored[key] else { continue }
            results[offset] = hash == request.requestHash ? result : .failure(.idempotencyConflict())
        }
        return results
    }

    /// The rows' earlier versions (for the audit's `before`) are read by key through the primary key: a join with
    /// `input` was planned as a hash join over the whole table, a third of the statement's time at 500,000 rows.
    static let employmentUpsertSQL = """
        WITH input AS (
          SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
            $8::text[], $9::date[], $10::date[], $11::text[], $12::boolean[], $13::date[], $14::text[], $15::date[],
            $16::date[], $17::text[], $18::text[], $19::text[], $20::text[], $21::text[], $22::int[])
            AS x(k, t, la, e, ep, ee, mp, me, sd, ed, ty, w, xd, ni, db, dd, g, p, ik, sf, ss, sl)
        ),
        old AS (
          SELECT e.employment_key, to_json(e) AS doc FROM employments e WHERE e.employment_key = ANY($1::text[])
        ),
        up AS (
          INSERT INTO employments (employment_key, trn, local_authority_code, establishment_code, establishment_postcode,
            establishment_email, member_postcode, member_email, start_date, end_date, employment_type, withdrawn,
            extract_date, nino, date_of_birth, date_of_death, gender, updated_at)
          SELECT k, t, la, e, ep, ee, mp, me, sd, ed, ty, w, xd, ni, db, dd, g, now() FROM input
          ON CONFLICT (employment_key) DO UPDATE SET local_authority_code = EXCLUDED.local_authority_code,
            establishment_code = EXCLUDED.establishment_code, establishment_postcode = EXCLUDED.establishment_postcode,
            establishment_email = EXCLUDED.establishment_email, member_postcode = EXCLUDED.member_postcode,
            member_email = EXCLUDED.member_email, start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date,
            employment_type = EXCLUDED.employment_type, withdrawn = EXCLUDED.withdrawn,
            extract_date = EXCLUDED.extract_date, nino = EXCLUDED.nino, date_of_birth = EXCLUDED.date_of_birth,
            date_of_death = EXCLUDED.date_of_death, gender = EXCLUDED.gender, updated_at = now()
          RETURNING employment_key, to_json(employments) AS doc
        )
        INSERT INTO audit (key_name, correlation_id, operation, method, path, trn, idempotency_key, source_feed,
                           source_sha256, source_line, before, after)
        SELECT $23, $24, '\(UpsertEmployment.operationID)', '\(UpsertEmployment.method)', i.p, i.t, i.ik, i.sf, i.ss, i.sl, o.doc, u.doc
        FROM input i JOIN up u ON u.employment_key = i.k LEFT JOIN old o ON o.employment_key = i.k
        """
}

/// The bulk upsert's rows as one array per column (read with `unnest`), sent in binary: PostgreSQL reads arrays of
/// plain values in about half the time it takes to read the same rows as JSON objects, and binary arrays without
/// parsing a literal or running each element's input function.
struct EmploymentColumns {
    /// How each of the statement's parameters $1...$22 is cast, in order.
    private enum Column {
        case text, date, withdrawn, line
    }

    private static let layout: [Column] = [
        .text, .text, .text, .text, .text, .text, .text, .text, .date, .date, .text, .withdrawn, .date, .text, .date,
        .date, .text, .text, .text, .text, .text, .line,
    ]

    /// The text and date columns, by position (the other positions stay empty).
    private var strings: [[String?]]
    private var withdrawn: [Bool?] = []
    private var lines: [Int32?] = []

    init(capacity: Int) {
        strings = Self.layout.map { column in
            var values: [String?] = []
            if column == .text || column == .date { values.reserveCapacity(capacity) }
            return values
        }
        withdrawn.reserveCapacity(capacity)
        lines.reserveCapacity(capacity)
    }

    var isEmpty: Bool { withdrawn.isEmpty }

    mutating func append(_ request: WriteRequest, _ row: EmploymentRow) {
        let values: [String?] = [
            row.key, row.trn, row.la, row.establishment, row.establishmentPostcode, row.establishmentEmail,
            row.memberPostcode, row.memberEmail, row.startDate, row.endDate, row.employmentType, nil,
            row.extractDate, row.nino, row.dateOfBirth, row.dateOfDeath, row.gender, request.path, request.idempotencyKey,
            request.source?.feed, request.source?.fileSha256, nil,
        ]
        for (index, column) in Self.layout.enumerated() where column == .text || column == .date {
            strings[index].append(values[index])
        }
        withdrawn.append(row.withdrawn)
        lines.append(request.source?.line.map { Int32($0) })
    }

    /// The year, month and day of a `yyyy-MM-dd` date, for ``PGValue/dateArray(_:calendarDate:)``.
    static func calendarDate(_ text: String) -> (year: Int, month: Int, day: Int)? {
        LocalDate(iso: text).map { ($0.year, $0.month, $0.day) }
    }

    var parameters: [PGValue?] {
        Self.layout.enumerated().map { index, column in
            switch column {
            case .text: .textArray(strings[index])
            case .date: .dateArray(strings[index], calendarDate: Self.calendarDate)
            case .withdrawn: .boolArray(withdrawn)
            case .line: .intArray(lines)
            }
        }
    }
}
