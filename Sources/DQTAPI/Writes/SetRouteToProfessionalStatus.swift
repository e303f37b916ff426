import Foundation
import LibPQ

/// `PUT /v3/persons/{trn}/routes-to-professional-statuses/{reference}`: creates or replaces a route to a
/// professional status. A route that brings QTS starts the induction (RequiredToComplete); an exemption exempts.
struct SetRouteToProfessionalStatus: SingleWrite {
    typealias Body = Schemas.RouteToProfessionalStatusRequest
    static let operationID = "setRouteToProfessionalStatus"
    static let method = "PUT"
    static let route = WriteRoute("/v3/persons/{trn}/routes-to-professional-statuses/{reference}")
    static let role = Role.setProfessionalStatus

    let trn: String
    let reference: String
    let body: Body

    init(parameters: [String], body: Body) {
        trn = parameters[0]
        reference = parameters[1]
        self.body = body
    }

    func validate(_ v: inout Validator) {
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
    }

    /// The route's stored `detail` document.
    private struct Detail: Encodable {
        struct Ref: Encodable {
            var reference: String
            var name: String?
        }
        struct Provider: Encodable {
            var ukprn: String
            var name: String?
        }
        struct Degree: Encodable {
            var degreeTypeId: String
            var name: String?
        }
        struct Exemption: Encodable {
            var isExempt: Bool
            var exemptionReasons: [String]
        }
        var trainingSubjects: [Ref]
        var trainingAgeSpecialism: Schemas.TrainingAgeSpecialism?
        var trainingCountry: Ref?
        var trainingProvider: Provider?
        var degreeType: Degree?
        var inductionExemption: Exemption
    }

    func apply(_ request: WriteRequest, in transaction: WriteTransaction) throws -> WriteResult {
        _ = try transaction.requirePerson(trn)
        guard let type = RouteTypes.find(body.routeToProfessionalStatusTypeId) else {
            throw Problem.invalid(field: "routeToProfessionalStatusTypeId", "routeToProfessionalStatusTypeId is not a known route type.")
        }
        let detail = Detail(
            trainingSubjects: (body.trainingSubjectReferences ?? []).map { Detail.Ref(reference: $0, name: nil) },
            trainingAgeSpecialism: body.trainingAgeSpecialism,
            trainingCountry: body.trainingCountryReference.map { Detail.Ref(reference: $0, name: nil) },
            trainingProvider: body.trainingProviderUkprn.map { Detail.Provider(ukprn: $0, name: nil) },
            degreeType: body.degreeTypeId.map { Detail.Degree(degreeTypeId: $0, name: nil) },
            inductionExemption: Detail.Exemption(isExempt: body.isExemptFromInduction ?? false, exemptionReasons: []))
        let before = try transaction.connection.query(
            "SELECT to_json(r)::text AS doc FROM routes r WHERE trn = $1 AND reference = $2", [.text(trn), .text(reference)]
        ).string(0, "doc")
        let after = try transaction.connection.query(
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
            [
                .text(UUID().uuidString.lowercased()), .text(trn), .text(reference), .text(type.id), .text(type.name),
                .text(type.professionalStatusType), .text(body.status.rawValue), body.holdsFrom.map { .text($0) },
                body.trainingStartDate.map { .text($0) }, body.trainingEndDate.map { .text($0) }, .json(try JSONText.encode(detail)),
            ]
        ).string(0, "doc")
        try transaction.audit(request, trn: trn, before: before, after: after)
        // Consequences for the induction: a new QTS needs an induction; an exemption exempts.
        let now = try transaction.loadPerson(trn)!
        var induction: String?
        if body.isExemptFromInduction == true && ["None", "RequiredToComplete"].contains(now.inductionStatus) {
            induction = "Exempt"
        } else if now.qtsDate != nil && now.inductionStatus == "None" {
            induction = "RequiredToComplete"
        }
        if let induction { try transaction.updatePerson(request, now, [("induction_status", .text(induction), "")]) }
        return .success(204)
    }
}

extension APIHandler {
    func setRouteToProfessionalStatus(
        _ input: Operations.SetRouteToProfessionalStatus.Input
    ) async throws -> Operations.SetRouteToProfessionalStatus.Output {
        guard case .json(let body) = input.body else { throw Problem.invalid(field: "body", "JSON body required.") }
        _ = try await write(
            SetRouteToProfessionalStatus.self, body, parameters: [input.path.trn, input.path.reference],
            idempotencyKey: input.headers.idempotencyKey, source: input.headers.xDQTSource)
        return .noContent(.init())
    }
}
