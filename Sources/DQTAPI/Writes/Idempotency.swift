import LibPQ

/// Idempotency records: the first successful result of a request, stored under its key with the request's hash in
/// the transaction that made the change. A repeat with the same hash gets the stored result; another hash is 422.
extension WriteTransaction {
    /// The stored records of `keys`: key -> (request hash, the stored result as a replay).
    func storedResults(_ keys: [String]) throws -> [String: (hash: String, result: WriteResult)] {
        let rows = try connection.query(
            "SELECT idempotency_key, request_hash, status, response FROM idempotency_keys WHERE idempotency_key = ANY($1::text[])",
            [.textArray(keys)]
        ).rows
        var stored: [String: (hash: String, result: WriteResult)] = [:]
        for row in rows {
            guard let key = row["idempotency_key"], let hash = row["request_hash"], let status = row.int("status") else { continue }
            stored[key] = (hash, .replay(status: status, body: row["response"]))
        }
        return stored
    }

    /// Stores `result` of `request` under `key`; false when a concurrent request stored the key first.
    func storeIdempotency(_ key: String, _ result: WriteResult, of request: WriteRequest) throws -> Bool {
        let inserted = try connection.execute(
            """
            INSERT INTO idempotency_keys (idempotency_key, request_hash, method, path, status, response, key_name)
            VALUES ($1, $2, $3, $4, $5::int, $6, $7) ON CONFLICT DO NOTHING
            """,
            [
                .text(key), .text(request.requestHash), .text(request.method), .text(request.path),
                .int(result.status), result.body.map { .text($0) }, .text(context.keyName),
            ])
        return inserted > 0
    }
}

extension WriteSession {
    mutating func loadIdempotency(_ keys: [String]) throws {
        known.merge(try transaction.storedResults(keys)) { _, stored in stored }
    }

    /// The answer to `request` when its key is known: the stored result, or 422 for another request under the key.
    func replayed(_ request: WriteRequest) -> WriteResult? {
        guard let key = request.idempotencyKey, let stored = known[key] else { return nil }
        guard stored.hash == request.requestHash else { return .failure(.idempotencyConflict()) }
        return stored.result
    }
}
