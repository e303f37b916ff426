import Crypto
import DQTModel
public import Foundation
public import LibPQ
import Synchronization

/// API keys: `dqt_<43 base64url characters>` (256 random bits), stored as the SHA-256 of the key (hex). A
/// salted slow hash adds nothing for keys of that entropy and would cost every request.
public struct APIKeyInfo: Sendable, Codable, Equatable {
    public var id: Int64
    public var name: String
    public var roles: [String]
    public var rateLimit: Int
    public var expiresAt: Date?
    public var revokedAt: Date?
    public var createdAt: Date
}

public enum APIKeys {
    public static func generate() -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255, using: &generator) }
        let base64 = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return "dqt_" + base64
    }

    public static func hash(_ key: String) -> String {
        Hex.lowercase(SHA256.hash(data: Data(key.utf8)))
    }

    /// Creates a key and returns it (the only time it is ever seen).
    public static func create(
        _ connection: PGConnection, name: String, roles: [Role], expiresAt: Date?, rateLimit: Int = 1000
    ) throws -> (key: String, info: APIKeyInfo) {
        let key = generate()
        let result = try connection.query(
            """
            INSERT INTO api_keys (name, key_hash, roles, rate_limit, expires_at)
            VALUES ($1, $2, $3::text[], $4::int, $5::timestamptz)
            RETURNING id, created_at
            """,
            [
                .text(name), .text(hash(key)), .textArray(roles.map(\.rawValue)), .int(rateLimit),
                expiresAt.map { .timestamp($0) },
            ])
        let info = APIKeyInfo(
            id: try result.requireInt64(0, "id"), name: name, roles: roles.map(\.rawValue), rateLimit: rateLimit,
            expiresAt: expiresAt, revokedAt: nil, createdAt: try result.requireDate(0, "created_at"))
        return (key, info)
    }

    public static func list(_ connection: PGConnection) throws -> [APIKeyInfo] {
        let result = try connection.query(
            "SELECT id, name, array_to_json(roles)::text AS roles, rate_limit, expires_at, revoked_at, created_at FROM api_keys ORDER BY id")
        return try result.rows.map { row in
            APIKeyInfo(
                id: row.int64("id") ?? 0, name: row["name"] ?? "",
                roles: (try? JSONDecoder().decode([String].self, from: Data((row["roles"] ?? "[]").utf8))) ?? [],
                rateLimit: row.int("rate_limit") ?? 1000, expiresAt: row.date("expires_at"),
                revokedAt: row.date("revoked_at"), createdAt: try result.requireDate(row.index, "created_at"))
        }
    }

    /// Revokes by name; false when no such active key.
    public static func revoke(_ connection: PGConnection, name: String) throws -> Bool {
        try connection.execute(
            "UPDATE api_keys SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL", [.text(name)]) == 1
    }

    /// The principal for a key, or nil when unknown, expired or revoked.
    static func lookup(_ connection: PGConnection, hash: String) throws -> Principal? {
        let result = try connection.queryPrepared(
            """
            SELECT id, name, array_to_string(roles, ',') AS roles, rate_limit FROM api_keys
            WHERE key_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
            """, [.text(hash)])
        guard result.rowCount == 1 else { return nil }
        let roles = Set((result.string(0, "roles") ?? "").split(separator: ",").compactMap { Role(rawValue: String($0)) })
        return Principal(
            keyID: try result.requireInt64(0, "id"), keyName: try result.requireString(0, "name"), roles: roles,
            rateLimit: result.int(0, "rate_limit") ?? 1000)
    }
}

/// Authenticates bearer keys, remembering each answer (also "unknown") for a short time so that a busy client does
/// not cost a database round trip per call. A revoked or expired key stops working within `cacheSeconds`.
public final class KeyAuthenticator: Sendable {
    private let pool: PGPool
    private let cacheSeconds: Double
    private let cache = Mutex<[String: (principal: Principal?, until: ContinuousClock.Instant)]>([:])

    public init(pool: PGPool, cacheSeconds: Double = 5) {
        self.pool = pool
        self.cacheSeconds = cacheSeconds
    }

    public func authenticate(_ key: String) async throws -> Principal? {
        let hash = APIKeys.hash(key)
        let now = ContinuousClock.now
        if cacheSeconds > 0, let hit = cache.withLock({ $0[hash] }), hit.until > now { return hit.principal }
        let principal = try await pool.withConnection { try APIKeys.lookup($0, hash: hash) }
        if cacheSeconds > 0 {
            cache.withLock { cache in
                if cache.count > 10_000 { cache.removeAll() }
                cache[hash] = (principal, now.advanced(by: .milliseconds(Int(cacheSeconds * 1000))))
            }
        }
        return principal
    }
}

/// One window per key, opened by the key's first call and lasting `windowSeconds`: a key never gets more than its
/// limit in any window of its own (windows aligned to the clock's minutes would let a client that straddles a
/// boundary make twice its limit in a few seconds, and let a quota reset between two calls of one burst).
public final class RateLimiter: Sendable {
    public let windowSeconds: Int
    private let windows = Mutex<[Int64: (opened: ContinuousClock.Instant, count: Int)]>([:])

    public init(windowSeconds: Int = 60) { self.windowSeconds = windowSeconds }

    /// nil when allowed, else the whole seconds until the key's window closes (at least 1).
    public func check(keyID: Int64, limit: Int, now: ContinuousClock.Instant = .now) -> Int? {
        let window = Duration.seconds(windowSeconds)
        return windows.withLock { windows in
            var entry = windows[keyID] ?? (now, 0)
            if now - entry.opened >= window { entry = (now, 0) }
            guard entry.count < limit else {
                let left = entry.opened + window - now
                return max(1, Int(left.components.seconds) + (left.components.attoseconds > 0 ? 1 : 0))
            }
            entry.count += 1
            windows[keyID] = entry
            return nil
        }
    }
}
