import ArgumentParser
import DQTAPI
import Foundation
import Hummingbird
import JSONLogging
import LibPQ
import Logging

/// `dqt-api`: the DQT API service and its operator commands. The database comes from DQT_API_DATABASE_URL.
@main
struct DQTAPICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dqt-api",
        abstract: "The DQT API: serve it, migrate its database, manage API keys, seed synthetic persons, apply the retention policy.",
        subcommands: [Serve.self, Migrate.self, Keys.self, Seed.self, Retention.self])
}

struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "libpq URL or conninfo (default: $DQT_API_DATABASE_URL).")
    var databaseURL: String?

    func url() throws -> String {
        if let databaseURL { return databaseURL }
        guard let value = ProcessInfo.processInfo.environment["DQT_API_DATABASE_URL"], !value.isEmpty else {
            throw ValidationError("DQT_API_DATABASE_URL is not set.")
        }
        return value
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the API (stops gracefully on SIGTERM).")
    @OptionGroup var database: DatabaseOptions
    @Option var host = "127.0.0.1"
    @Option var port = 8080
    @Option(help: "Most operations in one batch.") var maxBatchOperations = 1000
    @Option(help: "Largest request body in bytes.") var maxBodyBytes = 4 * 1024 * 1024
    @Option(help: "Database connections.") var poolSize = 8
    @Option(help: "Seconds an API key lookup is cached (revocation delay).") var keyCacheSeconds = 5.0
    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: serve HTTPS.") var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "PEM private key.") var tlsKey: String?
    @Flag(help: "Apply pending migrations before serving.") var migrate = false
    @Option(help: "Seconds a connection with no request under way stays open.") var idleTimeout = 30.0
    @Option(help: "Seconds from a request's first byte to the end of its head (else 408).") var headerTimeout = 10.0
    @Option(help: "Seconds from a request's head to the end of its body (else 408).") var bodyTimeout = 60.0
    @Option(help: "Largest request line, and request head, in bytes (else 414, 431).") var maxHeaderBytes = 64 * 1024
    @Option(help: "Connections open at once; more wait in the listen backlog.") var maxConnections = 1024

    func run() async throws {
        LoggingSystem.bootstrap { JSONLogHandler(label: $0, sink: JSONLogHandler.standardOutput) }
        let logger = Logger(label: "dqt-api")
        var configuration = APIConfiguration(databaseURL: try database.url())
        configuration.host = host
        configuration.port = port
        configuration.maxBatchOperations = maxBatchOperations
        configuration.maxBodyBytes = maxBodyBytes
        configuration.poolSize = poolSize
        configuration.keyCacheSeconds = keyCacheSeconds
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together.") }
        configuration.tlsCertificatePath = tlsCert
        configuration.tlsKeyPath = tlsKey
        for (name, seconds) in [("--idle-timeout", idleTimeout), ("--header-timeout", headerTimeout), ("--body-timeout", bodyTimeout)]
        where !(seconds > 0) {
            throw ValidationError("\(name) must be a positive number of seconds.")
        }
        guard maxHeaderBytes >= 1024 else { throw ValidationError("--max-header-bytes must be at least 1024.") }
        guard maxConnections > 0 else { throw ValidationError("--max-connections must be positive.") }
        configuration.connections.idleTimeout = .milliseconds(Int64(idleTimeout * 1000))
        configuration.connections.headerTimeout = .milliseconds(Int64(headerTimeout * 1000))
        configuration.connections.bodyTimeout = .milliseconds(Int64(bodyTimeout * 1000))
        configuration.connections.maxHeaderBytes = maxHeaderBytes
        configuration.connections.maxConnections = maxConnections
        let pool = PGPool(conninfo: configuration.databaseURL, maximumConnections: poolSize)
        if migrate {
            let applied = try await pool.withConnection { try Migrations.migrate($0) }
            logger.info("migrations applied", metadata: ["versions": "\(applied)"])
        }
        let app = try DQTAPIServer.makeApplication(configuration: configuration, pool: pool, logger: logger)
        try await app.runService()
        pool.close()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending schema migrations, in order.")
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let connection = try PGConnection(try database.url())
        let applied = try Migrations.migrate(connection)
        print(
            applied.isEmpty
                ? "schema up to date (\(Migrations.all.count) migrations)" : "applied migrations \(applied.map(String.init).joined(separator: ", "))")
    }
}

struct Seed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Load synthetic persons from an NDJSON file (GET /v3/persons/{trn}?include=All shape).")
    @OptionGroup var database: DatabaseOptions
    @Argument var file: String

    func run() async throws {
        let connection = try PGConnection(try database.url())
        let count = try Seeder.seed(connection, file: URL(fileURLWithPath: file))
        print("seeded \(count) persons")
    }
}

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage API keys.", subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; the key is printed once, as the last line.")
        @OptionGroup var database: DatabaseOptions
        @Option var name: String
        @Option(help: "Comma list: \(Role.allCases.map(\.rawValue).joined(separator: ","))") var roles: String
        @Option(help: "Expiry, yyyy-MM-dd or an ISO 8601 date-time (default: none).") var expires: String?
        @Option(help: "Calls per minute.") var rateLimit = 1000

        func run() async throws {
            var parsed: [Role] = []
            for name in roles.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
                guard let role = Role(rawValue: name) else { throw ValidationError("unknown role \(name)") }
                parsed.append(role)
            }
            guard !parsed.isEmpty else { throw ValidationError("--roles needs at least one role") }
            var expiry: Date?
            if let expires {
                expiry =
                    (try? Date.ISO8601FormatStyle().parse(expires))
                    ?? (try? Date.ISO8601FormatStyle().year().month().day().parse(expires))
                guard let expiry else { throw ValidationError("--expires must be yyyy-MM-dd or ISO 8601") }
                guard expiry > Date() else { throw ValidationError("--expires is in the past") }
            }
            guard rateLimit > 0 else { throw ValidationError("--rate-limit must be positive") }
            let connection = try PGConnection(try database.url())
            let (key, info) = try APIKeys.create(connection, name: name, roles: parsed, expiresAt: expiry, rateLimit: rateLimit)
            print(
                "created key \(info.name) (id \(info.id)) roles \(info.roles.joined(separator: ",")) rate limit \(info.rateLimit)/min expires \(info.expiresAt.map { $0.formatted(Date.ISO8601FormatStyle()) } ?? "never")"
            )
            print("store it now: it is not shown again")
            print(key)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never the keys themselves).")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let connection = try PGConnection(try database.url())
            print("id\tname\troles\trate/min\texpires\trevoked\tcreated")
            for key in try APIKeys.list(connection) {
                let format = Date.ISO8601FormatStyle()
                print(
                    "\(key.id)\t\(key.name)\t\(key.roles.joined(separator: ","))\t\(key.rateLimit)\t\(key.expiresAt.map { $0.formatted(format) } ?? "-")\t\(key.revokedAt.map { $0.formatted(format) } ?? "-")\t\(key.createdAt.formatted(format))"
                )
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by name.")
        @OptionGroup var database: DatabaseOptions
        @Option var name: String

        func run() async throws {
            let connection = try PGConnection(try database.url())
            guard try APIKeys.revoke(connection, name: name) else { throw ValidationError("no active key named \(name)") }
            print("revoked \(name)")
        }
    }
}
