import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

extension HTTPField.Name {
    static let correlationID = Self("X-Correlation-Id")!
}

/// Outermost: correlation id (taken or made, always returned), one JSON log line per request (method, path without
/// its query, status, duration, key name: never a query string or body, which can hold personal data), metrics,
/// and problem+json for anything thrown below (a lost database is 503 with `Retry-After`, never 500).
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
            default:
                response = ProblemResponse.response(Problem(status: Int(error.status.code), errorCode: 10100, title: error.status.reasonPhrase))
            }
        } catch {
            if let problem = Problem.known(error) {
                response = ProblemResponse.response(problem)
            } else {
                logger.error("unhandled error", metadata: ["correlationId": "\(correlationID)", "error": "\(type(of: error))"])
                response = ProblemResponse.response(.internalError())
            }
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
