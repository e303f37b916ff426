public import AsyncHTTPClient
import DQTAPIClient
public import Foundation
public import HTTPTypes
import NIOCore
import OpenAPIAsyncHTTPClient
public import OpenAPIRuntime
public import Publisher

/// The HTTP client the transports share: timeouts from the configuration, no redirects followed (a 308 is an answer),
/// one pooled connection per batch the publisher keeps in flight.
public func makeBridgeHTTPClient(timeoutSeconds: Double, connections: Int) -> HTTPClient {
    var configuration = HTTPClient.Configuration()
    configuration.redirectConfiguration = .disallow
    configuration.timeout = .init(connect: .seconds(10), read: .milliseconds(Int64(timeoutSeconds * 1000)))
    configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, connections))
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
}

/// `POST /v3/batches` through the client generated from the API's contract (`DQTAPIClient`, over AsyncHTTPClient):
/// the generated client makes the call (route, headers, bearer key) and decodes the typed answer.
///
/// The request's JSON is the contract's `BatchRequest`, written by ``BatchRequestJSON`` with each staged body spliced
/// in byte for byte, and handed to the generated client's transport by ``StagedBatchBodyMiddleware``: decoding every
/// staged body into `OpenAPIValueContainer` and encoding it again cost more CPU than the API's own work (measured:
/// 60 % of the bridge's time on a 100,000-row file), and re-encoding could reorder a body's members.
public struct GeneratedClientTransport: BatchTransport {
    let client: Client

    public init(baseURL: URL, apiKey: String, httpClient: HTTPClient) {
        client = Client(
            serverURL: baseURL,
            transport: AsyncHTTPClientTransport(configuration: .init(client: httpClient)),
            middlewares: [BearerAuthMiddleware(apiKey: apiKey), StagedBatchBodyMiddleware()])
    }

    public func send(_ operations: [BatchOperation]) async throws -> BatchReply {
        let bytes = BatchRequestJSON.encode(operations)
        let output: Operations.RunBatch.Output
        do {
            output = try await StagedBatchBodyMiddleware.$stagedBody.withValue(bytes) {
                try await client.runBatch(body: .json(.init(operations: [])))
            }
        } catch let error as ClientError {
            throw Self.failure(error)
        }
        switch output {
        case .ok(let ok):
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return .results(
                try ok.body.json.results.map { result in
                    OperationResult(
                        status: result.status, replayed: result.replayed ?? false,
                        problem: try result.problem.map { String(decoding: try encoder.encode($0), as: UTF8.self) },
                        location: result.location, warnings: try Self.warnings(in: result.body, encoder: encoder))
                })
        case .tooManyRequests(let response):
            return .refused(status: 429, retryAfter: response.headers.retryAfter.map(Double.init), problem: Self.text(response.body))
        case .serviceUnavailable(let response):
            return .refused(status: 503, retryAfter: response.headers.retryAfter.map(Double.init), problem: Self.text(response.body))
        case .unauthorized(let response):
            return .refused(status: 401, retryAfter: nil, problem: Self.text(response.body))
        case .badRequest(let response):
            return .refused(status: 400, retryAfter: nil, problem: Self.text(response.body))
        case .contentTooLarge(let response):
            return .refused(status: 413, retryAfter: nil, problem: Self.text(response.body))
        case .undocumented(let status, let payload):
            var problem: String?
            if let body = payload.body { problem = try? await String(collecting: body, upTo: 64 * 1024) }
            let retryAfter = payload.headerFields[HTTPField.Name("Retry-After")!].flatMap(Double.init)
            return .refused(status: status, retryAfter: retryAfter, problem: problem)
        }
    }

    static func text<Body: Sendable>(_ body: Body) -> String? {
        // The documented error bodies are problem documents: keep their title and detail only.
        let mirror = Mirror(reflecting: body)
        guard let problem = mirror.children.first?.value as? Components.Schemas.Problem else { return nil }
        return "\(problem.title)\(problem.detail.map { ": \($0)" } ?? "") (\(problem.errorCode))"
    }

    /// Errors that never got an HTTP answer (timeouts, refused or reset connections, a cut-off response) are worth
    /// retrying; the idempotency keys make a retry of an applied batch harmless.
    /// A success body's text when it holds warnings (a non-empty `warnings` array), kept with the record.
    static func warnings(in body: OpenAPIValueContainer?, encoder: JSONEncoder) throws -> String? {
        guard let body, let object = body.value as? [String: (any Sendable)?], let warnings = object["warnings"] as? [(any Sendable)?],
            !warnings.isEmpty
        else { return nil }
        return String(decoding: try encoder.encode(body), as: UTF8.self)
    }

    static func failure(_ error: ClientError) -> TransportFailure {
        let cause = "\(error.underlyingError)"
        let timeout = cause.localizedCaseInsensitiveContains("timeout") || cause.localizedCaseInsensitiveContains("timedOut")
        return TransportFailure(
            kind: timeout ? .timeout : .connection, message: String(describing: type(of: error.underlyingError)) + ": " + String(cause.prefix(300)))
    }
}

/// Replaces the body of a `runBatch` request with the staged bytes of the task-local ``stagedBody`` (when set).
public struct StagedBatchBodyMiddleware: ClientMiddleware {
    @TaskLocal public static var stagedBody: [UInt8]?

    public init() {}

    public func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard operationID == "runBatch", let bytes = Self.stagedBody else { return try await next(request, body, baseURL) }
        var request = request
        request.headerFields[.contentLength] = String(bytes.count)
        return try await next(request, HTTPBody(bytes), baseURL)
    }
}
