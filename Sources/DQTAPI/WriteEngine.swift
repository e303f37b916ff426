import DQTModel
import Foundation
import LibPQ
import Logging

/// The outcome of one write, as the direct endpoint or the batch reports it.
public struct WriteResult: Sendable, Equatable {
    public var status: Int
    /// JSON text of the success body, when the endpoint has one.
    public var body: String?
    public var problem: Problem?
    public var location: String?
    public var replayed: Bool

    static func success(_ status: Int, _ body: String? = nil) -> WriteResult {
        WriteResult(status: status, body: body, problem: nil, location: nil, replayed: false)
    }

    static func failure(_ problem: Problem) -> WriteResult {
        WriteResult(status: problem.status, body: nil, problem: problem, location: problem.headers["Location"], replayed: false)
    }
}

/// Who is writing, for the audit.
struct WriteContext: Sendable {
    var keyName: String
    var correlationID: String
}

/// Applies writes in order inside one transaction: each operation under its own savepoint (one failure undoes only
/// itself), consecutive workforce upserts as one multi-row statement. Idempotency records and audit rows are
/// written in the same transaction as the change they describe.
public final class WriteEngine: Sendable {
    let pool: PGPool
    let logger: Logger

    init(pool: PGPool, logger: Logger) {
        self.pool = pool
        self.logger = logger
    }

    func run(_ prepared: [Result<WriteRequest, Problem>], context: WriteContext) async -> [WriteResult] {
        do {
            return try await pool.withConnection { [logger] connection in
                try connection.transaction { connection in
                    var session = WriteSession(connection: connection, context: context, logger: logger)
                    return try session.run(prepared)
                }
            }
        } catch {
            let problem: Problem
            if let pgError = error as? PGError, pgError.kind == .connection {
                problem = .databaseUnavailable()
            } else {
                problem = .internalError()
            }
            logger.error("write transaction failed", metadata: ["error": "\(error)", "correlationId": "\(context.correlationID)"])
            return prepared.map { _ in .failure(problem) }
        }
    }
}

/// A person row as the write rules need it.
struct PersonState {
    var trn: String
    var status: String
    var mergedInto: String?
    var firstName: String
    var middleName: String?
    var lastName: String
    var dateOfBirth: String
    var nino: String?
    var gender: String?
    var dateOfDeath: String?
    var qtsDate: String?
    var eytsDate: String?
    var inductionStatus: String
    var inductionStart: String?
    var inductionCompleted: String?
    var inductionModifiedOn: Date?
    var qtlsDate: String?
    var qtlsStatus: String
    var document: String

    func requireActive() throws(Problem) {
        switch status {
        case "Active": return
        case "Merged":
            let kept = mergedInto ?? ""
            throw Problem.merged(into: kept, location: "/v3/persons/\(kept)")
        default: throw Problem.deactivated()
        }
    }
}

private struct Replay: Error {}

struct WriteSession {
    let connection: PGConnection
    let context: WriteContext
    let logger: Logger
    /// Idempotency records known in this batch: key -> (hash, result).
    var known: [String: (hash: String, result: WriteResult)] = [:]

    init(connection: PGConnection, context: WriteContext, logger: Logger) {
        self.connection = connection
        self.context = context
        self.logger = logger
    }

    mutating func run(_ prepared: [Result<WriteRequest, Problem>]) throws -> [WriteResult] {
        // Workforce upserts claim their keys in the bulk insert itself, where a stored key comes back as a replay,
        // so only the other writes' keys are looked up first.
        let keys = prepared.compactMap { result -> String? in
            guard case .success(let request) = result, !request.command.isEmployment else { return nil }
            return request.idempotencyKey
        }
        if !keys.isEmpty { try loadIdempotency(keys) }
        var results = [WriteResult?](repeating: nil, count: prepared.count)
        var index = 0
        while index < prepared.count {
            let request: WriteRequest
            switch prepared[index] {
            case .failure(let problem):
                results[index] = .failure(problem)
                index += 1
                continue
            case .success(let value): request = value
            }
            if let replay = replayed(request) {
                results[index] = replay
                index += 1
                continue
            }
            if case .employment = request.command {
                // Gather consecutive workforce upserts: distinct employment and idempotency keys, none replayed.
                var run: [(Int, WriteRequest, EmploymentRow)] = []
                var employmentKeys = Set<String>()
                var idempotencyKeys = Set<String>()
                var cursor = index
                while cursor < prepared.count, case .success(let candidate) = prepared[cursor],
                    case .employment(let row) = candidate.command, !employmentKeys.contains(row.key),
                    candidate.idempotencyKey.map({ !idempotencyKeys.contains($0) && known[$0] == nil }) ?? true
                {
                    employmentKeys.insert(row.key)
                    if let key = candidate.idempotencyKey { idempotencyKeys.insert(key) }
                    run.append((cursor, candidate, row))
                    cursor += 1
                }
                if run.isEmpty {  // cannot happen: the first one qualifies
                    results[index] = .failure(.internalError())
                    index += 1
                    continue
                }
                var outcomes: [WriteResult]
                do {
                    outcomes = try applyEmployments(run.map { ($0.1, $0.2) })
                } catch let error as PGError where error.kind == .query {
                    // One row upset the multi-row statement: apply them one by one so only it fails.
                    logger.warning("bulk workforce upsert failed, retrying row by row", metadata: ["sqlState": "\(error.sqlState ?? "-")"])
                    outcomes = run.map { item in
                        do { return try applyEmployments([(item.1, item.2)])[0] } catch { return .failure(.internalError()) }
                    }
                }
                for (offset, item) in run.enumerated() {
                    results[item.0] = outcomes[offset]
                    if outcomes[offset].problem == nil, let key = item.1.idempotencyKey {
                        known[key] = (item.1.requestHash, WriteResult(status: 204, body: nil, problem: nil, location: nil, replayed: true))
                    }
                }
                index = cursor
                continue
            }
            results[index] = try applyOne(request)
            index += 1
        }
        return results.map { $0 ?? .failure(.internalError()) }
    }

    // MARK: Idempotency

    mutating func loadIdempotency(_ keys: [String]) throws {
        let result = try connection.query(
            "SELECT idempotency_key, request_hash, status, response FROM idempotency_keys WHERE idempotency_key = ANY($1::text[])",
            [.textArray(keys)])
        for row in result.rows {
            guard let key = row["idempotency_key"], let hash = row["request_hash"], let status = row.int("status") else { continue }
            known[key] = (hash, WriteResult(status: status, body: row["response"], problem: nil, location: nil, replayed: true))
        }
    }

    func replayed(_ request: WriteRequest) -> WriteResult? {
        guard let key = request.idempotencyKey, let stored = known[key] else { return nil }
        guard stored.hash == request.requestHash else { return .failure(.idempotencyConflict()) }
        return stored.result
    }

    mutating func applyOne(_ request: WriteRequest) throws -> WriteResult {
        // A unique violation means a concurrent request created the same record (or TRN request) first: applying
        // again sees it (an update, a 409, or the stored idempotent result) instead of failing with a 500.
        for attempt in 0..<3 {
            do {
                return try applyOnce(request)
            } catch let error as PGError where error.isUniqueViolation && attempt < 2 {
                continue
            } catch let error as PGError where error.kind == .query {
                logger.error(
                    "write failed", metadata: ["operation": "\(request.command.operationName)", "sqlState": "\(error.sqlState ?? "-")",
                                               "correlationId": "\(context.correlationID)"])
                return .failure(.internalError())
            }
        }
        return .failure(.internalError())
    }

    private mutating func applyOnce(_ request: WriteRequest) throws -> WriteResult {
        do {
            let result = try connection.savepoint { connection -> WriteResult in
                let result = try apply(request)
                if let key = request.idempotencyKey {
                    let inserted = try connection.execute(
                        """
                        INSERT INTO idempotency_keys (idempotency_key, request_hash, method, path, status, response, key_name)
                        VALUES ($1, $2, $3, $4, $5::int, $6, $7) ON CONFLICT DO NOTHING
                        """,
                        [.text(key), .text(request.requestHash), .text(request.method), .text(request.path),
                         .int(result.status), result.body.map { .text($0) }, .text(context.keyName)])
                    if inserted == 0 { throw Replay() }  // a concurrent request stored it first: undo ours
                }
                return result
            }
            if let key = request.idempotencyKey {
                known[key] = (request.requestHash, WriteResult(status: result.status, body: result.body, problem: nil, location: nil, replayed: true))
            }
            return result
        } catch let problem as Problem {
            return .failure(problem)
        } catch is Replay {
            try loadIdempotency([request.idempotencyKey!])
            return replayed(request) ?? .failure(.internalError())
        }
    }

    // MARK: Shared pieces

    static let personSQL = """
        SELECT p.trn, p.status, p.merged_into, p.first_name, p.middle_name, p.last_name, p.date_of_birth, p.nino,
               p.gender, p.date_of_death, p.induction_status, p.induction_start, p.induction_completed,
               p.induction_modified_on, p.qtls_date, p.qtls_status, to_json(p)::text AS doc,
               (SELECT least(min(r.holds_from), p.qtls_date) FROM routes r WHERE r.trn = p.trn AND r.status = 'Holds'
                  AND r.professional_status_type = 'QualifiedTeacherStatus') AS qts_date,
               (SELECT min(r.holds_from) FROM routes r WHERE r.trn = p.trn AND r.status = 'Holds'
                  AND r.professional_status_type = 'EarlyYearsTeacherStatus') AS eyts_date
        FROM persons p WHERE p.trn = $1 FOR UPDATE OF p
        """

    func loadPerson(_ trn: String) throws -> PersonState? {
        let r = try connection.queryPrepared(Self.personSQL, [.text(trn)])
        guard r.rowCount == 1 else { return nil }
        return PersonState(
            trn: try r.requireString(0, "trn"), status: try r.requireString(0, "status"), mergedInto: r.string(0, "merged_into"),
            firstName: r.string(0, "first_name") ?? "", middleName: r.string(0, "middle_name"),
            lastName: r.string(0, "last_name") ?? "", dateOfBirth: try r.requireString(0, "date_of_birth"),
            nino: r.string(0, "nino"), gender: r.string(0, "gender"), dateOfDeath: r.string(0, "date_of_death"),
            qtsDate: r.string(0, "qts_date"), eytsDate: r.string(0, "eyts_date"),
            inductionStatus: r.string(0, "induction_status") ?? "None", inductionStart: r.string(0, "induction_start"),
            inductionCompleted: r.string(0, "induction_completed"), inductionModifiedOn: r.date(0, "induction_modified_on"),
            qtlsDate: r.string(0, "qtls_date"), qtlsStatus: r.string(0, "qtls_status") ?? "None",
            document: try r.requireString(0, "doc"))
    }

    func requirePerson(_ trn: String) throws -> PersonState {
        guard let person = try loadPerson(trn) else { throw Problem.personNotFound() }
        try person.requireActive()
        return person
    }

    func personDocument(_ trn: String) throws -> String? {
        try connection.query("SELECT to_json(p)::text AS doc FROM persons p WHERE trn = $1", [.text(trn)]).string(0, "doc")
    }

    func audit(_ request: WriteRequest, trn: String?, before: String?, after: String?) throws {
        try connection.queryPrepared(
            """
            INSERT INTO audit (key_name, correlation_id, operation, method, path, trn, idempotency_key, source_feed,
                               source_sha256, source_line, before, after)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::int, $11::json, $12::json)
            """,
            [.text(context.keyName), .text(context.correlationID), .text(request.command.operationName),
             .text(request.method), .text(request.path), trn.map { .text($0) }, request.idempotencyKey.map { .text($0) },
             request.source?.feed.map { .text($0) }, request.source?.fileSha256.map { .text($0) },
             request.source?.line.map { .int($0) }, before.map { .json($0) }, after.map { .json($0) }])
    }

    /// Updates columns of a person (names fixed in code, values bound) and audits before/after.
    func updatePerson(_ request: WriteRequest, _ person: PersonState, _ changes: [(column: String, value: PGValue?, cast: String)]) throws {
        guard !changes.isEmpty else { return }
        var sets: [String] = []
        var params: [PGValue?] = [.text(person.trn)]
        for change in changes {
            params.append(change.value)
            sets.append("\(change.column) = $\(params.count)\(change.cast)")
        }
        let after = try connection.query(
            "UPDATE persons SET \(sets.joined(separator: ", ")), updated_at = now() WHERE trn = $1 RETURNING to_json(persons)::text AS doc",
            params
        ).string(0, "doc")
        try audit(request, trn: person.trn, before: person.document, after: after)
    }

    func addPreviousName(_ trn: String, first: String, middle: String?, last: String) throws {
        try connection.query(
            """
            INSERT INTO previous_names (trn, first_name, middle_name, last_name)
            SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM previous_names WHERE trn = $1 AND first_name = $2
              AND middle_name IS NOT DISTINCT FROM $3 AND last_name = $4)
            """, [.text(trn), .text(first), middle.map { .text($0) }, .text(last)])
    }

    static func trimmed(_ text: String?) -> String? {
        guard let value = text.map(Validator.trimmed), !value.isEmpty else { return nil }
        return value
    }

    // MARK: The rules, one command at a time

    func apply(_ request: WriteRequest) throws -> WriteResult {
        switch request.command {
        case .capitaImport(let trn, let body): return try capitaImport(request, trn, body)
        case .patchPerson(let trn, let body): return try patchPerson(request, trn, body)
        case .updatePerson(let trn, let body): return try replacePerson(request, trn, body)
        case .welshInduction(let trn, let body): return try welshInduction(request, trn, body)
        case .cpdInduction(let trn, let body): return try cpdInduction(request, trn, body)
        case .route(let trn, let reference, let body): return try route(request, trn, reference, body)
        case .deceased(let trn, let body): return try deceased(request, trn, body)
        case .qtls(let trn, let body): return try qtls(request, trn, body)
        case .employment: throw Problem.internalError()  // always applied in bulk by run(_:)
        case .createAlert(let body): return try createAlert(request, body)
        case .trnRequest(let body): return try trnRequest(request, body)
        }
    }

    func capitaImport(_ request: WriteRequest, _ trn: String, _ body: Schemas.CapitaPersonRequest) throws -> WriteResult {
        var warnings: [Schemas.Warning] = []
        let first = Self.trimmed(body.firstName)
        let middle = Self.trimmed(body.middleName)
        let last = Self.trimmed(body.lastName) ?? ""
        var nino: String?
        if let given = Self.trimmed(body.nationalInsuranceNumber) {
            if let valid = NationalInsuranceNumber(given) {
                nino = valid.normalized
            } else {
                warnings.append(.init(code: "NationalInsuranceNumberInvalid", field: "nationalInsuranceNumber",
                                      message: "The NI number is not valid and was ignored."))
            }
        }
        guard let person = try loadPerson(trn) else {
            guard let dob = LocalDate(iso: body.dateOfBirth), dob >= .earliestBirth else {
                throw Problem.invalid(field: "dateOfBirth", "dateOfBirth cannot be before 1940-01-01 for a new person.")
            }
            let duplicate = try connection.query(
                """
                SELECT 1 FROM persons WHERE lower(last_name) = lower($1) AND lower(first_name) = lower($2)
                  AND date_of_birth = $3::date AND trn <> $4 AND status = 'Active' LIMIT 1
                """, [.text(last), .text(first ?? ""), .text(body.dateOfBirth), .text(trn)]).rowCount > 0
            let after = try connection.query(
                """
                INSERT INTO persons (trn, first_name, middle_name, last_name, date_of_birth, nino, gender, date_of_death)
                VALUES ($1, $2, $3, $4, $5::date, $6, $7, $8::date) RETURNING to_json(persons)::text AS doc
                """,
                [.text(trn), .text(first ?? ""), middle.map { .text($0) }, .text(last), .text(body.dateOfBirth),
                 nino.map { .text($0) }, body.gender.map { .text($0.rawValue) }, body.dateOfDeath.map { .text($0) }]
            ).string(0, "doc")
            if let previous = Self.trimmed(body.previousLastName), previous.lowercased() != last.lowercased() {
                try addPreviousName(trn, first: first ?? "", middle: middle, last: previous)
            }
            try audit(request, trn: trn, before: nil, after: after)
            let result = Schemas.CapitaImportResult(trn: trn, created: true, potentialDuplicate: duplicate, warnings: warnings)
            return .success(201, try JSONText.encode(result))
        }
        try person.requireActive()
        var changes: [(column: String, value: PGValue?, cast: String)] = []
        if let nino {
            if person.nino == nil {
                changes.append(("nino", .text(nino), ""))
            } else if person.nino != nino {
                warnings.append(.init(code: "NationalInsuranceNumberDiffers", field: "nationalInsuranceNumber",
                                      message: "The NI number differs from the record's; the record was kept."))
            }
        }
        if let gender = body.gender?.rawValue, let stored = person.gender, stored != gender {
            warnings.append(.init(code: "GenderDiffers", field: "gender", message: "The gender differs from the record's; the record was kept."))
        }
        if last.lowercased() != person.lastName.lowercased() {
            warnings.append(.init(code: "LastNameDiffers", field: "lastName", message: "The last name differs from the record's; the record was kept."))
        }
        if let death = body.dateOfDeath, person.dateOfDeath != death {
            changes.append(("date_of_death", .text(death), "::date"))
        }
        try updatePerson(request, person, changes)
        let result = Schemas.CapitaImportResult(trn: trn, created: false, potentialDuplicate: false, warnings: warnings)
        return .success(200, try JSONText.encode(result))
    }

    func patchPerson(_ request: WriteRequest, _ trn: String, _ body: Schemas.PatchPersonRequest) throws -> WriteResult {
        let person = try requirePerson(trn)
        var changes: [(column: String, value: PGValue?, cast: String)] = []
        if let first = Self.trimmed(body.firstName), first != person.firstName { changes.append(("first_name", .text(first), "")) }
        if let middle = Self.trimmed(body.middleName), middle != person.middleName { changes.append(("middle_name", .text(middle), "")) }
        if let last = Self.trimmed(body.lastName), last != person.lastName { changes.append(("last_name", .text(last), "")) }
        if let dob = body.dateOfBirth, dob != person.dateOfBirth { changes.append(("date_of_birth", .text(dob), "::date")) }
        if let given = body.nationalInsuranceNumber, let nino = NationalInsuranceNumber(given)?.normalized, nino != person.nino {
            changes.append(("nino", .text(nino), ""))
        }
        if let gender = body.gender?.rawValue, gender != person.gender { changes.append(("gender", .text(gender), "")) }
        if let previous = Self.trimmed(body.previousLastName) {
            try addPreviousName(trn, first: Self.trimmed(body.firstName) ?? person.firstName,
                                middle: Self.trimmed(body.middleName) ?? person.middleName, last: previous)
            if changes.isEmpty {
                try audit(request, trn: trn, before: person.document, after: try personDocument(trn))
            }
        }
        try updatePerson(request, person, changes)
        return .success(204)
    }

    func replacePerson(_ request: WriteRequest, _ trn: String, _ body: Schemas.UpdatePersonRequest) throws -> WriteResult {
        let person = try requirePerson(trn)
        if person.qtsDate != nil || person.eytsDate != nil { throw Problem.piiLocked() }
        let first = Self.trimmed(body.firstName) ?? ""
        let middle = Self.trimmed(body.middleName)
        let last = Self.trimmed(body.lastName) ?? ""
        if first != person.firstName || middle != person.middleName || last != person.lastName {
            try addPreviousName(trn, first: person.firstName, middle: person.middleName, last: person.lastName)
        }
        let nino = body.nationalInsuranceNumber.flatMap { NationalInsuranceNumber($0)?.normalized }
        try updatePerson(request, person, [
            ("first_name", .text(first), ""), ("middle_name", middle.map { .text($0) }, ""), ("last_name", .text(last), ""),
            ("date_of_birth", .text(body.dateOfBirth), "::date"), ("email", Self.trimmed(body.emailAddress).map { .text($0) }, ""),
            ("nino", nino.map { .text($0) }, ""), ("gender", body.gender.map { .text($0.rawValue) }, ""),
        ])
        return .success(204)
    }

    func welshInduction(_ request: WriteRequest, _ trn: String, _ body: Schemas.WelshInductionRequest) throws -> WriteResult {
        let person = try requirePerson(trn)
        if let dob = body.dateOfBirth, dob != person.dateOfBirth { throw Problem.dateOfBirthMismatch() }
        guard let qts = person.qtsDate else { throw Problem.noQts() }
        if ["Passed", "Failed", "FailedInWales", "InProgress"].contains(person.inductionStatus) {
            throw Problem.inductionStatusConflict(person.inductionStatus)
        }
        if body.startDate < qts { throw Problem.beforeQts("startDate") }
        if body.completedDate < qts { throw Problem.beforeQts("completedDate") }
        try updatePerson(request, person, [
            ("induction_status", .text(body.passed ? "Passed" : "FailedInWales"), ""),
            ("induction_start", .text(body.startDate), "::date"), ("induction_completed", .text(body.completedDate), "::date"),
        ])
        return .success(204)
    }

    func cpdInduction(_ request: WriteRequest, _ trn: String, _ body: Schemas.CpdInductionRequest) throws -> WriteResult {
        let person = try requirePerson(trn)
        guard let qts = person.qtsDate else { throw Problem.noQts() }
        if let stored = person.inductionModifiedOn, body.modifiedOn < stored.addingTimeInterval(-0.000_5) { throw Problem.stale() }
        if let start = body.startDate, start < qts { throw Problem.beforeQts("startDate") }
        try updatePerson(request, person, [
            ("induction_status", .text(body.status.rawValue), ""),
            ("induction_start", body.startDate.map { .text($0) }, "::date"),
            ("induction_completed", body.completedDate.map { .text($0) }, "::date"),
            ("induction_modified_on", .timestamp(body.modifiedOn), "::timestamptz"),
        ])
        return .success(204)
    }

    func route(_ request: WriteRequest, _ trn: String, _ reference: String, _ body: Schemas.RouteToProfessionalStatusRequest) throws -> WriteResult {
        let person = try requirePerson(trn)
        guard let type = RouteTypes.find(body.routeToProfessionalStatusTypeId) else {
            throw Problem.invalid(field: "routeToProfessionalStatusTypeId", "routeToProfessionalStatusTypeId is not a known route type.")
        }
        struct Ref: Encodable { var reference: String; var name: String? }
        struct Provider: Encodable { var ukprn: String; var name: String? }
        struct Degree: Encodable { var degreeTypeId: String; var name: String? }
        struct Exemption: Encodable { var isExempt: Bool; var exemptionReasons: [String] }
        struct Detail: Encodable {
            var trainingSubjects: [Ref]
            var trainingAgeSpecialism: Schemas.TrainingAgeSpecialism?
            var trainingCountry: Ref?
            var trainingProvider: Provider?
            var degreeType: Degree?
            var inductionExemption: Exemption
        }
        let detail = Detail(
            trainingSubjects: (body.trainingSubjectReferences ?? []).map { Ref(reference: $0, name: nil) },
            trainingAgeSpecialism: body.trainingAgeSpecialism,
            trainingCountry: body.trainingCountryReference.map { Ref(reference: $0, name: nil) },
            trainingProvider: body.trainingProviderUkprn.map { Provider(ukprn: $0, name: nil) },
            degreeType: body.degreeTypeId.map { Degree(degreeTypeId: $0, name: nil) },
            inductionExemption: Exemption(isExempt: body.isExemptFromInduction ?? false, exemptionReasons: []))
        let before = try connection.query(
            "SELECT to_json(r)::text AS doc FROM routes r WHERE trn = $1 AND reference = $2", [.text(trn), .text(reference)]
        ).string(0, "doc")
        let after = try connection.query(
            """
            INSERT INTO routes (route_id, trn, reference, route_type_id, route_type_name, professional_status_type, status,
                                holds_from, training_start, training_end, detail)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8::date, $9::date, $10::date, $11::jsonb)
            ON CONFLICT (trn, reference) DO UPDATE SET route_type_id = EXCLUDED.route_type_id,
              route_type_name = EXCLUDED.route_type_name, professional_status_type = EXCLUDED.professional_status_type,
              status = EXCLUDED.status, holds_from = EXCLUDED.holds_from, training_start = EXCLUDED.training_start,
              training_end = EXCLUDED.training_end, detail = EXCLUDED.detail, updated_at = now()
            RETURNING to_json(routes)::text AS doc
            """,
            [.text(UUID().uuidString.lowercased()), .text(trn), .text(reference), .text(type.id), .text(type.name),
             .text(type.professionalStatusType), .text(body.status.rawValue), body.holdsFrom.map { .text($0) },
             body.trainingStartDate.map { .text($0) }, body.trainingEndDate.map { .text($0) }, .json(try JSONText.encode(detail))]
        ).string(0, "doc")
        try audit(request, trn: trn, before: before, after: after)
        // Consequences for the induction: a new QTS needs an induction; an exemption exempts.
        let now = try loadPerson(trn)!
        var induction: String?
        if body.isExemptFromInduction == true && ["None", "RequiredToComplete"].contains(now.inductionStatus) {
            induction = "Exempt"
        } else if now.qtsDate != nil && now.inductionStatus == "None" {
            induction = "RequiredToComplete"
        }
        if let induction { try updatePerson(request, now, [("induction_status", .text(induction), "")]) }
        _ = person
        return .success(204)
    }

    func deceased(_ request: WriteRequest, _ trn: String, _ body: Schemas.DeceasedRequest) throws -> WriteResult {
        let person = try requirePerson(trn)
        if body.dateOfDeath < person.dateOfBirth {
            throw Problem.invalid(field: "dateOfDeath", "dateOfDeath cannot be before the person's date of birth.")
        }
        if person.dateOfDeath != body.dateOfDeath {
            try updatePerson(request, person, [("date_of_death", .text(body.dateOfDeath), "::date")])
        }
        return .success(204)
    }

    func qtls(_ request: WriteRequest, _ trn: String, _ body: Schemas.QtlsRequest) throws -> WriteResult {
        let person = try requirePerson(trn)
        var status = 200
        let newStatus: String
        var changes: [(column: String, value: PGValue?, cast: String)] = []
        if let date = body.qtsDate {
            newStatus = "Active"
            changes.append(("qtls_date", .text(date), "::date"))
            if ["None", "RequiredToComplete"].contains(person.inductionStatus) {
                changes.append(("induction_status", .text("Exempt"), ""))
            }
        } else {
            newStatus = person.qtlsDate == nil && person.qtlsStatus == "None" ? "None" : "Expired"
            changes.append(("qtls_date", nil, "::date"))
            if person.qtlsDate != nil && ["Passed", "Failed", "InProgress"].contains(person.inductionStatus) { status = 202 }
        }
        changes.append(("qtls_status", .text(newStatus), ""))
        try updatePerson(request, person, changes)
        let result = Schemas.QtlsResult(trn: trn, qtsDate: body.qtsDate, qtlsStatus: .init(rawValue: newStatus)!)
        return .success(status, try JSONText.encode(result))
    }

    func createAlert(_ request: WriteRequest, _ body: Schemas.CreateAlertRequest) throws -> WriteResult {
        _ = try requirePerson(body.trn)
        let id = UUID().uuidString.lowercased()
        let after = try connection.query(
            """
            INSERT INTO alerts (alert_id, trn, alert_type_code, details, start_date, end_date, sender)
            VALUES ($1, $2, $3, $4, $5::date, $6::date, $7) RETURNING to_json(alerts)::text AS doc
            """,
            [.text(id), .text(body.trn), .text(body.alertTypeCode.rawValue), body.details.map { .text($0) },
             .text(body.startDate), body.endDate.map { .text($0) }, body.sender.map { .text($0) }]
        ).string(0, "doc")
        try audit(request, trn: body.trn, before: nil, after: after)
        return .success(201, try JSONText.encode(Schemas.CreateAlertResult(alertId: id)))
    }

    func trnRequest(_ request: WriteRequest, _ body: Schemas.TrnRequestRequest) throws -> WriteResult {
        let exists = try connection.query(
            "SELECT 1 FROM trn_requests WHERE key_name = $1 AND request_id = $2", [.text(context.keyName), .text(body.requestId)])
        if exists.rowCount > 0 { throw Problem.trnRequestExists() }
        let p = body.person
        let first = Self.trimmed(p.firstName) ?? ""
        let last = Self.trimmed(p.lastName) ?? ""
        let nino = p.nationalInsuranceNumber.flatMap { NationalInsuranceNumber($0)?.normalized }
        let duplicate = try connection.query(
            """
            SELECT 1 FROM persons WHERE status = 'Active' AND ((lower(last_name) = lower($1) AND lower(first_name) = lower($2)
              AND date_of_birth = $3::date) OR ($4::text IS NOT NULL AND nino = $4::text)) LIMIT 1
            """, [.text(last), .text(first), .text(p.dateOfBirth), nino.map { .text($0) }]).rowCount > 0
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
                [.text(candidate), .text(first), Self.trimmed(p.middleName).map { .text($0) }, .text(last), .text(p.dateOfBirth),
                 nino.map { .text($0) }, p.emailAddresses?.first.map { .text($0) }, p.gender.map { .text($0.rawValue) }]
            ).string(0, "doc")
            try audit(request, trn: candidate, before: nil, after: after)
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
            [.text(body.requestId), .text(context.keyName), trn.map { .text($0) }, .text(result.status.rawValue),
             .bool(duplicate), .json(try JSONText.encode(p))])
        if duplicate { try audit(request, trn: nil, before: nil, after: json) }
        return .success(200, json)
    }

    // MARK: Workforce, in bulk

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
        if !eligible.isEmpty {
            storedCandidates += try connection.savepoint { connection in
                let keyed = eligible.filter { items[$0].0.idempotencyKey != nil }
                var claimed = Set<String>()
                if !keyed.isEmpty {
                    // A key that a concurrent request holds blocks here until it commits, then is not inserted.
                    claimed = Set(try connection.queryPrepared(
                        """
                        INSERT INTO idempotency_keys (idempotency_key, request_hash, method, path, status, response, key_name)
                        SELECT x.k, x.h, 'PUT', x.p, 204, NULL, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS x(k, h, p)
                        ON CONFLICT DO NOTHING RETURNING idempotency_key
                        """,
                        [.textArray(keyed.map { items[$0].0.idempotencyKey }), .textArray(keyed.map { items[$0].0.requestHash }),
                         .textArray(keyed.map { items[$0].0.path }), .text(context.keyName)]
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
        let stored = try connection.query(
            "SELECT idempotency_key, request_hash, status, response FROM idempotency_keys WHERE idempotency_key = ANY($1::text[])",
            [.textArray(storedCandidates)])
        var byKey: [String: (String, Int, String?)] = [:]
        for row in stored.rows {
            if let key = row["idempotency_key"], let hash = row["request_hash"], let status = row.int("status") {
                byKey[key] = (hash, status, row["response"])
            }
        }
        for (offset, (request, _)) in items.enumerated() {
            guard let key = request.idempotencyKey, let (hash, status, body) = byKey[key] else { continue }
            results[offset] = hash == request.requestHash
                ? WriteResult(status: status, body: body, problem: nil, location: nil, replayed: true)
                : .failure(.idempotencyConflict())
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
        SELECT $23, $24, 'upsertEmployment', 'PUT', i.p, i.t, i.ik, i.sf, i.ss, i.sl, o.doc, u.doc
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

    var parameters: [PGValue?] {
        Self.layout.enumerated().map { index, column in
            switch column {
            case .text: .textArray(strings[index])
            case .date: .dateArray(strings[index])
            case .withdrawn: .boolArray(withdrawn)
            case .line: .intArray(lines)
            }
        }
    }
}
