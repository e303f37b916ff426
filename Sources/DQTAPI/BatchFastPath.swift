import Foundation
import HTTPTypes
import OpenAPIRuntime

/// `POST /v3/batches` without the generic detour: the generated handler would decode every operation's body into an
/// `OpenAPIValueContainer`, re-encode it and decode it again as the endpoint's type. Here each body is decoded once,
/// straight into the generated request type its method and path select, in the same pass as the batch itself, and
/// the response is written directly. Same contract (BatchRequest in, BatchResponse out), same preparation and engine
/// as the generated handler (`APIHandler.runBatch`), which stays as the reference path.
struct BatchFastPath: Sendable {
    let engine: WriteEngine
    let configuration: APIConfiguration
    let metrics: APIMetrics

    private struct Keyed: BatchBodySource {
        let container: KeyedDecodingContainer<Operation.Key>
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try container.decode(T.self, forKey: .body) }
    }

    struct Operation: Decodable {
        enum Key: String, CodingKey { case method, path, body, idempotencyKey, source }
        let prepared: Result<WriteRequest, Problem>

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            do throws(Problem) {
                guard let principal = RequestScope.principal else { throw Problem.unauthorized("No API key.") }
                let method: String
                let path: String
                let key: String?
                let source: Schemas.BatchSource?
                do {
                    method = try container.decode(String.self, forKey: .method)
                    path = try container.decode(String.self, forKey: .path)
                    key = try container.decodeIfPresent(String.self, forKey: .idempotencyKey)
                    source = try container.decodeIfPresent(Schemas.BatchSource.self, forKey: .source)
                } catch let error as DecodingError {
                    throw Problem.invalid(field: DecodingErrorText.field(error), DecodingErrorText.message(error))
                } catch {
                    throw Problem.invalid(field: "operation", "The operation could not be read.")
                }
                prepared = .success(try WritePreparation.prepare(
                    method: method, path: path, body: Keyed(container: container), idempotencyKey: key,
                    source: source.map { SourceInfo(feed: $0.feed, fileSha256: $0.fileSha256, line: $0.line) },
                    principal: principal))
            } catch {
                prepared = .failure(error)
            }
        }
    }

    struct Request: Decodable {
        let operations: [Operation]
    }

    func handle(_ body: HTTPBody?) async throws -> (HTTPResponse, HTTPBody?) {
        guard let principal = RequestScope.principal else { throw Problem.unauthorized("No API key.") }
        guard let body else { throw Problem.invalid(field: "body", "JSON body required.") }
        let data = try await Data(collecting: body, upTo: configuration.maxBodyBytes)
        let request: Request
        do {
            request = try JSONText.decoder.decode(Request.self, from: data)
        } catch let error as DecodingError {
            throw Problem.invalid(field: DecodingErrorText.field(error), DecodingErrorText.message(error))
        }
        guard request.operations.count <= configuration.maxBatchOperations else {
            throw Problem.batchTooLarge(configuration.maxBatchOperations)
        }
        let results = await engine.run(
            request.operations.map(\.prepared),
            context: WriteContext(keyName: principal.keyName, correlationID: RequestScope.correlationID))
        metrics.recordBatch(operations: results.count, failures: results.filter { $0.problem != nil }.count)
        var out = "{\"results\":["
        out.reserveCapacity(results.count * 24)
        for (index, result) in results.enumerated() {
            if index > 0 { out += "," }
            out += "{\"status\":\(result.status)"
            if let body = result.body { out += ",\"body\":" + body }
            if let problem = result.problem { out += ",\"problem\":" + String(decoding: problem.jsonData, as: UTF8.self) }
            if let location = result.location { out += ",\"location\":" + JSONText.string(location) }
            if result.replayed { out += ",\"replayed\":true" }
            out += "}"
        }
        out += "]}"
        var response = HTTPResponse(status: .ok)
        response.headerFields[.contentType] = "application/json; charset=utf-8"
        return (response, HTTPBody(out))
    }
}
