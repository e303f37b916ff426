import HTTPTypes
import Logging
import OpenAPIRuntime

/// Inside the generated server: thrown problems and requests that do not fit the contract become problem+json.
struct ProblemMiddleware: ServerMiddleware {
    let logger: Logger

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        do {
            return try await next(request, body, metadata)
        } catch {
            let underlying = (error as? ServerError)?.underlyingError ?? error
            if let problem = Problem.known(underlying) { return ProblemResponse.http(problem) }
            if let decoding = underlying as? DecodingError {
                return ProblemResponse.http(.invalid(field: DecodingErrorText.field(decoding), DecodingErrorText.message(decoding)))
            }
            if let serverError = error as? ServerError, serverError.operationInput == nil {
                // The request did not fit the contract (missing body, wrong content type, bad parameter).
                return ProblemResponse.http(
                    .invalid(field: "request", "The request does not match the API contract: \(serverError.causeDescription)"))
            }
            logger.error(
                "operation failed",
                metadata: ["operation": "\(operationID)", "error": "\(type(of: underlying))", "correlationId": "\(RequestScope.correlationID)"])
            return ProblemResponse.http(.internalError())
        }
    }
}
