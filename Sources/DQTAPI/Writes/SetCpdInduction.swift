import Foundation
import LibPQ

/// `PUT /v3/persons/{trn}/cpd-induction`: an appropriate body's induction outcome. Needs QTS; an update older than
/// the stored one (`modifiedOn`) is stale.
struct SetCpdInduction: PersonWrite {
    typealias Body = Schemas.CpdInductionRequest
    static let operationID = "setCpdInduction"
    static let method = "PUT"
    static let route = WriteRoute("/v3/persons/{trn}/cpd-induction")
    static let role = Role.setCpdInduction

    let trn: String
    let body: Body

    func validate(_ v: inout Validator) {
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
    }

    func apply(_ request: WriteRequest, in transaction: WriteTransaction) throws -> WriteResult {
        let person = try transaction.requirePerson(trn)
        guard let qts = person.qtsDate else { throw Problem.noQts() }
        if let stored = person.inductionModifiedOn, body.modifiedOn < stored.addingTimeInterval(-0.000_5) { throw Problem.stale() }
        if let start = body.startDate, start < qts { throw Problem.beforeQts("startDate") }
        try transaction.updatePerson(
            request, person,
            [
                ("induction_status", .text(body.status.rawValue), ""),
                ("induction_start", body.startDate.map { .text($0) }, "::date"),
                ("induction_completed", body.completedDate.map { .text($0) }, "::date"),
                ("induction_modified_on", .timestamp(body.modifiedOn), "::timestamptz"),
            ])
        return .success(204)
    }
}

extension APIHandler {
    func setCpdInduction(_ input: Operations.SetCpdInduction.Input) async throws -> Operations.SetCpdInduction.Output {
        guard case .json(let body) = input.body else { throw Problem.invalid(field: "body", "JSON body required.") }
        _ = try await write(
            SetCpdInduction.self, body, parameters: [input.path.trn],
            idempotencyKey: input.headers.idempotencyKey, source: input.headers.xDQTSource)
        return .noContent(.init())
    }
}
