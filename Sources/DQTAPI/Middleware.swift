import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OpenAPIRuntime
import Prometheus

extension HTTPField.Name {
    static let correlationID = Self("X-Correlation-Id")!
    static let retryAfter = Self("Retry-After")!
}

enum ProblemResponse {
    static func response(_ problem: Problem) -> Response {
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        for (name, value) in problem.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        return Response(
            status: .init(code: problem.status), headers: headers,
            body: .init(byteBuffer: ByteBuffer(bytes: problem.jsonData)))
    }

    static func http(_ problem: Problem) -> (HTTPResponse, HTTPBody?) {
        var response = HTTPResponse(status: .init(code: problem.status))
        response.headerFields[.contentType] = "application/problem+json"
        for (name, value) in problem.headers {
            if let field = HTTPField.Name(name) { response.headerFields[field] = value }
        }
        return (response, HTTPBody(problem.jsonData))
    }
}

/// Outermost: correlation id (taken or made, always returned), one JSON log line per request (method, path without
/// its query, status, duration, key name: never a query string or body, which can hold personal data), metrics,
/// and problem+json for anything thrown below.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger
    let metrics: APIMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let given = request.headers[.correlationID]
        let correlationID: String
        if let given, given.utf8.count <= 100, !given.isEmpty,
            given.utf8.allSatisfy({ ASCIIChar.isIDChar($0) })
        {
            correlationID = given
        } else {
            correlationID = UUID().uuidString.lowercased()
        }
        let keyBox = KeyNameBox()
        var response: Response
        do {
            response = try await RequestScope.$correlationID.withValue(correlationID) {
                try await KeyNameBox.$current.withValue(keyBox) { try await next(request, context) }
            }
        } catch let problem as Problem {
            response = ProblemResponse.response(problem)
        } catch let error as HTTPError {
            switch error.status {
            case .contentTooLarge: response = ProblemResponse.response(.bodyTooLarge(0))
            case .notFound:
                response = ProblemResponse.response(Problem(status: 404, errorCode: 10001, title: "Not found.", detail: "No such endpoint."))
            case .methodNotAllowed:
                response = ProblemResponse.response(Problem(status: 405, errorCode: 10100, title: "Method not allowed."))
            default:
                response = ProblemResponse.response(Problem(status: Int(error.status.code), errorCode: 10100, title: error.status.reasonPhrase))
            }
        } catch {
            logger.error("unhandled error", metadata: ["correlationId": "\(correlationID)", "error": "\(type(of: error))"])
            response = ProblemResponse.response(.internalError())
        }
        response.headers[.correlationID] = correlationID
        let elapsed = ContinuousClock.now - start
        let status = Int(response.status.code)
        metrics.record(method: request.method.rawValue, status: status, duration: elapsed)
        let milliseconds = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
        var metadata: Logger.Metadata = [
            "correlationId": "\(correlationID)", "method": "\(request.method.rawValue)", "path": "\(request.uri.path)",
            "status": "\(status)", "durationMs": "\(String(format: "%.2f", milliseconds))",
        ]
        if let key = keyBox.name { metadata["key"] = "\(key)" }
        logger.info("request", metadata: metadata)
        return response
    }
}

enum ASCIIChar {
    static func isIDChar(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || byte == 0x2D || byte == 0x2E || byte == 0x5F
    }
}

/// Carries the authenticated key's name back out to the log middleware.
final class KeyNameBox: Sendable {
    @TaskLocal static var current: KeyNameBox?
    private let storage = Mutex<String?>(nil)
    var name: String? {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}

import Synchronization

/// Request bodies over the limit are 413 (10123), whether or not they declare their length.
struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let limit: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw Problem.bodyTooLarge(limit)
        }
        guard request.method == .post || request.method == .put || request.method == .patch else {
            return try await next(request, context)
        }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch {
            throw Problem.bodyTooLarge(limit)
        }
        request.body = .init(buffer: buffer)
        return try await next(request, context)
    }
}

/// Bearer API keys (401 10120) and the per-key rate limit (429 10122). Operations check roles themselves (403).
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let authenticator: KeyAuthenticator
    let limiter: RateLimiter
    static var openPaths: Set<String> { ["/health/live", "/health/ready", "/metrics", "/openapi.json", "/openapi.yaml", "/docs", "/docs/"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.openPaths.contains(request.uri.path) { return try await next(request, context) }
        guard let header = request.headers[.authorization] else {
            throw Problem.unauthorized("An API key is required: Authorization: Bearer <key>.")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw Problem.unauthorized("The Authorization header must be: Bearer <key>.")
        }
        let key = parts[1].trimmingCharacters(in: .whitespaces)
        guard key.utf8.count <= 200, let principal = try await authenticator.authenticate(key) else {
            throw Problem.unauthorized("The API key is unknown, expired or revoked.")
        }
        KeyNameBox.current?.name = principal.keyName
        if let retryAfter = limiter.check(keyID: principal.keyID, limit: principal.rateLimit) {
            throw Problem.quotaExceeded(limit: principal.rateLimit, window: limiter.windowSeconds, retryAfter: retryAfter)
        }
        return try await RequestScope.$principal.withValue(principal) { try await next(request, context) }
    }
}

/// Inside the generated server: thrown problems and unreadable requests become problem+json.
struct ProblemMiddleware: ServerMiddleware {
    let logger: Logger
    /// When set, `runBatch` is served by the single-pass decoder (see ``BatchFastPath``).
    var batch: BatchFastPath? = nil
    /// When set, `getPerson` answers with the document PostgreSQL built, without decoding and re-encoding it
    /// (same checks, same shape: see ``APIHandler/personDocument(trn:include:dateOfBirth:nationalInsuranceNumber:)``).
    var reads: APIHandler? = nil

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        do {
            if operationID == "runBatch", let batch { return try await batch.handle(body) }
            if operationID == "getPerson", let reads { return try await Self.getPerson(request, reads) }
            return try await next(request, body, metadata)
        } catch {
            let underlying = (error as? ServerError)?.underlyingError ?? error
            if let problem = underlying as? Problem { return ProblemResponse.http(problem) }
            if let decoding = underlying as? DecodingError {
                return ProblemResponse.http(.invalid(field: DecodingErrorText.field(decoding), DecodingErrorText.message(decoding)))
            }
            if let serverError = error as? ServerError, serverError.operationInput == nil {
                // The request did not fit the contract (missing body, wrong content type, bad parameter).
                return ProblemResponse.http(.invalid(field: "request", "The request does not match the API contract: \(serverError.causeDescription)"))
            }
            logger.error(
                "operation failed",
                metadata: ["operation": "\(operationID)", "error": "\(type(of: underlying))", "correlationId": "\(RequestScope.correlationID)"])
            return ProblemResponse.http(.internalError())
        }
    }
}

extension ProblemMiddleware {
    static func getPerson(_ request: HTTPRequest, _ reads: APIHandler) async throws -> (HTTPResponse, HTTPBody?) {
        let full = request.path ?? ""
        let pathPart: Substring
        let queryPart: Substring
        if let mark = full.firstIndex(of: "?") {
            pathPart = full[..<mark]
            queryPart = full[full.index(after: mark)...]
        } else {
            pathPart = full[...]
            queryPart = ""
        }
        let trn = Self.decode(pathPart.split(separator: "/").last ?? "")
        var include: String?
        var dateOfBirth: String?
        var nino: String?
        for pair in queryPart.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let value = parts.count > 1 ? Self.decode(parts[1]) : ""
            switch parts[0] {
            case "include": include = value
            case "dateOfBirth": dateOfBirth = value
            case "nationalInsuranceNumber": nino = value
            default: continue
            }
        }
        let document = try await reads.personDocument(trn: trn, include: include, dateOfBirth: dateOfBirth, nationalInsuranceNumber: nino)
        var response = HTTPResponse(status: .ok)
        response.headerFields[.contentType] = "application/json; charset=utf-8"
        return (response, HTTPBody(document))
    }

    static func decode(_ text: Substring) -> String {
        guard text.contains("%") || text.contains("+") else { return String(text) }
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}

/// Prometheus metrics of the service.
public final class APIMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    static let buckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
    ]

    private struct Instruments: Sendable {
        let counter: Prometheus.Counter
        let histogram: Prometheus.DurationHistogram
    }
    private let instruments = Mutex<[String: Instruments]>([:])

    // Computed: MetricNameDescriptor is not Sendable; the registry keeps one instrument per name and labels.
    private static var requests: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "dqt_api", metricName: "http_requests", unitName: "total", helpText: "HTTP requests by method and status.")
    }
    private static var requestDuration: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "dqt_api", metricName: "http_request_duration", unitName: "seconds", helpText: "HTTP request duration by method.")
    }
    private static var batchOperations: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "dqt_api", metricName: "batch_operations", unitName: "total", helpText: "Batch operations by outcome.")
    }

    func record(method: String, status: Int, duration: Duration) {
        let cacheKey = "\(method) \(status)"
        let found: Instruments
        if let cached = instruments.withLock({ $0[cacheKey] }) {
            found = cached
        } else {
            found = Instruments(
                counter: registry.makeCounter(descriptor: Self.requests, labels: [("method", method), ("status", String(status))]),
                histogram: registry.makeDurationHistogram(descriptor: Self.requestDuration, labels: [("method", method)], buckets: Self.buckets))
            instruments.withLock { $0[cacheKey] = found }
        }
        found.counter.increment()
        found.histogram.recordNanoseconds(Int64(duration.components.seconds) * 1_000_000_000 + Int64(duration.components.attoseconds / 1_000_000_000))
    }

    func recordBatch(operations: Int, failures: Int) {
        registry.makeCounter(descriptor: Self.batchOperations, labels: [("outcome", "applied")]).increment(by: Int64(operations - failures))
        registry.makeCounter(descriptor: Self.batchOperations, labels: [("outcome", "failed")]).increment(by: Int64(failures))
    }
}
