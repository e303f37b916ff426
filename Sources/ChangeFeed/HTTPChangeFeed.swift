public import AsyncHTTPClient
public import DQTAPIClient
import DQTModel
public import Foundation
import OpenAPIRuntime

/// The change feed of a running dqt-api, through the client generated from its contract (`GET /v3/changes`, role
/// ReadChanges). Documents are turned into ``Change``'s text values here: strings as they are, numbers and booleans
/// as their JSON text, nulls and nested values left out.
public struct HTTPChangeFeed: ChangeFeed {
    let client: Client

    public init(client: Client) { self.client = client }

    public init(baseURL: URL, apiKey: String, httpClient: HTTPClient = .shared) {
        self.init(client: .dqtAPI(baseURL: baseURL, apiKey: apiKey, httpClient: httpClient))
    }

    public func changes(after: String?, limit: Int, kinds: [String]) async throws -> ChangePage {
        let typed = try kinds.map { name in
            guard let kind = Components.Schemas.ChangeKind(rawValue: name) else { throw ChangeFeedError.unknownKind(name) }
            return kind
        }
        let output = try await client.listChanges(query: .init(after: after, limit: limit, kinds: typed.isEmpty ? nil : typed))
        switch output {
        case .ok(let ok):
            let page = try ok.body.json
            return ChangePage(changes: page.changes.map(Self.change), nextCursor: page.nextCursor, hasMore: page.hasMore)
        case .badRequest(let response): throw ChangeFeedError.refused(status: 400, problem: Self.text(try response.body.applicationProblemJson))
        case .unauthorized(let response): throw ChangeFeedError.refused(status: 401, problem: Self.text(try response.body.applicationProblemJson))
        case .forbidden(let response): throw ChangeFeedError.refused(status: 403, problem: Self.text(try response.body.applicationProblemJson))
        case .tooManyRequests(let response):
            throw ChangeFeedError.refused(status: 429, problem: Self.text(try response.body.applicationProblemJson))
        case .serviceUnavailable(let response):
            throw ChangeFeedError.refused(status: 503, problem: Self.text(try response.body.applicationProblemJson))
        case .undocumented(let status, _): throw ChangeFeedError.refused(status: status, problem: nil)
        }
    }

    static func change(_ change: Components.Schemas.Change) -> Change {
        Change(
            cursor: change.cursor, kind: change.kind.rawValue, trn: change.trn, keyName: change.keyName, operation: change.operation,
            at: change.at, before: document(change.before), after: document(change.after))
    }

    static func document(_ document: Components.Schemas.ChangeDocument?) -> [String: String]? {
        guard let document else { return nil }
        var values: [String: String] = [:]
        for (name, value) in document.additionalProperties.value {
            switch value {
            case let text as String: values[name] = text
            case let flag as Bool: values[name] = flag ? "true" : "false"
            case let number as Int: values[name] = String(number)
            case let number as Double:
                values[name] = String(decoding: (try? JSONEncoder().encode(number)) ?? Data(String(number).utf8), as: UTF8.self)
            default: continue
            }
        }
        return values
    }

    /// A problem's title, detail and error code (never a value from the request).
    static func text(_ problem: Components.Schemas.Problem) -> String {
        "\(problem.title)\(problem.detail.map { ": \($0)" } ?? "") (\(problem.errorCode))"
    }
}
