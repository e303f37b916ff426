import Crypto
import DQTModel
import Foundation
import OpenAPIRuntime

typealias Schemas = Components.Schemas

/// Where a change comes from, as the caller declared it (batch `source` or the `X-DQT-Source` header).
public struct SourceInfo: Sendable, Equatable {
    public var feed: String?
    public var fileSha256: String?
    public var line: Int?

    public init(feed: String?, fileSha256: String?, line: Int?) {
        func clean(_ text: String, _ limit: Int) -> String {
            if text.utf8.count <= limit && text.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }) { return text }
            return String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }).prefix(limit))
        }
        self.feed = feed.map { clean($0, 100) }
        self.fileSha256 = fileSha256.map { clean($0, 128) }
        self.line = line.flatMap { Int32(exactly: $0) == nil ? nil : $0 }  // the audit's column is an int4
    }

    /// `feed=<id>;sha256=<hex>;line=<n>` (any order, unknown parts ignored).
    public init?(header: String?) {
        guard let header, !header.isEmpty else { return nil }
        var feed: String?
        var sha: String?
        var line: Int?
        for part in header.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            switch pair[0].lowercased() {
            case "feed": feed = pair[1]
            case "sha256": sha = pair[1]
            case "line": line = Int(pair[1])
            default: continue
            }
        }
        self.init(feed: feed, fileSha256: sha, line: line)
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

/// One write, decoded and validated (no database yet).
enum WriteCommand: Sendable {
    case capitaImport(trn: String, Schemas.CapitaPersonRequest)
    case patchPerson(trn: String, Schemas.PatchPersonRequest)
    case updatePerson(trn: String, Schemas.UpdatePersonRequest)
    case welshInduction(trn: String, Schemas.WelshInductionRequest)
    case cpdInduction(trn: String, Schemas.CpdInductionRequest)
    case route(trn: String, reference: String, Schemas.RouteToProfessionalStatusRequest)
    case deceased(trn: String, Schemas.DeceasedRequest)
    case qtls(trn: String, Schemas.QtlsRequest)
    case employment(EmploymentRow)
    case createAlert(Schemas.CreateAlertRequest)
    case trnRequest(Schemas.TrnRequestRequest)

    var role: Role {
        switch self {
        case .capitaImport: .capitaImport
        case .patchPerson, .updatePerson, .deceased: .updatePerson
        case .welshInduction: .setWelshInduction
        case .cpdInduction: .setCpdInduction
        case .route: .setProfessionalStatus
        case .qtls: .assignQtls
        case .employment: .setWorkforceData
        case .createAlert: .updateRole
        case .trnRequest: .createTrn
        }
    }

    var isEmployment: Bool {
        if case .employment = self { true } else { false }
    }

    var operationName: String {
        switch self {
        case .capitaImport: "capitaImportPerson"
        case .patchPerson: "patchPerson"
        case .updatePerson: "updatePerson"
        case .welshInduction: "setWelshInduction"
        case .cpdInduction: "setCpdInduction"
        case .route: "setRouteToProfessionalStatus"
        case .deceased: "setDeceased"
        case .qtls: "setQtls"
        case .employment: "upsertEmployment"
        case .createAlert: "createAlert"
        case .trnRequest: "createTrnRequest"
        }
    }
}

/// A write with everything the engine needs: the command, and what idempotency and the audit need.
struct WriteRequest: Sendable {
    var command: WriteCommand
    var method: String
    var path: String
    var idempotencyKey: String?
    var requestHash: String
    var source: SourceInfo?
}

/// Decoding, validation and authorisation of writes, shared by the direct endpoints and the batch endpoint.
enum WritePreparation {
    static func hash(method: String, path: String, canonicalBody: String) -> String {
        hash(method: method, path: path, canonicalBody: Array(canonicalBody.utf8))
    }

    /// SHA-256 of `<method>\n<path>\n<canonical body>`, lower-case hex.
    static func hash(method: String, path: String, canonicalBody: [UInt8]) -> String {
        var preimage: [UInt8] = []
        preimage.reserveCapacity(method.utf8.count + path.utf8.count + 2 + canonicalBody.count)
        preimage += method.utf8
        preimage.append(0x0A)
        preimage += path.utf8
        preimage.append(0x0A)
        preimage += canonicalBody
        return Hex.encode(SHA256.hash(data: preimage))
    }

    static func validateIdempotencyKey(_ key: String?) throws(Problem) -> String? {
        guard let key else { return nil }
        guard !key.isEmpty, key.utf8.count <= 200, key.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7e }) else {
            throw Problem.invalid(field: "Idempotency-Key", "Idempotency-Key must be 1-200 printable ASCII characters.")
        }
        return key
    }

    /// Validates a command and wraps it with its hash; `principal` must hold the command's role.
    static func prepare(
        _ command: WriteCommand, body: some Encodable, method: String, path: String, idempotencyKey: String?,
        source: SourceInfo?, principal: Principal
    ) throws(Problem) -> WriteRequest {
        try principal.require(command.role)
        let key = try validateIdempotencyKey(idempotencyKey)
        let validated = try validate(command)
        let canonical: String
        do { canonical = try JSONText.encode(body) } catch { throw Problem.invalid(field: "body", "The body could not be read.") }
        if canonical.contains("\\u0000") {
            throw Problem.invalid(field: "body", "Text fields cannot contain NUL characters.")
        }
        return WriteRequest(
            command: validated, method: method, path: path, idempotencyKey: key,
            requestHash: hash(method: method, path: path, canonicalBody: canonical), source: source)
    }

    /// A workforce write: its canonical form for the idempotency hash is the validated row's fields (cheaper than
    /// re-encoding JSON, and the same whether the row came directly or in a batch).
    static func employmentRequest(
        _ row: EmploymentRow, method: String, path: String, idempotencyKey: String?, source: SourceInfo?
    ) throws(Problem) -> WriteRequest {
        let key = try validateIdempotencyKey(idempotencyKey)
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
            command: .employment(row), method: method, path: path, idempotencyKey: key,
            requestHash: hash(method: method, path: path, canonicalBody: canonical), source: source)
    }

    // MARK: Validation (values are never echoed back)

    static func validate(_ command: WriteCommand) throws(Problem) -> WriteCommand {
        var v = Validator()
        switch command {
        case .capitaImport(let trn, let body):
            _ = v.trn("trn", trn)
            _ = v.name("lastName", body.lastName, required: true)
            _ = v.name("firstName", body.firstName, required: false)
            _ = v.name("middleName", body.middleName, required: false)
            _ = v.name("previousLastName", body.previousLastName, required: false)
            let dob = v.date("dateOfBirth", body.dateOfBirth, notFuture: true)
            if let death = v.optionalDate("dateOfDeath", body.dateOfDeath, notFuture: true), let dob, death < dob {
                v.fail("dateOfDeath", "dateOfDeath cannot be before dateOfBirth.")
            }
        case .patchPerson(let trn, let body):
            _ = v.trn("trn", trn)
            if body.firstName != nil { _ = v.name("firstName", body.firstName, required: true) }
            if body.lastName != nil { _ = v.name("lastName", body.lastName, required: true) }
            _ = v.name("middleName", body.middleName, required: false)
            _ = v.name("previousLastName", body.previousLastName, required: false)
            _ = v.optionalDate("dateOfBirth", body.dateOfBirth, notFuture: true)
            _ = v.nino("nationalInsuranceNumber", body.nationalInsuranceNumber)
            if body.firstName == nil && body.middleName == nil && body.lastName == nil && body.previousLastName == nil
                && body.dateOfBirth == nil && body.nationalInsuranceNumber == nil && body.gender == nil
            {
                v.fail("body", "At least one field is required.")
            }
        case .updatePerson(let trn, let body):
            _ = v.trn("trn", trn)
            _ = v.name("firstName", body.firstName, required: true)
            _ = v.name("lastName", body.lastName, required: true)
            _ = v.name("middleName", body.middleName, required: false)
            _ = v.date("dateOfBirth", body.dateOfBirth, notFuture: true)
            _ = v.nino("nationalInsuranceNumber", body.nationalInsuranceNumber)
            _ = v.name("emailAddress", body.emailAddress, required: false, max: 200)
        case .welshInduction(let trn, let body):
            _ = v.trn("trn", trn)
            let start = v.date("startDate", body.startDate, notFuture: true)
            let completed = v.date("completedDate", body.completedDate, notFuture: true)
            if let start, let completed, completed < start {
                v.fail("completedDate", "completedDate cannot be before startDate.")
            }
            _ = v.optionalDate("dateOfBirth", body.dateOfBirth)
        case .cpdInduction(let trn, let body):
            _ = v.trn("trn", trn)
            let start = v.optionalDate("startDate", body.startDate, notFuture: true)
            let completed = v.optionalDate("completedDate", body.completedDate, notFuture: true)
            switch body.status {
            case .requiredToComplete:
                if body.startDate != nil { v.fail("startDate", "startDate must be empty for RequiredToComplete.") }
                if body.completedDate != nil { v.fail("completedDate", "completedDate must be empty for RequiredToComplete.") }
            case .inProgress:
                if body.startDate == nil { v.fail("startDate", "startDate is required for InProgress.") }
                if body.completedDate != nil { v.fail("completedDate", "completedDate must be empty for InProgress.") }
            case .passed, .failed:
                if body.startDate == nil { v.fail("startDate", "startDate is required for \(body.status.rawValue).") }
                if body.completedDate == nil { v.fail("completedDate", "completedDate is required for \(body.status.rawValue).") }
            }
            if let start, let completed, completed < start { v.fail("completedDate", "completedDate cannot be before startDate.") }
            if body.modifiedOn > Date().addingTimeInterval(300) { v.fail("modifiedOn", "modifiedOn cannot be in the future.") }
        case .route(let trn, let reference, let body):
            _ = v.trn("trn", trn)
            v.charset("reference", reference, max: 100, rule: "1-100 of A-Z, a-z, 0-9, _ . -") { ASCIIChar.isIDChar($0) }
            if RouteTypes.find(body.routeToProfessionalStatusTypeId) == nil {
                v.fail("routeToProfessionalStatusTypeId", "routeToProfessionalStatusTypeId is not a known route type.")
            }
            let holds = v.optionalDate("holdsFrom", body.holdsFrom, notFuture: true)
            if body.status == .holds && body.holdsFrom == nil { v.fail("holdsFrom", "holdsFrom is required when status is Holds.") }
            if body.status != .holds && holds != nil { v.fail("holdsFrom", "holdsFrom is only for status Holds.") }
            let start = v.optionalDate("trainingStartDate", body.trainingStartDate)
            let end = v.optionalDate("trainingEndDate", body.trainingEndDate)
            if let start, let end, end < start { v.fail("trainingEndDate", "trainingEndDate cannot be before trainingStartDate.") }
            if let ukprn = body.trainingProviderUkprn { v.digits("trainingProviderUkprn", ukprn, count: 8) }
            if let specialism = body.trainingAgeSpecialism, specialism._type == .range {
                if specialism.from == nil || specialism.to == nil || (specialism.from ?? 0) > (specialism.to ?? 0) {
                    v.fail("trainingAgeSpecialism", "a Range needs from <= to.")
                }
            }
        case .deceased(let trn, let body):
            _ = v.trn("trn", trn)
            _ = v.date("dateOfDeath", body.dateOfDeath, notFuture: true)
        case .qtls(let trn, let body):
            _ = v.trn("trn", trn)
            _ = v.optionalDate("qtsDate", body.qtsDate, notFuture: true)
        case .employment:
            break  // validated when built (see employment(...))
        case .createAlert(let body):
            _ = v.trn("trn", body.trn)
            let start = v.date("startDate", body.startDate)
            let end = v.optionalDate("endDate", body.endDate)
            if let start, let end, end < start { v.fail("endDate", "endDate cannot be before startDate.") }
            _ = v.name("details", body.details, required: false, max: 4000)
            _ = v.name("sender", body.sender, required: false, max: 100)
        case .trnRequest(let body):
            v.charset("requestId", body.requestId, max: 100, rule: "1-100 of 0-9, a-z, A-Z, _ and -") { ASCIIChar.isIDChar($0) && $0 != 0x2E }
            _ = v.name("person.firstName", body.person.firstName, required: true)
            _ = v.name("person.lastName", body.person.lastName, required: true)
            _ = v.name("person.middleName", body.person.middleName, required: false)
            if let dob = v.date("person.dateOfBirth", body.person.dateOfBirth, notFuture: true), dob < .earliestBirth {
                v.fail("person.dateOfBirth", "person.dateOfBirth cannot be before 1940-01-01.")
            }
            _ = v.nino("person.nationalInsuranceNumber", body.person.nationalInsuranceNumber)
        }
        try v.check()
        return command
    }

    /// Validates a workforce row against its key: `<trn>.<la>.<establishment or NULL>.<start yyyyMMdd>`.
    static func employment(trn: String, key: String, body: Schemas.EmploymentRequest) throws(Problem) -> EmploymentRow {
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

    // MARK: Batch operations -> commands

    static func decode<T: Decodable>(_ type: T.Type, _ body: some BatchBodySource) throws(Problem) -> T {
        do {
            return try body.decode(T.self)
        } catch let error as DecodingError {
            throw Problem.invalid(field: DecodingErrorText.field(error), DecodingErrorText.message(error))
        } catch {
            throw Problem.invalid(field: "body", "The body could not be read.")
        }
    }

    /// A batch request read by the generated types, as the generated handler reads it (each body an
    /// `OpenAPIValueContainer`): the answer ``BatchFastPath`` gives for a request its reader does not vouch for.
    static func prepare(batchJSON data: Data, principal: Principal, maximumOperations: Int) throws(Problem) -> [Result<WriteRequest, Problem>] {
        let request: Schemas.BatchRequest
        do {
            request = try JSONText.decoder.decode(Schemas.BatchRequest.self, from: data)
        } catch let error as DecodingError {
            throw Problem.invalid(field: DecodingErrorText.field(error), DecodingErrorText.message(error))
        } catch {
            throw Problem.invalid(field: "body", "The body could not be read.")
        }
        return try prepare(batch: request.operations, principal: principal, maximumOperations: maximumOperations)
    }

    static func prepare(
        batch operations: [Schemas.BatchOperation], principal: Principal, maximumOperations: Int
    ) throws(Problem) -> [Result<WriteRequest, Problem>] {
        guard operations.count <= maximumOperations else { throw Problem.batchTooLarge(maximumOperations) }
        return operations.map { operation in
            Result { () throws(Problem) -> WriteRequest in try prepare(batch: operation, principal: principal) }
        }
    }

    /// Maps a batch operation onto the write endpoint its method and path name.
    static func prepare(batch operation: Schemas.BatchOperation, principal: Principal) throws(Problem) -> WriteRequest {
        try prepare(
            method: operation.method, path: operation.path, body: OpenAPIValueContainerBox(operation.body),
            idempotencyKey: operation.idempotencyKey,
            source: operation.source.map { SourceInfo(feed: $0.feed, fileSha256: $0.fileSha256, line: $0.line) },
            principal: principal)
    }

    static func prepare(
        method rawMethod: String, path rawPath: String, body: some BatchBodySource, idempotencyKey key: String?,
        source: SourceInfo?, principal: Principal
    ) throws(Problem) -> WriteRequest {
        let method = rawMethod.uppercased()
        // Split on ASCII bytes (no scalar straddles them), not Characters: this runs for every operation of a batch.
        let path = rawPath.utf8.firstIndex(of: UInt8(ascii: "?")).map { String(rawPath[..<$0]) } ?? rawPath
        let parts = path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map { bytes in
            let part = String(decoding: bytes, as: UTF8.self)
            return bytes.contains(UInt8(ascii: "%")) ? (part.removingPercentEncoding ?? part) : part
        }
        // parts[0] is "" (leading slash).
        guard parts.count >= 3, parts[0].isEmpty, parts[1] == "v3" else {
            throw Problem.unsupportedOperation("\(method) \(path) is not a write endpoint of this API.")
        }
        let tail = Array(parts.dropFirst(2))
        func make(_ command: WriteCommand, _ typed: some Encodable) throws(Problem) -> WriteRequest {
            try prepare(command, body: typed, method: method, path: path, idempotencyKey: key, source: source, principal: principal)
        }
        switch (method, tail.count) {
        case ("PUT", 3) where tail[0] == "capita" && tail[1] == "persons":
            let typed = try decode(Schemas.CapitaPersonRequest.self, body)
            return try make(.capitaImport(trn: tail[2], typed), typed)
        case ("PUT", 3) where tail[0] == "persons" && tail[1] == "deceased":
            let typed = try decode(Schemas.DeceasedRequest.self, body)
            return try make(.deceased(trn: tail[2], typed), typed)
        case ("PATCH", 2) where tail[0] == "persons":
            let typed = try decode(Schemas.PatchPersonRequest.self, body)
            return try make(.patchPerson(trn: tail[1], typed), typed)
        case ("PUT", 2) where tail[0] == "persons":
            let typed = try decode(Schemas.UpdatePersonRequest.self, body)
            return try make(.updatePerson(trn: tail[1], typed), typed)
        case ("PUT", 3) where tail[0] == "persons" && tail[2] == "welsh-induction":
            let typed = try decode(Schemas.WelshInductionRequest.self, body)
            return try make(.welshInduction(trn: tail[1], typed), typed)
        case ("PUT", 3) where tail[0] == "persons" && tail[2] == "cpd-induction":
            let typed = try decode(Schemas.CpdInductionRequest.self, body)
            return try make(.cpdInduction(trn: tail[1], typed), typed)
        case ("PUT", 3) where tail[0] == "persons" && tail[2] == "qtls":
            let typed = try decode(Schemas.QtlsRequest.self, body)
            return try make(.qtls(trn: tail[1], typed), typed)
        case ("PUT", 4) where tail[0] == "persons" && tail[2] == "routes-to-professional-statuses":
            let typed = try decode(Schemas.RouteToProfessionalStatusRequest.self, body)
            return try make(.route(trn: tail[1], reference: tail[3], typed), typed)
        case ("PUT", 4) where tail[0] == "persons" && tail[2] == "employments":
            try principal.require(.setWorkforceData)
            let typed = try decode(Schemas.EmploymentRequest.self, body)
            let row = try employment(trn: tail[1], key: tail[3], body: typed)
            return try employmentRequest(row, method: method, path: path, idempotencyKey: key, source: source)
        case ("POST", 1) where tail[0] == "alerts":
            let typed = try decode(Schemas.CreateAlertRequest.self, body)
            return try make(.createAlert(typed), typed)
        case ("POST", 1) where tail[0] == "trn-requests":
            let typed = try decode(Schemas.TrnRequestRequest.self, body)
            return try make(.trnRequest(typed), typed)
        default:
            throw Problem.unsupportedOperation("\(method) \(path) is not a write endpoint of this API.")
        }
    }
}

/// Where a batch operation's body is decoded from.
protocol BatchBodySource {
    func decode<T: Decodable>(_ type: T.Type) throws -> T
}

/// The generated handler's free-form body (re-encoded, then decoded as the endpoint's type).
struct OpenAPIValueContainerBox: BatchBodySource {
    let data: Data
    init(_ value: OpenAPIValueContainer?) {
        data = (try? JSONEncoder().encode(value ?? OpenAPIValueContainer())) ?? Data("null".utf8)
    }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSONText.decoder.decode(T.self, from: data) }
}

/// Field paths of decoding errors, without the offending values.
enum DecodingErrorText {
    static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            .replacingOccurrences(of: ".[", with: "[")
    }

    static func field(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context): return path(context.codingPath + [key])
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            let text = path(context.codingPath)
            return text.isEmpty ? "body" : text
        @unknown default: return "body"
        }
    }

    static func message(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound: return "\(field(error)) is required."
        case .typeMismatch, .valueNotFound: return "\(field(error)) has the wrong type."
        case .dataCorrupted: return "\(field(error)) is not a valid value (or the body is not JSON)."
        @unknown default: return "The body could not be read."
        }
    }
}
