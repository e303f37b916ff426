import Foundation
import Testing

@testable import DQTAPI

/// The write registry against the contract: openapi.yaml's write operations and ``WriteRegistry`` name the same
/// endpoints, with the same method, path, role and body; the batch router finds each by its method and path.
@Suite struct WriteRegistryTests {
    /// One operation of openapi.yaml.
    struct ContractOperation: Hashable {
        var operationID: String
        var method: String
        var path: String
        var tags: [String]
        var summary: String
        var bodySchema: String?
    }

    /// Operations that take a body but change nothing themselves: a search, and the batch that carries other writes.
    static let bodiesThatAreNotWrites: Set<String> = ["findPersons", "runBatch"]

    static func contract() throws -> [ContractOperation] {
        let document = try JSONSerialization.jsonObject(with: try OpenAPIDocument.json()) as? [String: Any]
        let paths = try #require(document?["paths"] as? [String: [String: Any]])
        return paths.flatMap { path, item in
            item.compactMap { method, value -> ContractOperation? in
                guard let operation = value as? [String: Any], let id = operation["operationId"] as? String else { return nil }
                let body = ((operation["requestBody"] as? [String: Any])?["content"] as? [String: Any])?["application/json"] as? [String: Any]
                let reference = (body?["schema"] as? [String: Any])?["$ref"] as? String
                return ContractOperation(
                    operationID: id, method: method.uppercased(), path: path, tags: operation["tags"] as? [String] ?? [],
                    summary: operation["summary"] as? String ?? "", bodySchema: reference?.split(separator: "/").last.map(String.init))
            }
        }
    }

    static func writes() throws -> [ContractOperation] {
        try contract().filter { $0.tags.contains("Writes") }
    }

    static func bodyTypeName<Operation: WriteOperation>(_: Operation.Type) -> String {
        String(describing: Operation.Body.self)
    }

    @Test func theContractsWritesAndTheRegistryNameTheSameEndpoints() throws {
        let contract = Set(try Self.writes().map { "\($0.operationID) \($0.method) \($0.path)" })
        let registry = WriteRegistry.operations.map { "\($0.operationID) \($0.method) \($0.route)" }
        #expect(contract.count >= 11)
        #expect(Set(registry) == contract)
        #expect(registry.count == Set(registry).count, "an endpoint is listed twice")
        #expect(Set(WriteRegistry.operations.map { "\($0.method) \($0.route)" }).count == registry.count)
    }

    /// A new operation that takes a body is a write (tagged Writes, so in the registry) unless it is named here.
    @Test func everyOperationWithABodyIsAWriteOrKnownNotToBeOne() throws {
        for operation in try Self.contract() where operation.bodySchema != nil && !operation.tags.contains("Writes") {
            #expect(Self.bodiesThatAreNotWrites.contains(operation.operationID), "\(operation.operationID) takes a body but is not tagged Writes")
        }
        for operation in try Self.contract() where operation.tags.contains("Writes") {
            #expect(operation.method != "GET", "\(operation.operationID)")
        }
    }

    @Test func rolesAndBodiesAreTheContracts() throws {
        let contract = Dictionary(uniqueKeysWithValues: try Self.writes().map { ($0.operationID, $0) })
        for operation in WriteRegistry.operations {
            let stated = try #require(contract[operation.operationID], "\(operation.operationID)")
            #expect(stated.summary.contains("(role \(operation.role.rawValue))"), "\(operation.operationID): \(stated.summary)")
            #expect(stated.bodySchema == Self.bodyTypeName(operation), "\(operation.operationID)")
        }
    }

    /// A path of `route` with a distinct value for each parameter.
    static func example(_ route: WriteRoute) -> (path: String, parameters: [String]) {
        let parameters = route.segments.indices.compactMap { index -> String? in
            route.segments[index].isParameter ? "p\(index)-\(route.segments.count)" : nil
        }
        return (route.path(parameters), parameters)
    }

    static func parts(_ path: String) -> ArraySlice<String> {
        path.split(separator: "/", omittingEmptySubsequences: false).map(String.init).dropFirst()
    }

    @Test func eachRouteResolvesToItsOperation() throws {
        for operation in WriteRegistry.operations {
            let (path, parameters) = Self.example(operation.route)
            let found = try #require(WriteRegistry.operation(method: operation.method, parts: Self.parts(path)), "\(path)")
            #expect(ObjectIdentifier(found.operation) == ObjectIdentifier(operation), "\(operation.method) \(path)")
            #expect(found.parameters == parameters)
            #expect(WriteRegistry.operation(method: "GET", parts: Self.parts(path)) == nil)
        }
    }

    /// Where two routes match one path, the literal segment wins, as it does in the HTTP router.
    @Test func theMoreLiteralRouteWins() throws {
        let deceased = try #require(WriteRegistry.operation(method: "PUT", parts: Self.parts("/v3/persons/deceased/qtls")))
        #expect(ObjectIdentifier(deceased.operation) == ObjectIdentifier(SetDeceased.self))
        #expect(deceased.parameters == ["qtls"])
        let qtls = try #require(WriteRegistry.operation(method: "PUT", parts: Self.parts("/v3/persons/1000001/qtls")))
        #expect(ObjectIdentifier(qtls.operation) == ObjectIdentifier(SetQtls.self))
        let person = try #require(WriteRegistry.operation(method: "PUT", parts: Self.parts("/v3/persons/deceased")))
        #expect(ObjectIdentifier(person.operation) == ObjectIdentifier(UpdatePerson.self))
        #expect(person.parameters == ["deceased"])
    }

    @Test func routesReadAndWriteTheirTemplates() {
        let route = WriteRoute("/v3/persons/{trn}/routes-to-professional-statuses/{reference}")
        #expect(route.description == "/v3/persons/{trn}/routes-to-professional-statuses/{reference}")
        #expect(route.path(["1000001", "ewc-1"]) == "/v3/persons/1000001/routes-to-professional-statuses/ewc-1")
        #expect(route.match(Self.parts("/v3/persons/1000001/routes-to-professional-statuses/ewc-1")) == ["1000001", "ewc-1"])
        #expect(route.match(Self.parts("/v3/persons//routes-to-professional-statuses/")) == ["", ""])
        #expect(route.match(Self.parts("/v3/persons/1000001/routes-to-professional-statuses")) == nil)
        #expect(route.match(Self.parts("/v3/persons/1000001/routes/ewc-1")) == nil)
    }

    /// The batch router: the method in any case, the query left off, segments percent-decoded; the role of the
    /// endpoint it finds is the one required.
    @Test func theBatchRouterPreparesTheEndpointItNames() throws {
        let none = Principal(keyID: 1, keyName: "test-none", roles: [], rateLimit: 1)
        let all = Principal(keyID: 2, keyName: "test-all", roles: Set(Role.allCases), rateLimit: 1)
        func prepare(_ method: String, _ path: String, _ body: String, _ principal: Principal) -> Result<WriteRequest, Problem> {
            Result { () throws(Problem) in
                try WriteRegistry.prepare(
                    method: method, path: path, body: .encoded(Data(body.utf8)), idempotencyKey: "k", source: nil, principal: principal)
            }
        }
        let qtls = try prepare("put", "/v3/persons/1000001/%71tls?x=1", #"{"qtsDate":"2020-01-01"}"#, all).get()
        #expect(qtls.command.operationID == "setQtls")
        #expect(qtls.method == "PUT")
        #expect(qtls.path == "/v3/persons/1000001/%71tls")
        #expect(throws: Problem.forbidden(.assignQtls)) { try prepare("PUT", "/v3/persons/1000001/qtls", #"{"qtsDate":null}"#, none).get() }
        let employment = employmentBody(trn: "1000001").replacingOccurrences(of: "\n", with: "")
        let row = try prepare("PUT", "/v3/persons/1000001/employments/\(employmentKey(trn: "1000001"))", employment, all).get()
        #expect(row.command.isEmployment && row.command.operationID == "upsertEmployment")
        // The workforce role is checked before the body is read.
        #expect(throws: Problem.forbidden(.setWorkforceData)) { try prepare("PUT", "/v3/persons/1/employments/x", "[]", none).get() }
        let unknown = prepare("DELETE", "/v3/persons/1000001", "{}", all)
        #expect(throws: Problem.unsupportedOperation("DELETE /v3/persons/1000001 is not a write endpoint of this API.")) { try unknown.get() }
    }
}
