import Foundation
import LibPQ

/// A PostgreSQL database of one test's own: created with a unique name on the server `adminURL` names (the shared
/// test server by default) and dropped afterwards, also when the test throws. `DROP ... WITH (FORCE)` ends any
/// connection a pool or a child process still holds.
public struct TemporaryDatabase: Sendable {
    public let name: String
    /// libpq URL of the database (the admin URL's user, host, port and options).
    public let url: String

    /// Runs `body` with a fresh, empty database named `<prefix>_<random>`.
    public static func with<Result>(
        prefix: String, adminURL: String? = nil, _ body: (TemporaryDatabase) async throws -> Result
    ) async throws -> Result {
        let admin = try adminURL ?? TestServices.require(TestServices.databaseURL)
        let name = "\(prefix)_\(UInt64.random(in: 0...UInt64.max) % 1_000_000_000_000)"
        try PGConnection(admin).execute("CREATE DATABASE \(name)")
        let database = TemporaryDatabase(name: name, url: url(admin, database: name))
        // A new admin connection for the drop: the server may have restarted meanwhile (a fault test's own does).
        func drop() throws { try PGConnection(admin).execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
        let result: Result
        do {
            result = try await body(database)
        } catch {
            try? drop()
            throw error
        }
        try drop()
        return result
    }

    /// `base` (postgresql://user@host:port/db?options) naming `database` instead.
    public static func url(_ base: String, database: String) -> String {
        var url = base
        var query = ""
        if let mark = url.firstIndex(of: "?") {
            query = String(url[mark...])
            url = String(url[..<mark])
        }
        if let schemeEnd = url.range(of: "://"), let slash = url[schemeEnd.upperBound...].firstIndex(of: "/") {
            url = String(url[..<slash])
        }
        return url + "/" + database + query
    }
}
