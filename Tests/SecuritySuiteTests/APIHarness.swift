import AsyncHTTPClient
import DQTAPI
import DQTAPITesting
import DQTTesting
import Foundation
import LibPQ
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// A real dqt-api on loopback over its own throwaway PostgreSQL database (`dqt_sec_<random>`, migrated and seeded
/// with fixtures/api/persons.ndjson): DQTTesting's `InProcessAPI`, the production router on a live Hummingbird
/// server. Keys: one per role, `all` (every role, no practical rate limit) and `none` (no role).
struct APIHarness: Sendable {
    let databaseURL: String
    let pool: PGPool
    let port: Int
    let keys: [String: String]

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var allKey: String { keys["all"]! }
    func key(_ role: Role) -> String { keys[role.rawValue]! }
    /// The key names as the audit records them.
    static func keyName(_ role: String) -> String { "sec-\(role)" }

    struct Reply: Sendable, CustomStringConvertible {
        var status: Int
        var headers: HTTPHeaders
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
        var errorCode: Int? { json?["errorCode"] as? Int }
        var contentType: String? { headers.first(name: "content-type") }
        var isProblem: Bool {
            contentType?.hasPrefix("application/problem+json") == true && json?["status"] as? Int == status
                && json?["title"] is String && errorCode != nil
        }
        var description: String { "\(status) \(text.prefix(300))" }
    }

    static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// One raw HTTP call. `body` is sent as is (JSON unless `contentType` says otherwise).
    func call(
        _ method: HTTPMethod, _ path: String, body: String? = nil, key: String? = nil, headers: [(String, String)] = [],
        base: String? = nil, timeout: TimeAmount = .seconds(60)
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: (base ?? baseURL) + path)
        request.method = method
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            if !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
                request.headers.add(name: "Content-Type", value: "application/json")
            }
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await APIHarness.http.execute(request, timeout: timeout)
        let collected = try await response.body.collect(upTo: 64 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Data(collected.readableBytesView))
    }

    func sql<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        try await pool.withConnection(body)
    }

    func count(_ query: String, _ parameters: [PGValue?] = []) async throws -> Int {
        try await sql { try $0.query(query, parameters).int(0, 0) ?? -1 }
    }

    /// At most this many services (databases and their pools) at once: every test of the suite would otherwise hold
    /// a pool at the same time, and with the other suites running beside it PostgreSQL runs out of connections.
    /// A test's time limit includes its wait here (minutes in a full parallel run), so the suites' limits are only
    /// there to catch a hang.
    static let gate = AsyncGate(permits: 3)

    static func with(
        configure: (inout APIConfiguration) -> Void = { _ in }, _ body: @Sendable (APIHarness) async throws -> Void
    ) async throws {
        await gate.acquire()
        do {
            try await withService(configure: configure, body)
        } catch {
            await gate.release()
            throw error
        }
        await gate.release()
    }

    private static func withService(
        configure: (inout APIConfiguration) -> Void, _ body: @Sendable (APIHarness) async throws -> Void
    ) async throws {
        try await InProcessAPI.with(
            databasePrefix: "dqt_sec", configure: configure,
            keys: { connection in
                var keys: [String: String] = [:]
                for role in Role.allCases {
                    keys[role.rawValue] = try APIKeys.create(
                        connection, name: keyName(role.rawValue), roles: [role], expiresAt: nil, rateLimit: 1_000_000
                    ).key
                }
                keys["all"] = try APIKeys.create(connection, name: keyName("all"), roles: Role.allCases, expiresAt: nil, rateLimit: 1_000_000).key
                keys["none"] = try APIKeys.create(connection, name: keyName("none"), roles: [], expiresAt: nil, rateLimit: 1_000_000).key
                return keys
            }
        ) { api, keys in
            try await body(APIHarness(databaseURL: api.databaseURL, pool: api.pool, port: api.port, keys: keys))
        }
    }
}

/// A counting semaphore for async code.
actor AsyncGate {
    private var permits: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(permits: Int) { self.permits = permits }

    func acquire() async {
        if permits > 0 {
            permits -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty {
            permits += 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}

/// A lock usable from escaping closures (Mutex itself cannot be captured).
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<T: Sendable>(_ body: (inout Value) -> T) -> T { mutex.withLock { body(&$0) } }
}

func record(
    _ scenario: String, runs: Int, expected: Int, applied: Int, lost: Int = 0, duplicated: Int = 0,
    refused: Int = 0, reasons: String = "", ok: Bool
) {
    SuiteTable.append(
        SuiteRow(
            suite: "security", scenario: scenario, runs: runs, expected: expected, applied: applied, lost: lost,
            duplicated: duplicated, refused: refused, reasons: reasons, ok: ok))
}
