import DQTModel
import Foundation
import HTTPTypes
import OpenAPIRuntime

/// `POST /v3/batches` without the generic detour: the generated handler (`APIHandler.runBatch`, the reference path)
/// decodes every operation's body into an `OpenAPIValueContainer`, re-encodes it and decodes it again as the
/// endpoint's type. Here ``JSONReader`` reads the envelope from the request's bytes and leaves each body as a byte
/// range: a workforce body is read straight into its request type, any other body is decoded once by `JSONDecoder`.
/// A request the reader does not vouch for is decoded whole by the reference path's Codable types instead, so every
/// input gets the reference path's results and errors. Same preparation and engine; the response is written directly.
struct BatchFastPath: Sendable {
    let engine: WriteEngine
    let configuration: APIConfiguration
    let metrics: APIMetrics

    /// One operation as the reader found it, its body a range of the request's bytes (nil when absent or null).
    struct ScannedOperation {
        var method: String
        var path: String
        var idempotencyKey: String?
        var source: SourceInfo?
        var body: Range<Int>?
    }

    func handle(_ body: HTTPBody?) async throws -> (HTTPResponse, HTTPBody?) {
        guard let principal = RequestScope.principal else { throw Problem.unauthorized("No API key.") }
        guard let body else { throw Problem.invalid(field: "body", "JSON body required.") }
        let data = try await Data(collecting: body, upTo: configuration.maxBodyBytes)
        let prepared = try Self.prepare(data, principal: principal, maximumOperations: configuration.maxBatchOperations)
        let results = try await engine.run(
            prepared, context: WriteContext(keyName: principal.keyName, correlationID: RequestScope.correlationID))
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

    /// The batch request `data`, prepared operation by operation (what the reference path prepares for it).
    static func prepare(_ data: Data, principal: Principal, maximumOperations: Int) throws(Problem) -> [Result<WriteRequest, Problem>] {
        guard let operations = data.withUnsafeBytes({ try? scan($0.assumingMemoryBound(to: UInt8.self)) }) else {
            return try BatchPreparation.prepare(batchJSON: data, principal: principal, maximumOperations: maximumOperations)
        }
        guard operations.count <= maximumOperations else { throw Problem.batchTooLarge(maximumOperations) }
        return data.withUnsafeBytes { raw in
            let bytes = raw.assumingMemoryBound(to: UInt8.self)
            return operations.map { operation in
                Result { () throws(Problem) -> WriteRequest in
                    try WriteRegistry.prepare(
                        method: operation.method, path: operation.path,
                        body: .scanned(BatchBodyBytes(request: data, bytes: bytes, range: operation.body)),
                        idempotencyKey: operation.idempotencyKey, source: operation.source, principal: principal)
                }
            }
        }
    }

    /// The envelope `{"operations":[{method, path, body, idempotencyKey, source}...]}`, nothing more or less.
    static func scan(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONReader.Unsure) -> [ScannedOperation] {
        var reader = JSONReader(bytes)
        var operations: [ScannedOperation]?
        try reader.enterObject()
        while let key = try reader.nextKey(after: operations == nil ? 0 : 1) {
            guard operations == nil, reader.isKey(key, "operations") else { throw JSONReader.Unsure() }
            var list: [ScannedOperation] = []
            try reader.enterArray()
            while try reader.nextElement(after: list.count) { list.append(try operation(&reader)) }
            operations = list
        }
        try reader.end()
        guard let operations else { throw JSONReader.Unsure() }
        return operations
    }

    private static func operation(_ reader: inout JSONReader) throws(JSONReader.Unsure) -> ScannedOperation {
        var method: String?
        var path: String?
        var idempotencyKey: String?
        var source: SourceInfo?
        var body: Range<Int>?
        try reader.members { reader, key throws(JSONReader.Unsure) in
            if reader.isKey(key, "method") {
                method = try reader.plainString()
                return 0
            } else if reader.isKey(key, "path") {
                path = try reader.plainString()
                return 1
            } else if reader.isKey(key, "body") {
                reader.skipWhitespace()
                let start = reader.position
                if case .null = try reader.value(depth: 3) { body = nil } else { body = start..<reader.position }
                return 2
            } else if reader.isKey(key, "idempotencyKey") {
                idempotencyKey = try reader.plainString(orNull: true)
                return 3
            } else if reader.isKey(key, "source") {
                source = try self.source(&reader)
                return 4
            }
            throw JSONReader.Unsure()
        }
        guard let method, let path else { throw JSONReader.Unsure() }
        return ScannedOperation(method: method, path: path, idempotencyKey: idempotencyKey, source: source, body: body)
    }

    private static func source(_ reader: inout JSONReader) throws(JSONReader.Unsure) -> SourceInfo? {
        reader.skipWhitespace()
        if reader.position < reader.bytes.count, reader.bytes[reader.position] == UInt8(ascii: "n") {
            guard case .null = try reader.value(depth: 3) else { throw JSONReader.Unsure() }
            return nil
        }
        var feed: String?
        var fileSha256: String?
        var line: Int?
        try reader.members { reader, key throws(JSONReader.Unsure) in
            if reader.isKey(key, "feed") {
                feed = try reader.plainString(orNull: true)
                return 0
            } else if reader.isKey(key, "fileSha256") {
                fileSha256 = try reader.plainString(orNull: true)
                return 1
            } else if reader.isKey(key, "line") {
                switch try reader.value(depth: 4) {
                case .integer(let range): line = reader.integerValue(range)
                case .null: line = nil
                default: throw JSONReader.Unsure()
                }
                return 2
            }
            throw JSONReader.Unsure()
        }
        return SourceInfo(feed: feed, fileSha256: fileSha256, line: line)
    }

    /// A workforce body read straight into the generated type when every member is one its synthesized decoder reads
    /// without question (a known key; an escape-free string, `null` for an optional field, a bool for `withdrawn`;
    /// every required field present); nil otherwise, and `JSONDecoder` reads it (and words any error).
    static func employment(_ bytes: UnsafeBufferPointer<UInt8>, body: Range<Int>) -> Schemas.EmploymentRequest? {
        guard bytes[body.lowerBound] == UInt8(ascii: "{") else { return nil }
        var reader = JSONReader(bytes, at: body.lowerBound)
        var text: [String?] = Array(repeating: nil, count: employmentTextFields.count)
        var employmentType: Schemas.EmploymentRequest.EmploymentTypePayload?
        var withdrawn: Bool?
        var gender: Schemas.EmploymentRequest.GenderPayload?
        do throws(JSONReader.Unsure) {
            try reader.members { reader, key throws(JSONReader.Unsure) in
                let value = try reader.value(depth: 4)
                if reader.isKey(key, "withdrawn") {
                    guard case .bool(let flag) = value else { throw JSONReader.Unsure() }
                    withdrawn = flag
                    return employmentTextFields.count
                }
                let string: String?
                switch value {
                case .string(let range, escaped: false): string = reader.text(range)
                case .null: string = nil
                default: throw JSONReader.Unsure()
                }
                if reader.isKey(key, "employmentType") {
                    guard let string, let type = Schemas.EmploymentRequest.EmploymentTypePayload(rawValue: string) else { throw JSONReader.Unsure() }
                    employmentType = type
                    return employmentTextFields.count + 1
                } else if reader.isKey(key, "gender") {
                    guard let string, let value = Schemas.EmploymentRequest.GenderPayload(rawValue: string) else { throw JSONReader.Unsure() }
                    gender = value
                    return employmentTextFields.count + 2
                }
                guard let field = employmentTextFields.firstIndex(where: { reader.isKey(key, $0) }) else { throw JSONReader.Unsure() }
                text[field] = string
                return field
            }
        } catch {
            return nil
        }
        // Required: localAuthorityCode, startDate, extractDate, nationalInsuranceNumber, dateOfBirth.
        guard let localAuthorityCode = text[0], let startDate = text[6], let extractDate = text[8],
            let nationalInsuranceNumber = text[9], let dateOfBirth = text[10], let employmentType, let withdrawn, let gender
        else { return nil }
        return Schemas.EmploymentRequest(
            localAuthorityCode: localAuthorityCode, establishmentCode: text[1], establishmentPostcode: text[2],
            establishmentEmailAddress: text[3], memberPostcode: text[4], memberEmailAddress: text[5], startDate: startDate,
            endDate: text[7], employmentType: employmentType, withdrawn: withdrawn, extractDate: extractDate,
            nationalInsuranceNumber: nationalInsuranceNumber, dateOfBirth: dateOfBirth, dateOfDeath: text[11], gender: gender)
    }

    /// The text members of `Schemas.EmploymentRequest`, in the order ``employment(_:body:)`` keeps them.
    private static let employmentTextFields: [StaticString] = [
        "localAuthorityCode", "establishmentCode", "establishmentPostcode", "establishmentEmailAddress", "memberPostcode",
        "memberEmailAddress", "startDate", "endDate", "extractDate", "nationalInsuranceNumber", "dateOfBirth", "dateOfDeath",
    ]
}

/// A batch operation's body: a range of the request's bytes that ``JSONReader`` checked, or nil when absent or null.
struct BatchBodyBytes {
    let request: Data
    let bytes: UnsafeBufferPointer<UInt8>
    let range: Range<Int>?

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if type == Schemas.EmploymentRequest.self, let range, let employment = BatchFastPath.employment(bytes, body: range) {
            return employment as! T
        }
        return try JSONText.decoder.decode(T.self, from: range.map { request[$0] } ?? Data("null".utf8))
    }
}
