import DQTAPI
import DQTTesting
import Foundation
import LibPQ

@testable import FaultProxy

/// `dqt-api serve` as its own process (the binary built beside the tests, so its command-line options and its
/// connection handling are the ones tested), over a throwaway database migrated and seeded with
/// fixtures/api/persons.ndjson, with one key holding every role. Its JSON log lines are in ``log``.
struct APIServerProcess: Sendable {
    let port: Int
    let key: String
    /// The database as the test reaches it (directly, never through a proxy placed in front of the service).
    let databaseURL: String
    let process: ChildProcess

    var log: String { process.output }

    /// Starts the service with `arguments` added to `serve`; `databaseURLForService` turns the database's URL into
    /// the one the service is given (to put a proxy in front of it).
    static func with(
        arguments: [String], databaseURLForService: @Sendable (String) throws -> String = { $0 },
        _ body: @Sendable (APIServerProcess) async throws -> Void
    ) async throws {
        try await TemporaryDatabase.with(prefix: "dqt_edge") { database in
            let connection = try PGConnection(database.url)
            try Migrations.migrate(connection)
            _ = try Seeder.seed(connection, file: repositoryRoot.appendingPathComponent("fixtures/api/persons.ndjson"))
            let key = try APIKeys.create(connection, name: "edge-all", roles: Role.allCases, expiresAt: nil, rateLimit: 1_000_000).key
            let port = try freeLoopbackPort()
            var environment = ProcessInfo.processInfo.environment
            environment["DQT_API_DATABASE_URL"] = try databaseURLForService(database.url)
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("dqt-edge-api-\(port).log").path
            defer { try? FileManager.default.removeItem(atPath: log) }
            let process = try ChildProcess(
                try apiBinary(), ["serve", "--port", "\(port)", "--key-cache-seconds", "0"] + arguments, environment: environment, output: log)
            let server = APIServerProcess(port: port, key: key, databaseURL: database.url, process: process)
            do {
                try await server.waitUntilReady()
                try await body(server)
            } catch {
                await process.stop()
                throw error
            }
            await process.stop()
        }
    }

    /// Until `/health/ready` answers 200.
    private func waitUntilReady() async throws {
        try await process.waitUntilReady {
            let reply = try? exchange("GET /health/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", limit: .seconds(2))
            return reply?.status == 200
        }
    }

    /// Sends `request` as it is on a new connection and reads until the service closes it (or `limit` passes).
    func exchange(_ request: String, limit: Duration = .seconds(20)) throws -> RawReply {
        let socket = try Socket.connect(host: "127.0.0.1", port: port)
        defer { socket.close() }
        let started = ContinuousClock.now
        try socket.send(Array(request.utf8))
        return RawReply.read(socket, started: started, limit: limit)
    }
}

/// What came back on one raw connection: the bytes, and when (if at all) the service closed it.
struct RawReply: Sendable, CustomStringConvertible {
    var bytes: [UInt8]
    /// Time from the start of the exchange to the end of the stream (FIN or reset); nil when it stayed open.
    var closedAfter: Duration?

    var text: String { String(decoding: bytes, as: UTF8.self) }
    /// The status of the first response, or nil when none came.
    var status: Int? {
        guard text.hasPrefix("HTTP/1.1 "), text.count >= 12 else { return nil }
        return Int(text.dropFirst(9).prefix(3))
    }
    var head: String { text.components(separatedBy: "\r\n\r\n").first ?? "" }
    var body: String { text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n") }
    func header(_ name: String) -> String? {
        for line in head.components(separatedBy: "\r\n").dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == name.lowercased() { return parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return nil
    }
    /// problem+json whose `status` is the response's and which carries `errorCode`.
    func isProblem(errorCode: Int) -> Bool {
        guard header("Content-Type")?.hasPrefix("application/problem+json") == true,
            let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        else { return false }
        return json["status"] as? Int == status && json["errorCode"] as? Int == errorCode && json["title"] is String
    }
    var description: String {
        "\(text.prefix(400).replacingOccurrences(of: "\r\n", with: " | ")) (closed after \(closedAfter.map { "\($0)" } ?? "never"))"
    }

    /// Reads `socket` until the end of the stream or until `limit` after `started`.
    static func read(_ socket: Socket, started: ContinuousClock.Instant, limit: Duration) -> RawReply {
        var reply = RawReply(bytes: [], closedAfter: nil)
        while ContinuousClock.now - started < limit {
            guard socket.wait(milliseconds: 20) else { continue }
            if socket.receive(into: &reply.bytes) <= 0 {
                reply.closedAfter = ContinuousClock.now - started
                break
            }
        }
        return reply
    }
}
