import DQTModel
import Foundation
import OpenAPIRuntime

/// A batch operation's body, read as its endpoint's type once the router knows the endpoint.
enum BatchBody {
    /// A range of the request's bytes that ``JSONReader`` checked.
    case scanned(BatchBodyBytes)
    /// JSON text: the body as the generated types read it, encoded again.
    case encoded(Data)

    /// The generated handler's free-form body (nil: absent).
    static func encoding(_ value: OpenAPIValueContainer?) -> BatchBody {
        .encoded((try? JSONEncoder().encode(value ?? OpenAPIValueContainer())) ?? Data("null".utf8))
    }

    func decode<T: Decodable>(_ type: T.Type) throws(Problem) -> T {
        do {
            switch self {
            case .scanned(let body): return try body.decode(T.self)
            case .encoded(let data): return try JSONText.decoder.decode(T.self, from: data)
            }
        } catch let error as DecodingError {
            throw Problem.invalid(field: DecodingErrorText.field(error), DecodingErrorText.message(error))
        } catch {
            throw Problem.invalid(field: "body", "The body could not be read.")
        }
    }
}

/// A batch request read by the generated types, as the generated handler reads it (each body an
/// `OpenAPIValueContainer`): the answer ``BatchFastPath`` gives for a request its reader does not vouch for.
enum BatchPreparation {
    static func prepare(batchJSON data: Data, principal: Principal, maximumOperations: Int) throws(Problem) -> [Result<WriteRequest, Problem>] {
        let request: Schemas.BatchRequest
        do {
            request = try JSONText.decoder.decode(Schemas.BatchRequest.self, from: data)
        } catch let error as DecodingError {
            throw Problem.invalid(field: DecodingErrorText.field(error), DecodingErrorText.message(error))
        } catch {
            throw Problem.invalid(field: "body", "The body could not be read.")
        }
        return try prepare(batch: request.operations, principal: principal, maximumOperations: maximumOperations)
    }

    static func prepare(
        batch operations: [Schemas.BatchOperation], principal: Principal, maximumOperations: Int
    ) throws(Problem) -> [Result<WriteRequest, Problem>] {
        guard operations.count <= maximumOperations else { throw Problem.batchTooLarge(maximumOperations) }
        return operations.map { operation in
            Result { () throws(Problem) -> WriteRequest in
                try WriteRegistry.prepare(
                    method: operation.method, path: operation.path, body: .encoding(operation.body),
                    idempotencyKey: operation.idempotencyKey,
                    source: operation.source.map { SourceInfo(feed: $0.feed, fileSha256: $0.fileSha256, line: $0.line) },
                    principal: principal)
            }
        }
    }
}
