import Foundation
import LibPQ
import Logging

/// The outcome of one write, as the direct endpoint or the batch reports it.
public struct WriteResult: Sendable, Equatable {
    public var status: Int
    /// JSON text of the success body, when the endpoint has one.
    public var body: String?
    public var problem: Problem?
    public var location: String?
    public var replayed: Bool

    static func success(_ status: Int, _ body: String? = nil) -> WriteResult {
        WriteResult(status: status, body: body, problem: nil, location: nil, replayed: false)
    }

    static func failure(_ problem: Problem) -> WriteResult {
        WriteResult(status: problem.status, body: nil, problem: problem, location: problem.headers["Location"], replayed: false)
    }

    /// The stored result of an earlier identical request.
    static func replay(status: Int, body: String?) -> WriteResult {
        WriteResult(status: status, body: body, problem: nil, location: nil, replayed: true)
    }
}

/// Who is writing, for the audit.
struct WriteContext: Sendable {
    var keyName: String
    var correlationID: String
}

/// Applies writes in order inside one transaction: each operation under its own savepoint (one failure undoes only
/// itself), consecutive workforce upserts as one multi-row statement. Idempotency records and audit rows are
/// written in the same transaction as the change they describe.
public final class WriteEngine: Sendable {
    let pool: PGPool
    let logger: Logger

    init(pool: PGPool, logger: Logger) {
        self.pool = pool
        self.logger = logger
    }

    /// The results, one per request, in order; throws when the transaction itself failed (nothing was applied):
    /// 503 when the database was lost, else 500.
    func run(_ prepared: [Result<WriteRequest, Problem>], context: WriteContext) async throws(Problem) -> [WriteResult] {
        do {
            return try await pool.withConnection { [logger] connection in
                try connection.transaction { connection in
                    var session = WriteSession(
                        transaction: WriteTransaction(connection: connection, context: context), logger: logger)
                    return try session.run(prepared)
                }
            }
        } catch {
            logger.error("write transaction failed", metadata: ["error": "\(error)", "correlationId": "\(context.correlationID)"])
            throw Problem.known(error) ?? .internalError()
        }
    }
}

/// One run of the engine: the requests in order, and the idempotency records known so far in this transaction.
struct WriteSession {
    let transaction: WriteTransaction
    let logger: Logger
    /// Idempotency records known in this batch: key -> (hash, result).
    var known: [String: (hash: String, result: WriteResult)] = [:]

    init(transaction: WriteTransaction, logger: Logger) {
        self.transaction = transaction
        self.logger = logger
    }

    mutating func run(_ prepared: [Result<WriteRequest, Problem>]) throws -> [WriteResult] {
        // Workforce upserts claim their keys in the bulk insert itself, where a stored key comes back as a replay,
        // so only the other writes' keys are looked up first.
        let keys = prepared.compactMap { result -> String? in
            guard case .success(let request) = result, !request.command.isEmployment else { return nil }
            return request.idempotencyKey
        }
        if !keys.isEmpty { try loadIdempotency(keys) }
        var results = [WriteResult?](repeating: nil, count: prepared.count)
        var index = 0
        while index < prepared.count {
            let request: WriteRequest
            switch prepared[index] {
            case .failure(let problem):
                results[index] = .failure(problem)
                index += 1
                continue
            case .success(let value): request = value
            }
            if let replay = replayed(request) {
                results[index] = replay
                index += 1
                continue
            }
            switch request.command {
            case .employment:
                index = try applyEmploymentRun(from: index, of: prepared, into: &results)
            case .single(let write):
                results[index] = try applyOne(write, request)
                index += 1
            }
        }
        return results.map { $0 ?? .failure(.internalError()) }
    }

    /// Applies the workforce upserts that follow one another from `start` as one statement: distinct employment and
    /// idempotency keys, none replayed. Returns the index after the last one.
    private mutating func applyEmploymentRun(
        from start: Int, of prepared: [Result<WriteRequest, Problem>], into results: inout [WriteResult?]
    ) throws -> Int {
        var run: [(Int, WriteRequest, EmploymentRow)] = []
        var employmentKeys = Set<String>()
        var idempotencyKeys = Set<String>()
        var cursor = start
        while cursor < prepared.count, case .success(let candidate) = prepared[cursor],
            case .employment(let row) = candidate.command, !employmentKeys.contains(row.key),
            candidate.idempotencyKey.map({ !idempotencyKeys.contains($0) && known[$0] == nil }) ?? true
        {
            employmentKeys.insert(row.key)
            if let key = candidate.idempotencyKey { idempotencyKeys.insert(key) }
            run.append((cursor, candidate, row))
            cursor += 1
        }
        if run.isEmpty {  // cannot happen: the first one qualifies
            results[start] = .failure(.internalError())
            return start + 1
        }
        var outcomes: [WriteResult]
        do {
            outcomes = try transaction.applyEmployments(run.map { ($0.1, $0.2) })
        } catch let error as PGError where error.kind == .query {
            // One row upset the multi-row statement: apply them one by one so only it fails.
            logger.warning("bulk workforce upsert failed, retrying row by row", metadata: ["sqlState": "\(error.sqlState ?? "-")"])
            outcomes = run.map { item in
                do { return try transaction.applyEmployments([(item.1, item.2)])[0] } catch { return .failure(.internalError()) }
            }
        }
        for (offset, item) in run.enumerated() {
            results[item.0] = outcomes[offset]
            if outcomes[offset].problem == nil, let key = item.1.idempotencyKey {
                known[key] = (item.1.requestHash, .replay(status: outcomes[offset].status, body: outcomes[offset].body))
            }
        }
        return cursor
    }

    mutating func applyOne(_ write: any SingleWrite, _ request: WriteRequest) throws -> WriteResult {
        // A unique violation means a concurrent request created the same record (or TRN request) first: applying
        // again sees it (an update, a 409, or the stored idempotent result) instead of failing with a 500.
        for attempt in 0..<3 {
            do {
                return try applyOnce(write, request)
            } catch let error as PGError where error.isUniqueViolation && attempt < 2 {
                continue
            } catch let error as PGError where error.kind == .query {
                logger.error(
                    "write failed",
                    metadata: [
                        "operation": "\(request.command.operationID)", "sqlState": "\(error.sqlState ?? "-")",
                        "correlationId": "\(transaction.context.correlationID)",
                    ])
                return .failure(.internalError())
            }
        }
        return .failure(.internalError())
    }

    /// Applies `write` under a savepoint and stores its idempotency record there too, so that a refusal or a lost
    /// race for the key undoes the change with it.
    private mutating func applyOnce(_ write: any SingleWrite, _ request: WriteRequest) throws -> WriteResult {
        do {
            let result = try transaction.connection.savepoint { _ -> WriteResult in
                let result = try write.apply(request, in: transaction)
                if let key = request.idempotencyKey, try !transaction.storeIdempotency(key, result, of: request) {
                    throw Replay()  // a concurrent request stored it first: undo ours
                }
                return result
            }
            if let key = request.idempotencyKey {
                known[key] = (request.requestHash, .replay(status: result.status, body: result.body))
            }
            return result
        } catch let problem as Problem {
            return .failure(problem)
        } catch is Replay {
            try loadIdempotency([request.idempotencyKey!])
            return replayed(request) ?? .failure(.internalError())
        }
    }
}

private struct Replay: Error {}
