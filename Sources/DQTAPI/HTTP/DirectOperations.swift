import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import OpenAPIRuntime

/// The operations served without the generated types, each by this handler alone (``RouteTable`` registers it in the
/// place of the generated one). They are the hot paths: for them the generated types would cost more than the work.
/// Their answers are the ones the contract declares (DirectOperationTests pins them, errors included).
enum DirectOperations {
    /// `GET /v3/persons/{trn}`: the person's document as PostgreSQL builds it, sent as it is (decoding it into
    /// `Schemas.Person` and encoding it again would cost more than the query).
    static func getPerson(_ request: Request, _ context: BasicRequestContext, reads: APIHandler) async throws -> Response {
        let query = request.uri.formParameters
        let trn = context.parameters.get("trn") ?? ""
        let document = try await reads.personDocument(
            trn: trn.contains("%") ? (trn.removingPercentEncoding ?? trn) : trn,
            include: query[values: "include"].last.map(String.init),
            dateOfBirth: query[values: "dateOfBirth"].last.map(String.init),
            nationalInsuranceNumber: query[values: "nationalInsuranceNumber"].last.map(String.init))
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: document)))
    }

    /// `POST /v3/batches`: ``BatchFastPath`` reads the operations straight from the request's bytes.
    static func runBatch(_ request: Request, batch: BatchFastPath, maxBodyBytes: Int) async throws -> Response {
        let bytes = try await request.body.collect(upTo: maxBodyBytes)
        let (head, body) = try await batch.handle(HTTPBody([UInt8](buffer: bytes)))
        var answer = ByteBuffer()
        if let body { answer.writeBytes(try await ArraySlice(collecting: body, upTo: .max)) }
        return Response(status: head.status, headers: head.headerFields, body: .init(byteBuffer: answer))
    }
}

extension URI {
    /// The query's parameters as the contract's form style reads them: `+` is a space, `%2B` a plus.
    var formParameters: FlatDictionary<Substring, Substring> {
        guard let query, query.utf8.contains(UInt8(ascii: "+")) else { return queryParameters }
        return URI("/?" + query.replacingOccurrences(of: "+", with: "%20")).queryParameters
    }
}
