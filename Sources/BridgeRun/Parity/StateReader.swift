public import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOHTTP1

/// Reads the DQT API's current state for parity's read-back: one GET, its status and JSON body.
public protocol StateReader: Sendable {
    /// `GET path` (with its query); the answer's status and body (empty when there is none).
    func get(_ path: String) async throws -> (status: Int, body: Data)
}

/// The read-back over HTTP with the bridge's API key (which needs the GetPerson role). Redirects are not followed: a
/// merged record's 308 is an answer.
public struct HTTPStateReader: StateReader {
    let baseURL: String
    let apiKey: String
    let client: HTTPClient
    let timeout: TimeAmount

    public init(baseURL: String, apiKey: String, client: HTTPClient, timeoutSeconds: Double = 30) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.client = client
        self.timeout = .milliseconds(Int64(timeoutSeconds * 1000))
    }

    public func get(_ path: String) async throws -> (status: Int, body: Data) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        request.headers.add(name: "Accept", value: "application/json")
        let response = try await client.execute(request, timeout: timeout)
        let body = try await response.body.collect(upTo: 4 * 1024 * 1024)
        return (Int(response.status.code), Data(body.readableBytesView))
    }
}
