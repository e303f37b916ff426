import DQTModel
import DQTTesting
import Foundation
import LibPQ
import Testing

/// LibPQ against the real PostgreSQL from scripts/services.sh (DQT_TEST_DATABASE_URL). Tests use temporary tables,
/// which vanish with their connection.
@Suite(.enabled(if: TestServices.shouldRun(TestServices.databaseURL)))
struct LibPQTests {
    let url: String
    init() throws { url = try TestServices.require(TestServices.databaseURL) }

    @Test func boundParametersAndTypedGetters() throws {
        let connection = try PGConnection(url)
        let result = try connection.query(
            """
            SELECT $1::text AS name, $2::int AS small, $3::bigint AS big, $4::bool AS flag, $5::float8 AS ratio,
                   $6::timestamptz AS at, $7::bytea AS blob, $8::jsonb AS doc, $9::text AS missing,
                   $10::date AS day, $11::text[] AS list
            """,
            [
                .text("Siân O'Brien; DROP TABLE x"), .int(42), .int64(9_000_000_000), .bool(true), .double(1.5),
                .timestamp(Date(timeIntervalSince1970: 1_700_000_000.25)), .bytea(Data([0, 1, 254, 255])),
                .json(#"{"a": [1, 2]}"#), nil, "2024-02-29", .textArray(["a\"b", nil, "c\\d", "q\"\u{301}"]),
            ])
        #expect(result.rowCount == 1)
        #expect(result.columnNames.first == "name")
        #expect(result.string(0, "name") == "Siân O'Brien; DROP TABLE x")
        #expect(result.int(0, "small") == 42)
        #expect(result.int64(0, "big") == 9_000_000_000)
        #expect(result.bool(0, "flag") == true)
        #expect(result.double(0, "ratio") == 1.5)
        #expect(result.date(0, "at") == Date(timeIntervalSince1970: 1_700_000_000.25))
        #expect(result.data(0, "blob") == Data([0, 1, 254, 255]))
        #expect(result.json(0, "doc") == #"{"a": [1, 2]}"#)
        #expect(result.string(0, "missing") == nil)
        #expect(result.isNull(0, 8))
        #expect(result.string(0, "day") == "2024-02-29")
        // "q\"\u{301}": a quote followed by a combining mark (one Character) is escaped all the same.
        #expect(result.string(0, "list") == #"{"a\"b",NULL,"c\\d","q\"́"}"#)
        #expect(throws: PGError.self) { try result.requireString(0, "missing") }
        #expect(throws: PGError.self) { try result.requireString(0, "nope") }
        let rows = result.rows.map { $0["name"] }
        #expect(rows == ["Siân O'Brien; DROP TABLE x"])
    }

    /// Arrays go in binary: every element comes back as it was sent, NULLs included, whatever its bytes.
    @Test func arraysRoundTripInBinary() throws {
        let connection = try PGConnection(url)
        let texts: [String?] = ["a\"b", nil, "c\\d", "q\"\u{301}", "", "{,}", "NULL", "Siân 𝄞", String(repeating: "x", count: 5000)]
        let dates: [String?] = ["2000-01-01", "1999-12-31", "2024-02-29", "1900-03-01", "0001-01-01", "9999-12-31", nil, "1970-01-01"]
        let ints: [Int32?] = [0, -1, 1, nil, Int32.max, Int32.min]
        let flags: [Bool?] = [true, nil, false]
        // A prepared statement too: the server infers the parameters' types from the casts once, then reads binary.
        for run in [connection.query, connection.queryPrepared] {
            let result = try run(
                """
                SELECT $1::text[] AS texts, $2::date[]::text[] AS dates, $3::int[]::text AS ints, $4::boolean[]::text AS flags,
                       cardinality($5::text[]) AS empty, cardinality($6::date[]) AS no_dates
                """,
                [
                    .textArray(texts), .dateArray(dates, calendarDate: calendarDate), .intArray(ints), .boolArray(flags), .textArray([]),
                    .dateArray([], calendarDate: calendarDate),
                ])
            let row = try #require(result.rows.first)
            #expect(row.textArray("texts") == texts)
            #expect(row.textArray("dates") == dates)
            #expect(row["ints"] == "{0,-1,1,NULL,2147483647,-2147483648}")
            #expect(row["flags"] == "{t,NULL,f}")
            #expect(row.int("empty") == 0 && row.int("no_dates") == 0)
        }
        // Not a date: the array goes as text, and the server refuses it with its own error.
        for bad in ["2023-02-29", "2024-13-01", "2024-02-30", "not a date"] {
            #expect(throws: PGError.self) {
                try connection.query("SELECT $1::date[]", [.dateArray(["2024-01-01", bad], calendarDate: calendarDate)])
            }
        }
        // A NUL cannot be in a text value: refused by the server, never cut short.
        #expect(throws: PGError.self) { try connection.query("SELECT $1::text[]", [.textArray(["a\u{0}b"])]) }
    }

    @Test func serverErrorsCarrySQLState() throws {
        let connection = try PGConnection(url)
        try connection.execute("CREATE TEMP TABLE t (id int PRIMARY KEY)")
        try connection.execute("INSERT INTO t VALUES ($1)", [.int(1)])
        do {
            try connection.execute("INSERT INTO t VALUES ($1)", [.int(1)])
            Issue.record("expected a unique violation")
        } catch let error as PGError {
            #expect(error.sqlState == "23505")
            #expect(error.isUniqueViolation)
            #expect(error.kind == .query)
            #expect(!error.description.contains("(1)"), "the DETAIL line stays out of the description")
        }
        do {
            try connection.query("SELEKT 1")
        } catch let error as PGError {
            #expect(error.sqlState == "42601")
        }
        // The connection is still usable afterwards.
        #expect(try connection.query("SELECT 1").int(0, 0) == 1)
    }

    @Test func connectionErrorNeverShowsThePassword() throws {
        let secret = "s3cr3t-Pa55word"
        do {
            _ = try PGConnection("postgresql://nobody:\(secret)@127.0.0.1:1/none?connect_timeout=2")
            Issue.record("expected a connection error")
        } catch let error as PGError {
            #expect(error.kind == .connection)
            #expect(!error.description.contains(secret))
        }
        do {
            _ = try PGConnection("host=127.0.0.1 port=1 user=nobody password=\(secret) connect_timeout=2")
        } catch let error as PGError {
            #expect(!error.description.contains(secret))
        }
    }

    @Test func transactionsCommitRollbackAndSavepoints() throws {
        let connection = try PGConnection(url)
        try connection.execute("CREATE TEMP TABLE t (id int PRIMARY KEY)")
        try connection.transaction { try $0.execute("INSERT INTO t VALUES (1)") }
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try connection.transaction { connection in
                try connection.execute("INSERT INTO t VALUES (2)")
                throw Boom()
            }
        }
        try connection.transaction { connection in
            try connection.execute("INSERT INTO t VALUES (3)")
            // A failing nested block rolls back only itself.
            _ = try? connection.transaction { connection in
                try connection.execute("INSERT INTO t VALUES (4)")
                try connection.execute("INSERT INTO t VALUES (1)")  // duplicate: fails
            }
            try connection.execute("INSERT INTO t VALUES (5)")
        }
        let ids = try connection.query("SELECT id FROM t ORDER BY id").rows.compactMap { $0.int("id") }
        #expect(ids == [1, 3, 5])
        #expect(!connection.isInTransaction)
    }

    @Test func advisoryLocksExcludeOtherSessions() throws {
        let first = try PGConnection(url)
        let second = try PGConnection(url)
        let key: Int64 = 0x5147_4150_4954_0001
        #expect(try first.tryAdvisoryLock(key))
        #expect(try second.tryAdvisoryLock(key) == false)
        #expect(try second.withTryAdvisoryLock(key) { _ in 1 } == nil)
        #expect(try first.advisoryUnlock(key))
        #expect(try second.withTryAdvisoryLock(key) { _ in 2 } == 2)
        #expect(try first.tryAdvisoryLock(key))
        try first.advisoryUnlock(key)
    }

    @Test func copyFromStdinStreamsRows() throws {
        let connection = try PGConnection(url)
        try connection.execute("CREATE TEMP TABLE c (id int, name text, note text)")
        let copied = try connection.copyFromStdin("COPY c (id, name, note) FROM STDIN") { writer in
            for index in 0..<50_000 {
                try writer.writeRow([String(index), "name\t\(index)\\x\n", index % 2 == 0 ? nil : "ŵ"])
            }
        }
        #expect(copied == 50_000)
        let check = try connection.query("SELECT count(*) AS n, count(note) AS notes, max(name) FILTER (WHERE id = 7) AS seven FROM c")
        #expect(check.int(0, "n") == 50_000)
        #expect(check.int(0, "notes") == 25_000)
        #expect(check.string(0, "seven") == "name\t7\\x\n")
        // A failing body aborts the COPY: nothing is loaded, and the connection still works.
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try connection.copyFromStdin("COPY c (id, name, note) FROM STDIN") { writer in
                try writer.writeRow(["1", "x", nil])
                throw Stop()
            }
        }
        #expect(try connection.query("SELECT count(*) FROM c").int(0, 0) == 50_000)
        // A bad row is the server's error.
        #expect(throws: PGError.self) {
            try connection.copyFromStdin("COPY c (id, name, note) FROM STDIN") { writer in
                try writer.writeRow(["not a number", "x", nil])
            }
        }
    }

    @Test func preparedStatementsAreReused() throws {
        let connection = try PGConnection(url)
        for index in 0..<5 {
            let result = try connection.queryPrepared("SELECT $1::int + 1 AS next", [.int(index)])
            #expect(result.int(0, "next") == index + 1)
        }
    }

    @Test func poolRunsConcurrentWorkWithinItsLimit() async throws {
        let pool = PGPool(conninfo: url, maximumConnections: 3)
        let pids = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<40 {
                group.addTask {
                    try await pool.withConnection { connection in
                        _ = try connection.query("SELECT pg_sleep(0.005), $1::int", [.int(index)])
                        return connection.backendPID
                    }
                }
            }
            var pids = Set<Int>()
            for try await pid in group { pids.insert(pid) }
            return pids
        }
        #expect(pids.count <= 3)
        #expect(pool.openedConnections <= 3)
        // An error inside a transaction does not leak the open transaction to the next borrower.
        await #expect(throws: PGError.self) {
            try await pool.withConnection { connection in
                try connection.execute("BEGIN")
                try connection.execute("SELEKT")
            }
        }
        let inTransaction = try await pool.withConnection { $0.isInTransaction }
        #expect(!inTransaction)
        pool.close()
        await #expect(throws: PGError.self) { try await pool.withConnection { _ in 1 } }
    }

    /// A backend terminated under an idle connection: the next statement fails as a lost connection (what callers
    /// retry or answer 503 to), not as a statement the server refused, and the connection says it is gone.
    @Test func aTerminatedBackendIsAConnectionError() throws {
        let connection = try PGConnection(url)
        let killer = try PGConnection(url)
        try killer.query("SELECT pg_terminate_backend($1::int)", [.int(connection.backendPID)])
        Thread.sleep(forTimeInterval: 0.1)
        var caught: PGError?
        do { try connection.query("SELECT 1") } catch let error as PGError { caught = error }
        #expect(caught?.kind == .connection, "\(String(describing: caught))")
        #expect(!connection.isConnected)
    }

    @Test func poolReconnectsAfterTheLinkBreaks() async throws {
        let pool = PGPool(conninfo: url, maximumConnections: 1)
        let pid = try await pool.withConnection { $0.backendPID }
        let killer = try PGConnection(url)
        try killer.query("SELECT pg_terminate_backend($1::int)", [.int(pid)])
        try await Task.sleep(for: .milliseconds(100))
        // The first use after the kill fails (or already reconnects); the next one works on a new backend.
        _ = try? await pool.withConnection { try $0.query("SELECT 1").int(0, 0) }
        let again = try await pool.withConnection { $0.backendPID }
        #expect(again != pid)
    }
}

/// The year, month and day of a `yyyy-MM-dd` date, as the callers of ``PGValue/dateArray(_:calendarDate:)`` read them.
private func calendarDate(_ text: String) -> (year: Int, month: Int, day: Int)? {
    LocalDate(iso: text).map { ($0.year, $0.month, $0.day) }
}
