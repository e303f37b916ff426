public import AsyncHTTPClient
import DQTAPIClient
import DQTModel
public import Foundation
import NIOCore
import NIOHTTP1
import OpenAPIRuntime

/// The change feed of a running dqt-api (`GET /v3/changes`, role ReadChanges). Documents are turned into ``Change``'s
/// text values here: strings as they are, numbers and booleans as their JSON text, nulls and nested values left out.
///
/// A page is read by ``ChangePageReader`` straight from the body's bytes; a body it does not vouch for, and every
/// refusal, is decoded through the types generated from the contract (openapi.yaml's `ChangePage` and `Problem`), so
/// the contract still decides what a page is.
public struct HTTPChangeFeed: ChangeFeed {
    let baseURL: URL
    let apiKey: String
    let httpClient: HTTPClient

    /// The largest body read: a page of 10,000 changes with long documents is a few MB.
    static let maximumBodyBytes = 256 << 20

    public init(baseURL: URL, apiKey: String, httpClient: HTTPClient = .shared) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.httpClient = httpClient
    }

    /// How many times a page is asked for when the connection fails under it.
    static let readAttempts = 3

    /// A page read is idempotent, so a connection that fails under it (a pooled keep-alive connection the server was
    /// closing, a reset) is retried on a fresh one; the API's refusals are not.
    public func changes(after: String?, limit: Int, kinds: [String]) async throws -> ChangePage {
        for name in kinds where Components.Schemas.ChangeKind(rawValue: name) == nil { throw ChangeFeedError.unknownKind(name) }
        let pageURL = try url(after: after, limit: limit, kinds: kinds)
        var attempt = 1
        while true {
            do {
                return try await page(at: pageURL)
            } catch {
                if error is ChangeFeedError || attempt >= Self.readAttempts || Task.isCancelled { throw error }
                attempt += 1
                try await Task.sleep(for: .milliseconds(250 * attempt))
            }
        }
    }

    func page(at pageURL: String) async throws -> ChangePage {
        var request = HTTPClientRequest(url: pageURL)
        request.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        request.headers.add(name: "Accept", value: "application/json")
        let response = try await httpClient.execute(request, timeout: .minutes(1))
        let body = try await response.body.collect(upTo: Self.maximumBodyBytes)
        let status = Int(response.status.code)
        guard status == 200 else {
            let problem =
                [400, 401, 403, 429, 503].contains(status)
                ? try? Self.decoder.decode(Components.Schemas.Problem.self, from: Data(body.readableBytesView)) : nil
            throw ChangeFeedError.refused(status: status, problem: problem.map(Self.text))
        }
        return try Self.page(body)
    }

    /// `<baseURL>/v3/changes?after=&limit=&kinds=` as the contract states the query (kinds comma separated).
    func url(after: String?, limit: Int, kinds: [String]) throws -> String {
        guard var components = URLComponents(url: baseURL, resolvingAgainstBaseURL: false) else {
            throw ChangeFeedError.refused(status: 0, problem: "the API's base URL is not a URL")
        }
        components.path = (components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path) + "/v3/changes"
        var query: [URLQueryItem] = []
        if let after { query.append(URLQueryItem(name: "after", value: after)) }
        query.append(URLQueryItem(name: "limit", value: String(limit)))
        if !kinds.isEmpty { query.append(URLQueryItem(name: "kinds", value: kinds.joined(separator: ","))) }
        components.queryItems = query
        guard let url = components.string else { throw ChangeFeedError.refused(status: 0, problem: "the API's base URL is not a URL") }
        return url
    }

    static let decoder = JSONDecoder()

    /// The page a 200 body holds.
    static func page(_ body: ByteBuffer) throws -> ChangePage {
        let fast = body.withUnsafeReadableBytes { raw in
            try? ChangePageReader.page(raw.bindMemory(to: UInt8.self))
        }
        if let fast { return fast }
        let page = try decoder.decode(Components.Schemas.ChangePage.self, from: Data(body.readableBytesView))
        return ChangePage(changes: page.changes.map(change), nextCursor: page.nextCursor, endCursor: page.endCursor, hasMore: page.hasMore)
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
