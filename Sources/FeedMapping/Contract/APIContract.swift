import Foundation
import Yams

/// The DQT API's contract (`Sources/DQTAPI/openapi.yaml`, carried in the bridge's binary): its operations and
/// their request schemas, which mappings are checked against when they load.
public struct APIContract: Sendable {
    /// One operation: method, path template and what its request body must be.
    public struct Operation: Sendable {
        public let id: String
        public let method: String
        /// As the contract writes it, e.g. `/v3/persons/{trn}/cpd-induction`.
        public let path: String
        public let queryParameters: Set<String>
        /// The request body's schema; nil for an operation that takes none.
        public let requestBody: ContractSchema?
        public let bodyRequired: Bool
        let segments: [Substring]
    }

    public let operations: [Operation]

    /// The contract the bridge was built with, parsed once.
    public static let shipped: Result<APIContract, ContractError> = Result {
        () throws(ContractError) -> APIContract in
        try APIContract(yaml: String(decoding: PackageResources.openapi_yaml, as: UTF8.self))
    }

    public init(yaml: String) throws(ContractError) {
        let document: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else { throw ContractError("the contract is empty") }
            document = node
        } catch let error as ContractError {
            throw error
        } catch {
            throw ContractError("the contract is not valid YAML: \(error)")
        }
        var resolver = SchemaResolver(document: document)
        var operations: [Operation] = []
        for (pathNode, item) in document.mapping?["paths"]?.mapping ?? [:] {
            guard let path = pathNode.string else { continue }
            for (methodNode, spec) in item.mapping ?? [:] {
                guard let method = methodNode.string, ["get", "put", "post", "patch", "delete"].contains(method) else { continue }
                let query = Set(
                    (spec.mapping?["parameters"]?.sequence ?? []).compactMap { parameter -> String? in
                        guard parameter.mapping?["in"]?.string == "query" else { return nil }
                        return parameter.mapping?["name"]?.string
                    })
                let body = spec.mapping?["requestBody"]
                let schemaNode = body?.mapping?["content"]?.mapping?["application/json"]?.mapping?["schema"]
                operations.append(
                    Operation(
                        id: spec.mapping?["operationId"]?.string ?? "\(method) \(path)", method: method.uppercased(), path: path,
                        queryParameters: query,
                        requestBody: try schemaNode.map { node throws(ContractError) in try resolver.schema(node) },
                        bodyRequired: body?.mapping?["required"]?.string == "true",
                        segments: path.split(separator: "/", omittingEmptySubsequences: false)))
            }
        }
        self.operations = operations
    }

    /// The operation a mapping's method and path stand for: the same method, and the same path segment by segment,
    /// where a `{parameter}` of the contract matches any segment and a literal matches itself.
    public func operation(method: String, path: String) -> Operation? {
        let route = path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path
        let segments = route.split(separator: "/", omittingEmptySubsequences: false)
        return operations.first { operation in
            operation.method == method && operation.segments.count == segments.count
                && zip(operation.segments, segments).allSatisfy { template, segment in
                    template.first == "{" && template.last == "}" ? !segment.isEmpty : template == segment
                }
        }
    }

    /// The methods the contract has for a path (matched as ``operation(method:path:)`` matches), sorted.
    public func methods(path: String) -> [String] {
        Set(operations.map(\.method)).sorted().filter { operation(method: $0, path: path) != nil }
    }

    /// The names a path's query string gives (`a={x}&b=c` gives a and b).
    static func queryNames(of path: String) -> [String] {
        guard let query = path.split(separator: "?", maxSplits: 1).dropFirst().first else { return [] }
        return query.split(separator: "&").map { String($0.split(separator: "=", maxSplits: 1).first ?? "") }
    }
}
