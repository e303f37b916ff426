import DQTTesting
import LibPQ
import Testing

/// The migration runner against the real PostgreSQL, each test on a database of its own.
@Suite(.enabled(if: TestServices.shouldRun(TestServices.databaseURL)))
struct MigrationRunnerTests {
    static let lockKey: Int64 = 0x5147_4150_4954_0002

    /// Each migration leaves a row in `applications`, so a migration applied twice shows as a second row.
    static func migrations(sleepingSeconds: Double = 0) -> [Migration] {
        [
            Migration(
                version: 1, name: "applications",
                sql: """
                    CREATE TABLE applications (version int NOT NULL);
                    INSERT INTO applications VALUES (1);
                    SELECT pg_sleep(\(sleepingSeconds));
                    """),
            Migration(version: 3, name: "third", sql: "INSERT INTO applications VALUES (3); SELECT pg_sleep(\(sleepingSeconds))"),
            Migration(version: 2, name: "second", sql: "INSERT INTO applications VALUES (2); SELECT pg_sleep(\(sleepingSeconds))"),
        ]
    }

    static func applications(_ connection: PGConnection) throws -> [Int] {
        try connection.query("SELECT version FROM applications ORDER BY version").rows.compactMap { $0.int("version") }
    }

    static func recorded(_ connection: PGConnection, table: String = "schema_migrations") throws -> [String] {
        try connection.query("SELECT version, name FROM \(table) ORDER BY version").rows.map {
            "\($0.int("version") ?? -1) \($0["name"] ?? "")"
        }
    }

    @Test func migratingFromTwoConnectionsAtOnceAppliesEachMigrationOnce() async throws {
        try await TemporaryDatabase.with(prefix: "migration_runner") { database in
            let runner = MigrationRunner(migrations: Self.migrations(sleepingSeconds: 0.2), lockKey: Self.lockKey)
            let pool = PGPool(conninfo: database.url, maximumConnections: 2)
            defer { pool.close() }
            let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<2 { group.addTask { try await pool.withConnection { try runner.migrate($0) } } }
                var applied: [[Int]] = []
                for try await versions in group { applied.append(versions) }
                return applied
            }
            #expect(applied.flatMap { $0 }.sorted() == [1, 2, 3], "\(applied)")
            #expect(applied.allSatisfy { $0 == $0.sorted() }, "each call applies in version order: \(applied)")
            let connection = try PGConnection(database.url)
            #expect(try Self.applications(connection) == [1, 2, 3])
            #expect(try Self.recorded(connection) == ["1 applications", "2 second", "3 third"])
            #expect(try runner.migrate(connection) == [])
        }
    }

    @Test func aFailingMigrationIsUndoneWholeAndTheOnesBeforeItStay() async throws {
        try await TemporaryDatabase.with(prefix: "migration_runner") { database in
            let connection = try PGConnection(database.url)
            var migrations = Self.migrations()
            migrations[2] = Migration(version: 2, name: "second", sql: "INSERT INTO applications VALUES (2); SELEKT")
            let failing = MigrationRunner(migrations: migrations, lockKey: Self.lockKey)
            #expect(throws: PGError.self) { try failing.migrate(connection) }
            #expect(try Self.applications(connection) == [1])
            #expect(try Self.recorded(connection) == ["1 applications"])
            #expect(!connection.isInTransaction)
            // Neither the failure nor the success leaves the lock held: another session takes it at once.
            let other = try PGConnection(database.url)
            #expect(try other.withTryAdvisoryLock(Self.lockKey) { _ in true } == true)

            let fixed = MigrationRunner(migrations: Self.migrations(), lockKey: Self.lockKey)
            #expect(try fixed.migrate(connection) == [2, 3])
            #expect(try Self.applications(connection) == [1, 2, 3])
            #expect(try other.withTryAdvisoryLock(Self.lockKey) { _ in true } == true)
        }
    }

    @Test func theVersionTableCanLiveInASchemaOfItsOwn() async throws {
        try await TemporaryDatabase.with(prefix: "migration_runner") { database in
            let connection = try PGConnection(database.url)
            let runner = MigrationRunner(
                migrations: [Migration(version: 1, name: "one", sql: "CREATE TABLE app.things (id int)")],
                versionTable: "schema_migrations", schema: "app", lockKey: Self.lockKey)
            #expect(try runner.migrate(connection) == [1])
            #expect(try runner.migrate(connection) == [])
            #expect(try Self.recorded(connection, table: "app.schema_migrations") == ["1 one"])
            #expect(try connection.query("SELECT to_regclass('public.schema_migrations') IS NULL AS absent").bool(0, "absent") == true)
        }
    }
}
