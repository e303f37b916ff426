public import AsyncHTTPClient
import DQTModel
public import Foundation
public import HTTPTypes
import OpenAPIAsyncHTTPClient
public import OpenAPIRuntime

/// Adds `Authorization: Bearer <key>` (and, when set, a correlation id) to every call.
public struct BearerAuthMiddleware: ClientMiddleware {
    let apiKey: String
    let correlationID: (@Sendable () -> String?)?

    public init(apiKey: String, correlationID: (@Sendable () -> String?)? = nil) {
        self.apiKey = apiKey
        self.correlationID = correlationID
    }

    public func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        request.headerFields[.authorization] = "Bearer \(apiKey)"
        if let id = correlationID?(), let name = HTTPField.Name("X-Correlation-Id") { request.headerFields[name] = id }
        return try await next(request, body, baseURL)
    }
}

extension Client {
    /// A client for dqt-api at `baseURL` (e.g. `http://127.0.0.1:8080`) calling with `apiKey`.
    ///
    /// Pass an `HTTPClient` configured with `redirectConfiguration: .disallow` to see 308 (merged record) answers
    /// instead of following them.
    public static func dqtAPI(baseURL: URL, apiKey: String, httpClient: HTTPClient = .shared) -> Client {
        Client(
            serverURL: baseURL, configuration: .init(dateTranscoder: FlexibleDateTranscoder()),
            transport: AsyncHTTPClientTransport(configuration: .init(client: httpClient)),
            middlewares: [BearerAuthMiddleware(apiKey: apiKey)])
    }
}

/// The client's date-times: RFC 3339 as ``RFC3339DateTime`` reads and writes them. Lenient (a field out of range is
/// rolled over, not refused): the client reads only what dqt-api wrote, which the server has already checked.
public struct FlexibleDateTranscoder: DateTranscoder {
    public init() {}
    public func encode(_ date: Date) throws -> String { RFC3339DateTime.format(date) }
    public func decode(_ text: String) throws -> Date { try RFC3339DateTime.parse(text, strict: false) }
}
