import AsyncHTTPClient
import DQTAPI
import DQTAPITesting
import DQTTesting
import Foundation
import LibPQ
import Logging
import NIOCore
import NIOFoundationEssentialsCompat
import NIOHTTP1

/// A dqt-api on loopback over its own throwaway database (`dqt_api_test_<random>`, migrated and seeded with
/// fixtures/api/persons.ndjson), with one API key per role plus an all-roles key. Dropped afterwards.
struct Harness: Sendable {
    let databaseURL: String
    let pool: PGPool
    let port: Int
    /// Role name (or "all") -> key.
    let keys: [String: String]
    let logs: LogLines

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var allKey: String { keys["all"]! }
    func key(_ role: Role) -> String { keys[role.rawValue]! }

    struct Reply: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
                throw CocoaError(.coderReadCorrupt)
            }
            return object
        }
        var errorCode: Int? { (try? json())?["errorCode"] as? Int }
        var contentType: String? { headers.first(name: "content-type") }
    }

    /// One raw HTTP call (AsyncHTTPClient, no redirects followed).
    func call(
        _ method: HTTPMethod, _ path: String, json: String? = nil, key: String? = nil, headers: [(String, String)] = []
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await Harness.http.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Data(buffer: body))
    }

    static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    func sql<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        try await pool.withConnection(body)
    }

    /// Runs `body` against a fresh service (`dqt_api_test_<random>`). `configure` can change the configuration
    /// (limits, cache).
    static func with(
        configure: (inout APIConfiguration) -> Void = { _ in }, _ body: @Sendable (Harness) async throws -> Void
    ) async throws {
        let logs = LogLines()
        let logger = logs.logger(label: "dqt-api-test")
        try await InProcessAPI.with(
            databasePrefix: "dqt_api_test", logger: logger, configure: configure,
            keys: { connection in
                var keys: [String: String] = [:]
                for role in Role.allCases {
                    keys[role.rawValue] = try APIKeys.create(connection, name: "test-\(role.rawValue)", roles: [role], expiresAt: nil).key
                }
                keys["all"] = try APIKeys.create(connection, name: "test-all", roles: Role.allCases, expiresAt: nil, rateLimit: 1_000_000).key
                return keys
            }
        ) { api, keys in
            try await body(Harness(databaseURL: api.databaseURL, pool: api.pool, port: api.port, keys: keys, logs: logs))
        }
    }
}

extension Data {
    init(buffer: ByteBuffer) {
        var buffer = buffer
        self = buffer.readData(length: buffer.readableBytes) ?? Data()
    }
}

/// A workforce body for `trn` at LA 201, establishment 4001, starting on `start` (yyyy-MM-dd).
func employmentBody(trn: String, start: String = "2024-09-01", establishment: String? = "4001", nino: String = "JA100037B", type: String = "FT")
    -> String
{
    """
    {"localAuthorityCode":"201","establishmentCode":\(establishment.map { "\"\($0)\"" } ?? "null"),"establishmentPostcode":"CF10 1AA",
     "establishmentEmailAddress":null,"memberPostcode":null,"memberEmailAddress":null,"startDate":"\(start)","endDate":null,
     "employmentType":"\(type)","withdrawn":false,"extractDate":"2025-01-31","nationalInsuranceNumber":"\(nino)",
     "dateOfBirth":"1970-01-01","dateOfDeath":null,"gender":"Male"}
    """
}

func employmentKey(trn: String, start: String = "2024-09-01", establishment: String? = "4001") -> String {
    "\(trn).201.\(establishment ?? "NULL").\(start.replacingOccurrences(of: "-", with: ""))"
}
