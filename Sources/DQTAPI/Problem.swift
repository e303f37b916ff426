public import Foundation
import LibPQ

/// An RFC 7807 problem with the DQT `errorCode`, thrown by handlers and the write engine and rendered as
/// `application/problem+json`. Messages never contain personal data: they name fields, never values.
public struct Problem: Error, Sendable, Equatable, Codable {
    public var type: String?
    public var title: String
    public var status: Int
    public var detail: String?
    public var errorCode: Int
    public var errors: [String: [String]]?
    /// Response headers (Location for 308, Retry-After for 429 and 503); not part of the body.
    public var headers: [String: String]

    enum CodingKeys: String, CodingKey { case type, title, status, detail, errorCode, errors }

    public init(
        status: Int, errorCode: Int, title: String, detail: String? = nil, errors: [String: [String]]? = nil,
        headers: [String: String] = [:]
    ) {
        self.type = Problem.typeURI(status)
        self.title = title
        self.status = status
        self.detail = detail
        self.errorCode = errorCode
        self.errors = errors
        self.headers = headers
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decodeIfPresent(String.self, forKey: .type)
        title = try container.decode(String.self, forKey: .title)
        status = try container.decode(Int.self, forKey: .status)
        detail = try container.decodeIfPresent(String.self, forKey: .detail)
        errorCode = try container.decode(Int.self, forKey: .errorCode)
        errors = try container.decodeIfPresent([String: [String]].self, forKey: .errors)
        headers = [:]
    }

    static func typeURI(_ status: Int) -> String {
        switch status {
        case 400: "https://tools.ietf.org/html/rfc9110#section-15.5.1"
        case 401: "https://tools.ietf.org/html/rfc9110#section-15.5.2"
        case 403: "https://tools.ietf.org/html/rfc9110#section-15.5.4"
        case 404: "https://tools.ietf.org/html/rfc9110#section-15.5.5"
        case 405: "https://tools.ietf.org/html/rfc9110#section-15.5.6"
        case 408: "https://tools.ietf.org/html/rfc9110#section-15.5.9"
        case 409: "https://tools.ietf.org/html/rfc9110#section-15.5.10"
        case 410: "https://tools.ietf.org/html/rfc9110#section-15.5.11"
        case 413: "https://tools.ietf.org/html/rfc9110#section-15.5.14"
        case 414: "https://tools.ietf.org/html/rfc9110#section-15.5.15"
        case 422: "https://tools.ietf.org/html/rfc9110#section-15.5.21"
        case 429: "https://tools.ietf.org/html/rfc6585#section-4"
        case 431: "https://tools.ietf.org/html/rfc6585#section-5"
        case 308: "https://tools.ietf.org/html/rfc9110#section-15.4.9"
        case 503: "https://tools.ietf.org/html/rfc9110#section-15.6.4"
        default: "https://tools.ietf.org/html/rfc9110#section-15.6.1"
        }
    }

    /// The problem's JSON: every response and batch result that carries a problem writes this text.
    public var jsonData: Data {
        (try? JSONText.canonicalEncoder.encode(self)) ?? Data(#"{"title":"Internal error.","status":500,"errorCode":10130}"#.utf8)
    }

    // MARK: The catalogue (see openapi.yaml's description).

    public static func personNotFound() -> Problem {
        Problem(status: 404, errorCode: 10001, title: "Person not found.", detail: "No person has this TRN.")
    }
    public static func notFound(_ what: String) -> Problem {
        Problem(status: 404, errorCode: 10001, title: "Not found.", detail: "\(what) was not found.")
    }
    /// A method the path does not take; `Allow` lists those it does.
    public static func methodNotAllowed(_ method: String, allowed: [String]) -> Problem {
        let list = allowed.joined(separator: ", ")
        return Problem(
            status: 405, errorCode: 10100, title: "Method not allowed.", detail: "This path takes \(list), not \(method).",
            headers: ["Allow": list])
    }
    public static func trnRequestExists() -> Problem {
        Problem(
            status: 409, errorCode: 10029, title: "TRN request already created.",
            detail: "A TRN request with this requestId exists: poll GET /v3/trn-requests?requestId=.")
    }
    public static func stale() -> Problem {
        Problem(
            status: 400, errorCode: 10033, title: "Stale request.",
            detail: "modifiedOn is older than the stored induction's; the update is ignored.")
    }
    public static func noQts() -> Problem {
        Problem(status: 400, errorCode: 10034, title: "Person does not have QTS.", detail: "This change needs QTS.")
    }
    public static func deactivated() -> Problem {
        Problem(status: 410, errorCode: 10058, title: "Record deactivated.", detail: "This TRN's record is deactivated.")
    }
    public static func merged(into trn: String, location: String) -> Problem {
        Problem(
            status: 308, errorCode: 10059, title: "Record merged.",
            detail: "This TRN's record was merged into \(trn).", headers: ["Location": location])
    }
    public static func invalid(_ errors: [String: [String]], detail: String = "One or more fields are invalid.") -> Problem {
        Problem(status: 400, errorCode: 10100, title: "Invalid request.", detail: detail, errors: errors)
    }
    public static func invalid(field: String, _ message: String) -> Problem { invalid([field: [message]]) }
    public static func dateOfBirthMismatch() -> Problem {
        Problem(
            status: 400, errorCode: 10101, title: "Date of birth does not match.",
            detail: "The date of birth given is not the person's.", errors: ["dateOfBirth": ["date of birth does not match"]])
    }
    public static func inductionStatusConflict(_ status: String) -> Problem {
        Problem(
            status: 400, errorCode: 10102, title: "Induction status does not allow this change.",
            detail: "The person's induction is already \(status).")
    }
    public static func beforeQts(_ field: String) -> Problem {
        Problem(
            status: 400, errorCode: 10103, title: "Date before QTS.", detail: "\(field) is before the person's QTS date.",
            errors: [field: ["\(field) is before the QTS date"]])
    }
    public static func piiLocked() -> Problem {
        Problem(
            status: 400, errorCode: 10104, title: "Personal details cannot be changed.",
            detail: "The person holds QTS or EYTS: personal details can no longer be changed through this endpoint.")
    }
    public static func employmentKeyMismatch(_ message: String) -> Problem {
        Problem(
            status: 400, errorCode: 10105, title: "Employment key does not match.", detail: message,
            errors: ["employmentKey": [message]])
    }
    public static func establishmentClosed() -> Problem {
        Problem(
            status: 422, errorCode: 10106, title: "Establishment closed.",
            detail: "The establishment closed before the employment's start date.")
    }
    public static func alertEnded() -> Problem {
        Problem(status: 409, errorCode: 10107, title: "Alert ended.", detail: "The alert has been ended; it no longer changes.")
    }
    public static func alertReferenceTaken() -> Problem {
        Problem(
            status: 409, errorCode: 10108, title: "Alert reference in use.",
            detail: "This source's reference already names an alert for another person.")
    }
    public static func idempotencyConflict() -> Problem {
        Problem(
            status: 422, errorCode: 10110, title: "Idempotency key reused.",
            detail: "This Idempotency-Key was used for a different request (method, path or body).")
    }
    public static func unauthorized(_ detail: String) -> Problem {
        Problem(status: 401, errorCode: 10120, title: "Unauthorized.", detail: detail)
    }
    public static func forbidden(_ role: Role) -> Problem {
        Problem(status: 403, errorCode: 10121, title: "Forbidden.", detail: "This operation needs the role \(role.rawValue).")
    }
    public static func quotaExceeded(limit: Int, window: Int, retryAfter: Int) -> Problem {
        Problem(
            status: 429, errorCode: 10122, title: "API calls quota exceeded",
            detail: "A maximum of \(limit) calls per \(window) seconds are permitted.",
            headers: ["Retry-After": String(retryAfter)])
    }
    public static func bodyTooLarge(_ limit: Int) -> Problem {
        Problem(status: 413, errorCode: 10123, title: "Request too large.", detail: "The request body exceeds \(limit) bytes.")
    }
    public static func batchTooLarge(_ limit: Int) -> Problem {
        Problem(
            status: 413, errorCode: 10124, title: "Too many operations.",
            detail: "A batch holds at most \(limit) operations.")
    }
    public static func unsupportedOperation(_ detail: String) -> Problem {
        Problem(status: 400, errorCode: 10125, title: "Unsupported batch operation.", detail: detail)
    }
    public static func internalError() -> Problem {
        Problem(status: 500, errorCode: 10130, title: "Internal error.", detail: "The request failed; see the server log by correlation id.")
    }
    /// How long a client is asked to wait while the database is unreachable: about the time PostgreSQL takes to
    /// restart, so a client retrying after it neither hammers the service nor waits much longer than the outage.
    public static let databaseRetryAfterSeconds = 5
    public static func databaseUnavailable() -> Problem {
        Problem(
            status: 503, errorCode: 10131, title: "Service unavailable.", detail: "The database is unavailable; retry later.",
            headers: ["Retry-After": String(databaseRetryAfterSeconds)])
    }
    /// The problem a request that failed with `error` gets when the error says what went wrong, else nil.
    public static func known(_ error: any Error) -> Problem? {
        if let problem = error as? Problem { return problem }
        if let database = error as? PGError, database.kind == .connection { return .databaseUnavailable() }
        return nil
    }
    public static func malformedRequest() -> Problem {
        Problem(status: 400, errorCode: 10100, title: "Invalid request.", detail: "The request is not valid HTTP/1.1.")
    }
    public static func requestTimeout(_ part: String, limit: Duration) -> Problem {
        let seconds = Double(limit.components.seconds) + Double(limit.components.attoseconds) / 1e18
        return Problem(
            status: 408, errorCode: 10126, title: "Request timeout.",
            detail: "The request's \(part) did not arrive within \(String(format: "%g", seconds)) s.")
    }
    public static func uriTooLong(_ limit: Int) -> Problem {
        Problem(status: 414, errorCode: 10127, title: "URI too long.", detail: "The request line exceeds \(limit) bytes.")
    }
    public static func headersTooLarge(_ limit: Int) -> Problem {
        Problem(
            status: 431, errorCode: 10128, title: "Request header fields too large.",
            detail: "The request's header fields exceed \(limit) bytes (or there are too many).")
    }
}

/// Field paths of decoding errors, without the offending values.
enum DecodingErrorText {
    static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            .replacingOccurrences(of: ".[", with: "[")
    }

    static func field(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context): return path(context.codingPath + [key])
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            let text = path(context.codingPath)
            return text.isEmpty ? "body" : text
        @unknown default: return "body"
        }
    }

    static func message(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound: return "\(field(error)) is required."
        case .typeMismatch, .valueNotFound: return "\(field(error)) has the wrong type."
        case .dataCorrupted: return "\(field(error)) is not a valid value (or the body is not JSON)."
        @unknown default: return "The body could not be read."
        }
    }
}
