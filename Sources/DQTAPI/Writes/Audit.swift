import LibPQ

/// The audit: one row per change, in the change's transaction, with who made it (key name, correlation id), the
/// request (operation, method, path, idempotency key), its declared source and the record before and after.
extension WriteTransaction {
    func audit(_ request: WriteRequest, trn: String?, before: String?, after: String?) throws {
        try connection.queryPrepared(
            """
            INSERT INTO audit (key_name, correlation_id, operation, method, path, trn, idempotency_key, source_feed,
                               source_sha256, source_line, before, after)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::int, $11::json, $12::json)
            """,
            [
                .text(context.keyName), .text(context.correlationID), .text(request.command.operationID),
                .text(request.method), .text(request.path), trn.map { .text($0) }, request.idempotencyKey.map { .text($0) },
                request.source?.feed.map { .text($0) }, request.source?.fileSha256.map { .text($0) },
                request.source?.line.map { .int($0) }, before.map { .json($0) }, after.map { .json($0) },
            ])
    }
}
