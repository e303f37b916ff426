import Hummingbird
import HummingbirdCore
import NIOCore

/// A position in the change feed: the writing transaction's id and the change's audit id, written
/// `<transaction>.<change>` (openapi.yaml's `ChangeCursor`: 1-19 and 1-18 digits, so both always fit).
struct ChangeCursor: Sendable, Equatable {
    var transaction: UInt64
    var change: Int64

    /// Before every change.
    static let start = ChangeCursor(transaction: 0, change: 0)

    init(transaction: UInt64, change: Int64) {
        self.transaction = transaction
        self.change = change
    }

    /// nil unless `text` matches the contract's pattern.
    init?(_ text: Substring) {
        let parts = text.utf8.split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, (1...19).contains(parts[0].count), (1...18).contains(parts[1].count),
            parts.allSatisfy({ $0.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } }),
            let transaction = UInt64(Substring(parts[0])), let change = Int64(Substring(parts[1]))
        else { return nil }
        self.init(transaction: transaction, change: change)
    }
}

/// The kinds of change, `resource.verb` (openapi.yaml's `ChangeKind`).
enum ChangeKind: String, CaseIterable, Sendable {
    case personCreated = "person.created"
    case personUpdated = "person.updated"
    case alertCreated = "alert.created"
    case alertUpdated = "alert.updated"
    case alertEnded = "alert.ended"
    case inductionUpdated = "induction.updated"
    case qtlsUpdated = "qtls.updated"
    case routeUpdated = "route.updated"
    case employmentUpserted = "employment.upserted"
    case trnRequestCreated = "trnRequest.created"
    case establishmentUpserted = "establishment.upserted"
}

/// `GET /v3/changes` (role ReadChanges): a page of the change feed (``ChangeFeedQuery``), served directly: the
/// changes are JSON made by PostgreSQL and copied into the answer as they are (a full page is 10,000 of them).
enum ListChanges {
    static let defaultLimit = 1000
    static let limits = 1...10_000

    struct Parameters: Sendable, Equatable {
        var after: ChangeCursor
        /// `nextCursor` of a page with no changes: the cursor as given (so it never moves), `0.0` when none was.
        var afterText: String
        var limit: Int
        /// nil: every kind.
        var kinds: [String]?
    }

    /// The query's parameters, each checked as the contract states it; a wrong one is a 400 naming it.
    static func parameters(_ query: FlatDictionary<Substring, Substring>) throws(Problem) -> Parameters {
        var parameters = Parameters(after: .start, afterText: "0.0", limit: defaultLimit, kinds: nil)
        if let text = query[values: "after"].last {
            guard let cursor = ChangeCursor(text) else {
                throw Problem.invalid(field: "after", "after must be a cursor the feed gave (<digits>.<digits>).")
            }
            parameters.after = cursor
            parameters.afterText = String(text)
        }
        if let text = query[values: "limit"].last {
            guard text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let limit = Int(text), limits.contains(limit) else {
                throw Problem.invalid(field: "limit", "limit must be a whole number from 1 to 10000.")
            }
            parameters.limit = limit
        }
        let kindValues = query[values: "kinds"]
        if !kindValues.isEmpty {
            var kinds: [String] = []
            for name in kindValues.flatMap({ $0.split(separator: ",", omittingEmptySubsequences: false) }) {
                guard let kind = ChangeKind(rawValue: String(name)) else {
                    throw Problem.invalid(
                        field: "kinds", "kinds takes a comma list of \(ChangeKind.allCases.map(\.rawValue).joined(separator: ", ")).")
                }
                if !kinds.contains(kind.rawValue) { kinds.append(kind.rawValue) }
            }
            parameters.kinds = kinds
        }
        return parameters
    }

    static func respond(_ request: Request, reads: APIHandler) async throws -> Response {
        try reads.principal().require(.readChanges)
        let parameters = try Self.parameters(request.uri.formParameters)
        let page = try await reads.read { connection in
            try ChangeFeedQuery.page(connection, after: parameters.after, limit: parameters.limit, kinds: parameters.kinds)
        }
        var body = ByteBuffer()
        body.reserveCapacity(page.changes.reduce(64) { $0 + $1.utf8.count + 1 })
        body.writeString(#"{"changes":["#)
        for (index, change) in page.changes.enumerated() {
            if index > 0 { body.writeString(",") }
            body.writeString(change)
        }
        let nextCursor = page.last ?? parameters.afterText
        body.writeString(#"],"nextCursor":"\#(nextCursor)","endCursor":"\#(page.end ?? nextCursor)","hasMore":\#(page.hasMore)}"#)
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: body))
    }
}

extension APIHandler {
    /// Required by the generated protocol; ``RouteTable`` never registers it: ``ListChanges`` serves the operation.
    func listChanges(_ input: Operations.ListChanges.Input) async throws -> Operations.ListChanges.Output {
        throw Problem.internalError()
    }
}
