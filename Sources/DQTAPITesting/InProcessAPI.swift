public import DQTAPI
import DQTTesting
import Foundation
import Hummingbird
import HummingbirdTesting
public import LibPQ
public import Logging

/// dqt-api served in the test's own process: the production application (router, connection limits) live on a free
/// loopback port, over a throwaway database migrated and seeded with fixtures/api/persons.ndjson. (A test that needs
/// dqt-api as its own process, to read its logs or kill it, starts the built binary with ``ChildProcess``.)
public struct InProcessAPI: Sendable {
    public let databaseURL: String
    public let pool: PGPool
    public let port: Int

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Runs `body` against a fresh service on a database named `<databasePrefix>_<random>` (on the PostgreSQL
    /// `adminURL` names, the shared test server by default), with the keys `makeKeys` creates; `configure` can change
    /// the configuration (limits, cache). The pool and the database go afterwards.
    public static func with<Keys: Sendable>(
        databasePrefix: String, adminURL: String? = nil,
        logger: Logger = Logger(label: "dqt-api-test") { _ in SwiftLogNoOpLogHandler() },
        configure: (inout APIConfiguration) -> Void = { _ in }, keys makeKeys: @escaping @Sendable (PGConnection) throws -> Keys,
        _ body: @Sendable (InProcessAPI, Keys) async throws -> Void
    ) async throws {
        try await TemporaryDatabase.with(prefix: databasePrefix, adminURL: adminURL) { database in
            let pool = PGPool(conninfo: database.url, maximumConnections: 4)
            defer { pool.close() }
            let keys = try await pool.withConnection { connection in
                try Migrations.migrate(connection)
                _ = try Seeder.seed(connection, file: repositoryRoot.appendingPathComponent("fixtures/api/persons.ndjson"))
                return try makeKeys(connection)
            }
            var configuration = APIConfiguration(databaseURL: database.url)
            configuration.port = 0
            configuration.keyCacheSeconds = 0
            configure(&configuration)
            let app = try DQTAPIServer.makeApplication(configuration: configuration, pool: pool, logger: logger)
            try await app.test(.live) { client in
                try await body(InProcessAPI(databaseURL: database.url, pool: pool, port: client.port!), keys)
            }
        }
    }
}
