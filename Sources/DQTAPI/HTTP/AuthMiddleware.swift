import Foundation
import Hummingbird

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
