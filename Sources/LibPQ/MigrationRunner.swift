/// One schema change: applied once, in version order, and recorded by version and name.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    /// One or more statements separated by semicolons.
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// Brings a database's schema up to date: applies the migrations not yet recorded in the version table, in version
/// order, each in a transaction of its own that also records it. A migration that fails is undone whole and the
/// error rethrown; the ones before it stay applied.
///
/// Invariant: however many processes migrate the same database at once, each migration is applied exactly once and
/// none before another of a lower version. Every migration's transaction starts by taking the transaction-level advisory lock
/// `lockKey` (`pg_advisory_xact_lock`), and only then creates the version table if missing, reads which versions are
/// recorded and applies the lowest one that is not. Those reads see every migration committed by another process
/// while this one waited for the lock.
///
/// Why the transaction-level lock rather than a session-level one held across the migrations: COMMIT or ROLLBACK
/// releases it, also when the migration fails or the link breaks, so it can never outlive its work. A session-level
/// lock needs an explicit unlock on every path; one that is missed stays held by a connection that goes back to a
/// pool, and every later migration (of this process or another) waits for it forever. Taking the lock before
/// creating the version table also keeps two first starts from racing on `CREATE TABLE IF NOT EXISTS`, which is
/// not safe against a concurrent create of the same name.
public struct MigrationRunner: Sendable {
    /// The migrations, sorted by version.
    public let migrations: [Migration]
    /// The table that records applied versions (`version int`, `name text`, `applied_at timestamptz`).
    public let versionTable: String
    /// The schema the version table (and the migrations' objects) live in, created if missing; nil: the
    /// connection's search path.
    public let schema: String?
    public let lockKey: Int64

    /// - Precondition: the versions are unique.
    public init(migrations: [Migration], versionTable: String = "schema_migrations", schema: String? = nil, lockKey: Int64) {
        precondition(Set(migrations.map(\.version)).count == migrations.count, "migration versions must be unique")
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.versionTable = versionTable
        self.schema = schema
        self.lockKey = lockKey
    }

    private var qualifiedVersionTable: String { schema.map { "\($0).\(versionTable)" } ?? versionTable }

    /// Applies every migration not yet recorded. Returns the versions this call applied, in order.
    @discardableResult
    public func migrate(_ connection: PGConnection) throws -> [Int] {
        var applied: [Int] = []
        while let version = try connection.transaction({ try applyLowestPending($0) }) {
            applied.append(version)
        }
        return applied
    }

    /// Inside a transaction: takes the lock, then applies and records the lowest version not recorded. Nil when
    /// every migration is recorded.
    private func applyLowestPending(_ connection: PGConnection) throws -> Int? {
        try connection.query("SELECT pg_advisory_xact_lock($1::bigint)", [.int64(lockKey)])
        if let schema { try connection.execute("CREATE SCHEMA IF NOT EXISTS \(schema)") }
        try connection.execute(
            """
            CREATE TABLE IF NOT EXISTS \(qualifiedVersionTable) (
                version int PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        let recorded = Set(try connection.query("SELECT version FROM \(qualifiedVersionTable)").rows.compactMap { $0.int("version") })
        guard let next = migrations.first(where: { !recorded.contains($0.version) }) else { return nil }
        try connection.execute(next.sql)
        try connection.execute(
            "INSERT INTO \(qualifiedVersionTable) (version, name) VALUES ($1::int, $2)", [.int(next.version), .text(next.name)])
        return next.version
    }
}
