import Foundation

/// Every write endpoint of the API. The batch router finds an operation's endpoint here by its method and path;
/// `WriteRegistryTests` holds this list and openapi.yaml's write operations to each other.
enum WriteRegistry {
    static let operations: [any WriteOperation.Type] = [
        CapitaImportPerson.self,
        UpdatePerson.self,
        PatchPerson.self,
        SetWelshInduction.self,
        SetCpdInduction.self,
        SetRouteToProfessionalStatus.self,
        SetDeceased.self,
        SetQtls.self,
        UpsertEmployment.self,
        CreateAlert.self,
        UpdateAlert.self,
        EndAlert.self,
        CreateTrnRequest.self,
        UpsertEstablishment.self,
        UpsertTpsEstablishment.self,
    ]

    /// The operations in the order the router tries them: of two routes that match one path, the more literal first.
    private static let routes: [(method: String, route: WriteRoute, operation: any WriteOperation.Type)] =
        operations.map { ($0.method, $0.route, $0) }.sorted { $0.route.takesPrecedence(over: $1.route) }

    /// The endpoint `method` (upper case) and `parts` (a path's segments after its leading `/`, percent-decoded)
    /// name, with the route's parameters.
    static func operation(method: String, parts: ArraySlice<String>) -> (operation: any WriteOperation.Type, parameters: [String])? {
        for entry in routes where entry.method == method {
            if let parameters = entry.route.match(parts) { return (entry.operation, parameters) }
        }
        return nil
    }

    /// A batch operation, prepared as the endpoint its method and path name prepares a direct call.
    static func prepare(
        method rawMethod: String, path rawPath: String, body: BatchBody, idempotencyKey: String?, source: SourceInfo?,
        principal: Principal
    ) throws(Problem) -> WriteRequest {
        let method = rawMethod.uppercased()
        // Split on ASCII bytes (no scalar straddles them), not Characters: this runs for every operation of a batch.
        let path = rawPath.utf8.firstIndex(of: UInt8(ascii: "?")).map { String(rawPath[..<$0]) } ?? rawPath
        let parts = path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map { bytes in
            let part = String(decoding: bytes, as: UTF8.self)
            return bytes.contains(UInt8(ascii: "%")) ? (part.removingPercentEncoding ?? part) : part
        }
        // parts[0] is "" (the leading slash).
        guard parts.first?.isEmpty == true, let found = operation(method: method, parts: parts.dropFirst()) else {
            throw Problem.unsupportedOperation("\(method) \(path) is not a write endpoint of this API.")
        }
        return try found.operation.prepare(
            batchBody: body, parameters: found.parameters,
            envelope: WriteEnvelope(path: path, idempotencyKey: idempotencyKey, source: source), principal: principal)
    }
}
