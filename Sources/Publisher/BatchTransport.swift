import DQTModel
import Foundation

/// One write in a batch: a staged record as the API's `POST /v3/batches` takes it.
public struct BatchOperation: Sendable {
    public let method: String
    public let path: String
    /// The request body, JSON text (exactly as staged), or nil.
    public let body: String?
    public let idempotencyKey: String
    public let feed: String
    public let fileSHA256: String
    public let line: Int

    public init(method: String, path: String, body: String?, idempotencyKey: String, feed: String, fileSHA256: String, line: Int) {
        self.method = method
        self.path = path
        self.body = body
        self.idempotencyKey = idempotencyKey
        self.feed = feed
        self.fileSHA256 = fileSHA256
        self.line = line
    }
}

/// The API's result for one operation of a batch.
public struct OperationResult: Sendable {
    public let status: Int
    /// True when the API returned the stored result of an earlier identical request.
    public let replayed: Bool
    /// The problem document (JSON text) for a failure.
    public let problem: String?
    /// For a 308: the kept record.
    public let location: String?
    /// For a success with warnings (e.g. a workforce row whose establishment is unknown): the success body, JSON text
    /// with its `warnings` (codes, fields and messages; never values).
    public let warnings: String?

    public init(status: Int, replayed: Bool = false, problem: String? = nil, location: String? = nil, warnings: String? = nil) {
        self.status = status
        self.replayed = replayed
        self.problem = problem
        self.location = location
        self.warnings = warnings
    }
}

/// How the API answered a whole batch.
public enum BatchReply: Sendable {
    /// 200: one result per operation, in order.
    case results([OperationResult])
    /// Any other status for the whole request (429, 5xx, 401, 413...), with `Retry-After` in seconds when sent and
    /// the problem's text (no personal data: the API's problems never quote values).
    case refused(status: Int, retryAfter: Double?, problem: String?)
}

/// Sends batches to the DQT API. Transport failures (timeouts, refused or reset connections) are thrown as
/// ``TransportFailure``; HTTP answers come back as ``BatchReply``.
public protocol BatchTransport: Sendable {
    func send(_ operations: [BatchOperation]) async throws -> BatchReply
}

/// A batch that never got an HTTP answer: timed out, the connection failed or was reset. Worth retrying.
public struct TransportFailure: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case timeout, connection, protocolError
    }
    public let kind: Kind
    public let message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }
}

/// Builds the JSON request body of `POST /v3/batches` from staged operations, splicing each staged body in as it is
/// (no re-encoding, so the bytes are the same on every attempt and every run).
public enum BatchRequestJSON {
    public static func encode(_ operations: [BatchOperation]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(operations.count * 512)
        out.append(contentsOf: #"{"operations":["#.utf8)
        for (index, operation) in operations.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"method":"#.utf8)
            JSONValue.writeString(operation.method, to: &out)
            out.append(contentsOf: #","path":"#.utf8)
            JSONValue.writeString(operation.path, to: &out)
            if let body = operation.body {
                out.append(contentsOf: #","body":"#.utf8)
                out.append(contentsOf: body.utf8)
            }
            out.append(contentsOf: #","idempotencyKey":"#.utf8)
            JSONValue.writeString(operation.idempotencyKey, to: &out)
            out.append(contentsOf: #","source":{"feed":"#.utf8)
            JSONValue.writeString(operation.feed, to: &out)
            out.append(contentsOf: #","fileSha256":"#.utf8)
            JSONValue.writeString(operation.fileSHA256, to: &out)
            out.append(contentsOf: #","line":"#.utf8)
            out.append(contentsOf: String(operation.line).utf8)
            out.append(contentsOf: "}}".utf8)
        }
        out.append(contentsOf: "]}".utf8)
        return out
    }
}
