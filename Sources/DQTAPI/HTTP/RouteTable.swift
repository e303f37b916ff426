import HTTPTypes
import Hummingbird
import OpenAPIHummingbird
import OpenAPIRuntime

/// Every route of the service, registered in one place: the transport the generated server registers its operations
/// on, the operations that have a handler of their own (``DirectOperations``), and the documents served beside the
/// contract. ``finish()`` then makes every path answer the methods it does not take with 405 and `Allow`.
///
/// Invariants: an operation has exactly one handler (one given to ``serveDirectly(_:_:_:)`` is never registered with
/// its generated handler), and a direct handler serves an operation the contract declares (``finish()`` throws
/// otherwise, so a renamed path fails at startup instead of going unserved).
final class RouteTable: ServerTransport {
    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    struct Route: Hashable {
        var method: HTTPRequest.Method
        var path: String
    }

    struct UndeclaredDirectRoute: Error, CustomStringConvertible {
        var route: Route
        var description: String { "\(route.method) \(route.path) has a direct handler but is not an operation of openapi.yaml" }
    }

    /// The methods a path is answered for: those it takes, and 405 for the rest (the methods of RFC 9110 and
    /// PATCH and QUERY; other names are unknown methods, and 404).
    static let answeredMethods: [HTTPRequest.Method] = [
        .get, .head, .post, .put, .patch, .delete, .options, .trace, .connect, HTTPRequest.Method("QUERY")!,
    ]

    private let router: Router<BasicRequestContext>
    private var direct: [Route: Handler] = [:]
    private var declared: Set<Route> = []
    /// Each path with the methods it takes, in registration order.
    private var paths: [(path: String, methods: [HTTPRequest.Method])] = []

    init(router: Router<BasicRequestContext>) { self.router = router }

    /// `handler` alone serves the contract's operation at `method` and `path` (the path as openapi.yaml writes it).
    func serveDirectly(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) {
        direct[Route(method: method, path: path)] = handler
    }

    /// A route outside the contract (its documents, metrics).
    func add(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) {
        record(method, path)
        router.on(RouterPath(path), method: method, use: handler)
    }

    /// ServerTransport: the generated server's operations.
    func register(
        _ handler: @escaping @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?),
        method: HTTPRequest.Method, path: String
    ) throws {
        let route = Route(method: method, path: path)
        declared.insert(route)
        if let own = direct[route] {
            add(method, path, own)
        } else {
            record(method, path)
            router.register(handler, method: method, path: path)
        }
    }

    /// Checks that every direct handler took an operation's place, and registers the 405 answers.
    func finish() throws {
        if let stray = direct.keys.first(where: { !declared.contains($0) }) { throw UndeclaredDirectRoute(route: stray) }
        for (path, taken) in paths {
            let allowed = taken.map(\.rawValue)
            for method in Self.answeredMethods where !taken.contains(method) {
                router.on(RouterPath(path), method: method) { request, _ -> Response in
                    throw Problem.methodNotAllowed(request.method.rawValue, allowed: allowed)
                }
            }
        }
    }

    private func record(_ method: HTTPRequest.Method, _ path: String) {
        if let index = paths.firstIndex(where: { $0.path == path }) {
            paths[index].methods.append(method)
        } else {
            paths.append((path, [method]))
        }
    }
}
