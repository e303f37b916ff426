import Foundation

/// What every direct write endpoint's handler does (each handler is in its endpoint's file, beside the rules it
/// serves): prepare the request as the endpoint says, apply it alone, answer with its result or throw its problem.
extension APIHandler {
    func write<Operation: WriteOperation>(
        _ operation: Operation.Type, _ body: Operation.Body, parameters: [String], idempotencyKey: String?, source: String?
    ) async throws -> WriteResult {
        let principal = try principal()
        let envelope = WriteEnvelope(
            path: Operation.route.path(parameters), idempotencyKey: idempotencyKey, source: SourceInfo(header: source))
        let request = try Operation.prepare(body, parameters: parameters, envelope: envelope, principal: principal)
        let result = try await engine.run(
            [.success(request)], context: WriteContext(keyName: principal.keyName, correlationID: RequestScope.correlationID))[0]
        if let problem = result.problem { throw problem }
        return result
    }

    /// The success body of `result` as the endpoint's generated type.
    func decodeBody<T: Decodable>(_ type: T.Type, _ result: WriteResult) throws -> T {
        try JSONText.decoder.decode(T.self, from: Data((result.body ?? "null").utf8))
    }
}
