import DQTModel
import Foundation
import LibPQ
import Logging
import OpenAPIRuntime

typealias Schemas = Components.Schemas

/// The generated server protocol, implemented: reads go to ``ReadStore``; each write endpoint's handler is in its
/// file under `Writes/`, prepared as ``WriteRegistry`` lists it and applied by the ``WriteEngine``, exactly as the
/// batch endpoint does.
struct APIHandler: APIProtocol {
    let pool: PGPool
    let engine: WriteEngine
    let logger: Logger

    // MARK: Helpers

    func principal() throws(Problem) -> Principal { try RequestScope.requirePrincipal() }

    func read<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        do {
            return try await pool.withConnection(body)
        } catch let error as PGError where error.kind == .connection {
            throw Problem.databaseUnavailable()
        }
    }

    static func validTRN(_ text: String) throws(Problem) -> String {
        guard let trn = TRN(text) else { throw Problem.invalid(field: "trn", "trn must be 7 digits.") }
        return trn.digits
    }

    func decodePerson(_ document: String) throws -> Schemas.Person {
        try JSONText.decoder.decode(Schemas.Person.self, from: Data(document.utf8))
    }

    // MARK: Claim

    func getQualifiedTeachingStatus(_ input: Operations.GetQualifiedTeachingStatus.Input) async throws -> Operations.GetQualifiedTeachingStatus.Output
    {
        try principal().require(.getPerson)
        let raw = input.query.trn.trimmingCharacters(in: .whitespaces)
        guard !raw.isEmpty else {
            throw Problem.invalid(field: "trn", "trn is required.")
        }
        let trn: String? = (raw.count <= 7 && raw.allSatisfy(\.isASCIIDigit)) ? String(repeating: "0", count: 7 - raw.count) + raw : nil
        let nino = input.query.ni.flatMap { NationalInsuranceNumber($0)?.normalized }
        let documents: [String] = try await read { connection in
            if let trn, let row = try ReadStore.person(connection, trn: trn, includes: .all), row.status == "Active" {
                return [row.document]
            }
            guard let nino else { return [] }
            let trns = try connection.query(
                "SELECT trn FROM persons WHERE nino = $1 AND status = 'Active' ORDER BY trn LIMIT 10", [.text(nino)]
            ).rows.compactMap { $0["trn"] }
            return try trns.compactMap { try ReadStore.person(connection, trn: $0, includes: .all)?.document }
        }
        guard !documents.isEmpty else {
            return .notFound(.init(body: .json(.init(data: nil, message: "No records found."))))
        }
        let today = LocalDate.today().description
        let records = try documents.map { document -> Schemas.ClaimQtsRecord in
            let person = try decodePerson(document)
            let itt = person.initialTeacherTraining?.first
            let subjects = itt?.subjects ?? []
            return Schemas.ClaimQtsRecord(
                trn: person.trn,
                name: [person.firstName, person.middleName, person.lastName].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " "),
                doB: person.dateOfBirth, niNumber: person.nationalInsuranceNumber, qtsAwardDate: person.qts?.holdsFrom,
                ittSubject1Code: subjects.count > 0 ? subjects[0].code : nil,
                ittSubject2Code: subjects.count > 1 ? subjects[1].code : nil,
                ittSubject3Code: subjects.count > 2 ? subjects[2].code : nil,
                activeAlert: Self.hasActiveAlert(person.alerts ?? [], today: today),
                qualificationName: itt?.qualification?.name, ittStartDate: itt?.startDate)
        }
        return .ok(.init(body: .json(.init(data: records, message: nil))))
    }

    static func hasActiveAlert(_ alerts: [Schemas.Alert], today: String) -> Bool {
        alerts.contains { $0.startDate <= today && ($0.endDate == nil || $0.endDate! > today) }
    }

    // MARK: CPD v1

    func getTeacherV1(_ input: Operations.GetTeacherV1.Input) async throws -> Operations.GetTeacherV1.Output {
        try principal().require(.getPerson)
        let trn = try Self.validTRN(input.path.trn)
        let birthdate = input.query.birthdate
        if let birthdate, LocalDate(iso: birthdate) == nil { throw Problem.invalid(field: "birthdate", "birthdate must be yyyy-MM-dd.") }
        let nino = input.query.nino.flatMap { NationalInsuranceNumber($0)?.normalized }
        let document: String? = try await read { connection in
            if let row = try ReadStore.person(connection, trn: trn, includes: .all), row.status == "Active" {
                if birthdate == nil { return row.document }
                let dob = try JSONText.decoder.decode(Schemas.Person.self, from: Data(row.document.utf8)).dateOfBirth
                if dob == birthdate { return row.document }
            }
            guard let nino, let birthdate else { return nil }
            let match = try connection.query(
                "SELECT trn FROM persons WHERE nino = $1 AND date_of_birth = $2::date AND status = 'Active' LIMIT 1",
                [.text(nino), .text(birthdate)]
            ).string(0, "trn")
            return try match.flatMap { try ReadStore.person(connection, trn: $0, includes: .all)?.document }
        }
        guard let document else { throw Problem.personNotFound() }
        let person = try decodePerson(document)
        let itt = person.initialTeacherTraining?.first
        let subjects = itt?.subjects ?? []
        func subject(_ index: Int) -> Schemas.InitialTeacherTraining.SubjectsPayloadPayload? {
            subjects.count > index ? subjects[index] : nil
        }
        let induction = person.induction
        let teacher = Schemas.TeacherV1(
            trn: person.trn, niNumber: person.nationalInsuranceNumber,
            name: [person.firstName, person.middleName, person.lastName].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " "),
            dob: person.dateOfBirth, activeAlert: Self.hasActiveAlert(person.alerts ?? [], today: LocalDate.today().description),
            state: 0, stateName: "Active",
            qualifiedTeacherStatus: person.qts.map {
                .init(name: "Qualified teacher (trained)", state: 0, stateName: "Active", qtsDate: $0.holdsFrom)
            },
            induction: induction.flatMap { induction in
                guard induction.status != .none else { return nil }
                return .init(
                    startDate: induction.startDate, completionDate: induction.completedDate,
                    status: InductionStatus(rawValue: induction.status.rawValue)?.legacyText, state: 0, stateName: "Active")
            },
            initialTeacherTraining: itt.map { itt in
                .init(
                    programmeStartDate: itt.startDate, programmeEndDate: itt.endDate, programmeType: itt.programmeType,
                    result: itt.result, subject1: subject(0)?.name, subject2: subject(1)?.name, subject3: subject(2)?.name,
                    qualification: itt.qualification?.name, subject1Code: subject(0)?.code, subject2Code: subject(1)?.code,
                    subject3Code: subject(2)?.code)
            },
            qualifications: [])
        return .ok(.init(body: .json(teacher)))
    }

    // MARK: v3 reads

    /// GET /v3/persons/{trn}: the person's JSON document after every check (role, TRN, include, 404/410/308, the
    /// date of birth or NI number check), for ``DirectOperations/getPerson(_:_:reads:)``.
    func personDocument(trn rawTRN: String, include: String?, dateOfBirth: String?, nationalInsuranceNumber: String?) async throws -> String {
        try principal().require(.getPerson)
        let trn = try Self.validTRN(rawTRN)
        let includes = try Includes.parse(include)
        if dateOfBirth != nil && nationalInsuranceNumber != nil {
            throw Problem.invalid(field: "dateOfBirth", "Give dateOfBirth or nationalInsuranceNumber, not both.")
        }
        if let dob = dateOfBirth, LocalDate(iso: dob) == nil {
            throw Problem.invalid(field: "dateOfBirth", "dateOfBirth must be yyyy-MM-dd.")
        }
        var nino: String?
        if let given = nationalInsuranceNumber {
            guard let valid = NationalInsuranceNumber(given) else { throw Problem.personNotFound() }
            nino = valid.normalized
        }
        let row = try await read { [nino] in try ReadStore.person($0, trn: trn, includes: includes, nino: nino) }
        let active = try ReadStore.requireActive(row)
        guard active.ninoMatches else { throw Problem.personNotFound() }
        if let dob = dateOfBirth, dob != active.dateOfBirth { throw Problem.personNotFound() }
        return active.document
    }

    func findPersons(_ input: Operations.FindPersons.Input) async throws -> Operations.FindPersons.Output {
        try principal().require(.getPerson)
        guard case .json(let body) = input.body else { throw Problem.invalid(field: "body", "JSON body required.") }
        guard body.persons.count <= 500 else { throw Problem.invalid(field: "persons", "At most 500 persons per call.") }
        var v = Validator()
        v.plausibleDates = nil
        for (index, item) in body.persons.enumerated() {
            _ = v.trn("persons[\(index)].trn", item.trn)
            _ = v.date("persons[\(index)].dateOfBirth", item.dateOfBirth)
        }
        try v.check()
        let pairs = body.persons.map { ($0.trn, $0.dateOfBirth) }
        let documents: [String] = try await read { connection in
            var seen = Set<String>()
            var documents: [String] = []
            for (trn, _) in pairs where !seen.contains(trn) {
                guard let row = try ReadStore.person(connection, trn: trn, includes: [.induction, .alerts, .previousNames, .routes]),
                    row.status == "Active"
                else { continue }
                seen.insert(trn)
                documents.append(row.document)
            }
            return documents
        }
        let persons = try documents.map(decodePerson).filter { person in pairs.contains { $0.0 == person.trn && $0.1 == person.dateOfBirth } }
        return .ok(.init(body: .json(.init(total: persons.count, results: persons))))
    }

    func getTrn(_ input: Operations.GetTrn.Input) async throws -> Operations.GetTrn.Output {
        try principal().require(.getPerson)
        let trn = try Self.validTRN(input.path.trn)
        let row = try await read { try ReadStore.status($0, trn: trn) }
        _ = try ReadStore.requireActive(row, locationPrefix: "/v3/trns/")
        return .noContent(.init())
    }

    func listEmployments(_ input: Operations.ListEmployments.Input) async throws -> Operations.ListEmployments.Output {
        try principal().requireAny(.setWorkforceData, .getPerson)
        let trn = try Self.validTRN(input.path.trn)
        let (row, document) = try await read { connection in
            (try ReadStore.status(connection, trn: trn), try connection.queryPrepared(ReadStore.employmentsSQL, [.text(trn)]).string(0, "doc"))
        }
        _ = try ReadStore.requireActive(row)
        let employments = try JSONText.decoder.decode([Schemas.Employment].self, from: Data((document ?? "[]").utf8))
        return .ok(.init(body: .json(.init(employments: employments))))
    }

    func listAlerts(_ input: Operations.ListAlerts.Input) async throws -> Operations.ListAlerts.Output {
        try principal().require(.getPerson)
        let trn = try Self.validTRN(input.path.trn)
        let (row, document) = try await read { connection in
            (try ReadStore.status(connection, trn: trn), try connection.queryPrepared(ReadStore.alertsSQL, [.text(trn)]).string(0, "doc"))
        }
        _ = try ReadStore.requireActive(row)
        let alerts = try JSONText.decoder.decode([Schemas.Alert].self, from: Data((document ?? "[]").utf8))
        return .ok(.init(body: .json(.init(alerts: alerts))))
    }

    func getTrnRequest(_ input: Operations.GetTrnRequest.Input) async throws -> Operations.GetTrnRequest.Output {
        let principal = try principal()
        try principal.require(.createTrn)
        let requestID = input.query.requestId
        let stored: (String, String?, String, Bool)? = try await read { connection in
            let r = try connection.query(
                "SELECT person::text AS person, trn, status, potential_duplicate FROM trn_requests WHERE key_name = $1 AND request_id = $2",
                [.text(principal.keyName), .text(requestID)])
            guard r.rowCount == 1 else { return nil }
            return (try r.requireString(0, "person"), r.string(0, "trn"), try r.requireString(0, "status"), r.bool(0, "potential_duplicate") ?? false)
        }
        guard let stored else { throw Problem.notFound("The TRN request") }
        let person = try JSONText.decoder.decode(Schemas.TrnRequestPerson.self, from: Data(stored.0.utf8))
        return .ok(
            .init(
                body: .json(
                    .init(
                        requestId: requestID, person: person, trn: stored.1,
                        status: Schemas.TrnRequestResult.StatusPayload(rawValue: stored.2) ?? .pending, potentialDuplicate: stored.3))))
    }

    // MARK: Served directly

    // ``RouteTable`` never registers these two: ``DirectOperations`` serves them. They exist because the generated
    // protocol requires them.

    func getPerson(_ input: Operations.GetPerson.Input) async throws -> Operations.GetPerson.Output {
        throw Problem.internalError()
    }

    func runBatch(_ input: Operations.RunBatch.Input) async throws -> Operations.RunBatch.Output {
        throw Problem.internalError()
    }

    // MARK: Operations

    func healthLive(_ input: Operations.HealthLive.Input) async throws -> Operations.HealthLive.Output {
        .ok(.init(body: .json(.init(status: "live", database: nil))))
    }

    func healthReady(_ input: Operations.HealthReady.Input) async throws -> Operations.HealthReady.Output {
        do {
            let ok = try await pool.withConnection { try $0.query("SELECT 1").int(0, 0) == 1 }
            if ok { return .ok(.init(body: .json(.init(status: "ready", database: "ok")))) }
        } catch {
            logger.warning("readiness check failed", metadata: ["error": "\(type(of: error))"])
        }
        return .serviceUnavailable(.init(body: .json(.init(status: "not ready", database: "unavailable"))))
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
