import Foundation
public import Ledger
public import Logging

/// How the publisher batches, paces and retries.
public struct PublisherSettings: Sendable {
    /// Operations per `POST /v3/batches` (the API takes at most 1000 by default).
    public var batchSize: Int = 500
    /// Batches in flight at once.
    public var concurrency: Int = 4
    /// Attempts per batch before the file is left for the next run.
    public var maxAttempts: Int = 8
    /// Backoff: full jitter over `min(maxDelay, baseDelay * 2^attempt)` seconds.
    public var baseDelay: Double = 0.5
    public var maxDelay: Double = 30
    /// The longest `Retry-After` honoured; a longer one fails the batch for this run.
    public var maxRetryAfter: Double = 300

    public init() {}
}

/// What publishing one file did.
public struct PublishSummary: Sendable {
    public var sent = 0
    public var published = 0
    public var failed = 0
    public var replayed = 0
    public var retries = 0
    public var batches = 0
}

/// Why publishing stopped before every record was acknowledged. Records not acknowledged stay `accepted` in the
/// ledger and the next run sends them again (their idempotency keys make that harmless).
public enum PublishError: Error, Sendable, CustomStringConvertible {
    /// The API kept failing (timeouts, connection errors, 429, 5xx) for `maxAttempts` attempts.
    case retriesExhausted(String)
    /// The API refused the key (401/403) or the request as a whole (another 4xx): retrying cannot help.
    case refused(status: Int, message: String)
    /// The answer did not fit the request (wrong number of results...).
    case protocolError(String)

    public var description: String {
        switch self {
        case .retriesExhausted(let message): "the API did not answer successfully after every retry: \(message)"
        case .refused(let status, let message): "the API refused the batch as a whole (HTTP \(status)): \(message)"
        case .protocolError(let message): "the API's answer does not fit the batch: \(message)"
        }
    }
}

/// Observes the publisher (metrics, progress). Called from any task.
public protocol PublisherObserver: Sendable {
    func retried(reason: String, delay: Double)
    func acknowledged(published: Int, failed: Int, replayed: Int)
}

/// Publishes a file's staged records from the ledger through the DQT API, in batches, with retries and bounded
/// concurrency, recording each record's outcome in the ledger once the API has answered for it.
///
/// - Exactly-once effect: a record is marked published or failed only after the API's answer; a crash before that
///   leaves it `accepted`, and the next run sends it again with the same idempotency key, for which the API returns
///   its stored result.
/// - Order: two batches in flight never touch the same API path, so writes to one resource keep file order.
public struct Publisher: Sendable {
    public let ledger: any RecordLedger
    public let transport: any BatchTransport
    public let settings: PublisherSettings
    public let logger: Logger
    public let observer: (any PublisherObserver)?

    public init(
        ledger: any RecordLedger, transport: any BatchTransport, settings: PublisherSettings, logger: Logger,
        observer: (any PublisherObserver)? = nil
    ) {
        self.ledger = ledger
        self.transport = transport
        self.settings = settings
        self.logger = logger
        self.observer = observer
    }

    /// Publishes every record of the file not yet acknowledged.
    public func publish(
        fileID: Int64, feed: String, fileSHA256: String,
        progress: (@Sendable (_ acknowledged: Int) -> Void)? = nil
    ) async throws -> PublishSummary {
        var summary = PublishSummary()
        var afterSeq = 0
        var inFlight: [Int: Set<String>] = [:]
        var nextTaskID = 0
        var acknowledged = 0
        let batchSize = max(1, settings.batchSize)
        let concurrency = max(1, settings.concurrency)

        try await withThrowingTaskGroup(of: (Int, BatchStats).self) { group in
            func collectOne() async throws {
                guard let (id, stats) = try await group.next() else { return }
                inFlight[id] = nil
                summary.add(stats)
                acknowledged += stats.published + stats.failed
                progress?(acknowledged)
            }
            while true {
                try Task.checkCancellation()
                let chunk = try await ledger.pendingRecords(fileID: fileID, afterSeq: afterSeq, limit: batchSize)
                guard let last = chunk.last else { break }
                afterSeq = last.seq
                let paths = Set(chunk.map(\.path))
                while inFlight.count >= concurrency || inFlight.values.contains(where: { !$0.isDisjoint(with: paths) }) {
                    try await collectOne()
                }
                let id = nextTaskID
                nextTaskID += 1
                inFlight[id] = paths
                let operations = chunk.map { record in
                    BatchOperation(
                        method: record.method, path: record.path, body: record.body, idempotencyKey: record.key, feed: feed,
                        fileSHA256: fileSHA256, line: record.line)
                }
                let seqs = chunk.map(\.seq)
                group.addTask {
                    (id, try await self.sendBatch(fileID: fileID, operations: operations, seqs: seqs))
                }
            }
            while !inFlight.isEmpty { try await collectOne() }
        }
        return summary
    }

    struct BatchStats: Sendable {
        var sent = 0
        var published = 0
        var failed = 0
        var replayed = 0
        var retries = 0
    }

    /// Sends one batch until every operation has a final answer (2xx, 3xx or 4xx other than 429), retrying the rest.
    func sendBatch(fileID: Int64, operations: [BatchOperation], seqs: [Int]) async throws -> BatchStats {
        var stats = BatchStats()
        var pending = Array(operations.indices)
        var attempt = 0
        var lastProblem = ""
        var splitSize: Int?
        while !pending.isEmpty {
            if attempt >= settings.maxAttempts {
                throw PublishError.retriesExhausted(lastProblem)
            }
            // A 413 makes the publisher send smaller pieces of the same batch, one after another.
            let piece = Array(pending.prefix(splitSize ?? pending.count))
            stats.sent += piece.count
            let reply: BatchReply
            do {
                reply = try await transport.send(piece.map { operations[$0] })
            } catch let failure as TransportFailure {
                if failure.kind == .protocolError { throw PublishError.protocolError(failure.message) }
                lastProblem = failure.description
                attempt += 1
                stats.retries += 1
                try await backoff(attempt: attempt, retryAfter: nil, reason: failure.kind.rawValue)
                continue
            }
            switch reply {
            case .results(let results):
                guard results.count == piece.count else {
                    throw PublishError.protocolError("\(results.count) results for \(piece.count) operations")
                }
                var acknowledgements: [RecordAcknowledgement] = []
                var retry: [Int] = []
                for (index, result) in zip(piece, results) {
                    switch result.status {
                    case 200..<300:
                        acknowledgements.append(
                            RecordAcknowledgement(
                                seq: seqs[index], outcome: .published, apiStatus: result.status, replayed: result.replayed,
                                problem: result.warnings))
                        stats.published += 1
                        if result.replayed { stats.replayed += 1 }
                    case 408, 429, 500...599:
                        retry.append(index)
                        lastProblem = "operation status \(result.status)"
                    default:
                        var problem = result.problem
                        if problem == nil, let location = result.location {
                            problem = #"{"status":\#(result.status),"location":"\#(location)"}"#
                        }
                        acknowledgements.append(
                            RecordAcknowledgement(
                                seq: seqs[index], outcome: .failed, apiStatus: result.status, replayed: result.replayed,
                                problem: problem ?? #"{"status":\#(result.status)}"#))
                        stats.failed += 1
                    }
                }
                // Persist after the API has answered, before anything else happens.
                FailPoint.hit("batch-answered")
                try await ledger.acknowledge(fileID: fileID, acknowledgements)
                FailPoint.hit("batch-recorded")
                observer?.acknowledged(
                    published: acknowledgements.filter { $0.outcome == .published }.count,
                    failed: acknowledgements.filter { $0.outcome == .failed }.count,
                    replayed: acknowledgements.filter(\.replayed).count)
                let done = Set(piece).subtracting(retry)
                pending.removeAll { done.contains($0) }
                // Progress resets the attempt count; operations still failing are retried after a pause.
                if !done.isEmpty { attempt = 0 }
                if !retry.isEmpty {
                    attempt += 1
                    stats.retries += 1
                    try await backoff(attempt: attempt, retryAfter: nil, reason: "operation status 429/5xx")
                }
            case .refused(let status, let retryAfter, let problem):
                lastProblem = "HTTP \(status)" + (problem.map { ": \($0.prefix(300))" } ?? "")
                switch status {
                case 408, 429, 500...599:
                    attempt += 1
                    stats.retries += 1
                    if let retryAfter, retryAfter > settings.maxRetryAfter {
                        throw PublishError.retriesExhausted(
                            "\(lastProblem); Retry-After \(Int(retryAfter)) s is longer than the \(Int(settings.maxRetryAfter)) s allowed")
                    }
                    try await backoff(attempt: attempt, retryAfter: retryAfter, reason: "HTTP \(status)")
                case 413 where piece.count > 1:
                    splitSize = max(1, piece.count / 2)
                    logger.warning(
                        "the API refused a batch as too large; sending it in smaller pieces",
                        metadata: ["operations": "\(piece.count)", "piece": "\(splitSize!)"])
                default:
                    throw PublishError.refused(status: status, message: problem.map { String($0.prefix(500)) } ?? "no detail")
                }
            }
        }
        return stats
    }

    /// Sleeps before the next attempt: `Retry-After` when the API sent one (429 over the quota, 503 while its
    /// database is unreachable; plus a little jitter), else full jitter.
    func backoff(attempt: Int, retryAfter: Double?, reason: String) async throws {
        let delay: Double
        if let retryAfter {
            delay = retryAfter + Double.random(in: 0...min(1, settings.baseDelay))
        } else {
            let cap = min(settings.maxDelay, settings.baseDelay * pow(2, Double(attempt - 1)))
            delay = Double.random(in: 0...max(cap, 0.001))
        }
        observer?.retried(reason: reason, delay: delay)
        logger.info("retrying a batch", metadata: ["reason": "\(reason)", "attempt": "\(attempt)", "delay_s": "\(String(format: "%.2f", delay))"])
        try await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
    }
}

extension PublishSummary {
    mutating func add(_ stats: Publisher.BatchStats) {
        sent += stats.sent
        published += stats.published
        failed += stats.failed
        replayed += stats.replayed
        retries += stats.retries
        batches += 1
    }
}
