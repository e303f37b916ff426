import DQTTesting
import Foundation
import Ledger
import Logging
import Publisher
import Testing

/// The publisher against a scripted API (no HTTP) and a ledger in memory: retries, Retry-After, per-operation
/// refusals, batch splitting on 413, ordering per resource. The tests of what the ledger records also run on
/// PostgreSQL.
@Suite("Publisher", .serialized)
struct PublisherTests {
    /// Where the staged records live.
    enum Store: String, CaseIterable, Sendable, CustomStringConvertible {
        case memory, postgres

        var description: String { rawValue }

        static var available: [Store] { TestServices.shouldRun(TestServices.databaseURL) ? [.memory, .postgres] : [.memory] }
    }

    /// A fresh ledger with one file of `count` staged records (paths `path(i)`).
    static func withStagedFile(
        count: Int, path: @escaping @Sendable (Int) -> String = { "/v3/persons/\(1000000 + $0)/qtls" }, on store: Store = .memory,
        _ body: @Sendable (any LedgerStore, Int64) async throws -> Void
    ) async throws {
        switch store {
        case .memory:
            let ledger = MemoryLedger()
            try await body(ledger, try await stageFile(count: count, path: path, in: ledger))
        case .postgres:
            try await TemporaryDatabase.with(prefix: "bridge_publisher_test") { database in
                let ledger = PostgresLedger(conninfo: database.url, maximumConnections: 4, reconnectAttempts: 1)
                defer { ledger.close() }
                try await ledger.migrate()
                try await body(ledger, try await stageFile(count: count, path: path, in: ledger))
            }
        }
    }

    /// Discovers, downloads and stages one file of `count` accepted records; returns its id.
    static func stageFile(count: Int, path: @escaping @Sendable (Int) -> String, in ledger: any LedgerStore) async throws -> Int64 {
        let run = try await ledger.startRun(command: "test", host: "test", pid: 1, feeds: ["test-feed"])
        let file = try await ledger.discover(
            runID: run, feed: "test-feed", origin: .folder, transport: "folder", path: "x/file.csv", name: "file.csv", size: 1,
            mtime: Date(), reason: "test")
        try await ledger.setDownloaded(id: file.id, runID: run, sha256: String(repeating: "a", count: 64), size: 1, localPath: "/nonexistent")
        _ = try await ledger.stage(fileID: file.id, runID: run) { writer in
            for index in 0..<count {
                try writer.accepted(
                    line: index + 2, key: "test-feed-\(index)", method: "PUT", path: path(index), body: #"{"qtsDate":null}"#, shadow: false)
            }
            return StageDecision(state: .parsed, rowsRead: count, accepted: count, rejected: 0, warnings: 0, summaryJSON: "{}")
        }
        return file.id
    }

    static func settings(batch: Int = 10, concurrency: Int = 2, attempts: Int = 5) -> PublisherSettings {
        var settings = PublisherSettings()
        settings.batchSize = batch
        settings.concurrency = concurrency
        settings.maxAttempts = attempts
        settings.baseDelay = 0.005
        settings.maxDelay = 0.02
        return settings
    }

    static let logger = Logger(label: "publisher-test") { _ in SwiftLogNoOpLogHandler() }

    @Test("Every record is acknowledged once; 2xx published, 4xx failed with the API's problem", arguments: Store.available)
    func outcomes(on store: Store) async throws {
        try await Self.withStagedFile(count: 25, on: store) { ledger, fileID in
            let transport = ScriptedTransport { _, operations in
                .results(
                    operations.map { operation in
                        operation.line % 5 == 0
                            ? OperationResult(status: 404, problem: #"{"title":"Person not found","status":404,"errorCode":10001}"#)
                            : OperationResult(status: 204)
                    })
            }
            let publisher = Publisher(ledger: ledger, transport: transport, settings: Self.settings(), logger: Self.logger)
            let summary = try await publisher.publish(fileID: fileID, feed: "test-feed", fileSHA256: String(repeating: "a", count: 64))
            #expect(summary.published + summary.failed == 25)
            let counts = try await ledger.recordCounts(fileID: fileID)
            #expect(counts[.published] == 20)
            #expect(counts[.failed] == 5)
            #expect(counts[.accepted] == nil)
            let failed = try await ledger.records(fileID: fileID, outcomes: [.failed], limit: 10)
            #expect(failed.allSatisfy { $0.apiStatus == 404 && $0.problem?.contains("10001") == true })
            #expect(transport.operationsSent == 25)
        }
    }

    @Test("Timeouts, connection errors and 5xx are retried; 429 waits for Retry-After")
    func retries() async throws {
        try await Self.withStagedFile(count: 6) { ledger, fileID in
            let transport = ScriptedTransport { call, operations in
                switch call {
                case 1: throw TransportFailure(kind: .timeout, message: "read timeout")
                case 2: return .refused(status: 503, retryAfter: nil, problem: nil)
                case 3: return .refused(status: 429, retryAfter: 1, problem: #"{"title":"API calls quota exceeded"}"#)
                case 4: throw TransportFailure(kind: .connection, message: "connection reset")
                default: return .results(operations.map { _ in OperationResult(status: 204) })
                }
            }
            let publisher = Publisher(ledger: ledger, transport: transport, settings: Self.settings(batch: 10, concurrency: 1), logger: Self.logger)
            let started = ContinuousClock.now
            let summary = try await publisher.publish(fileID: fileID, feed: "test-feed", fileSHA256: String(repeating: "a", count: 64))
            #expect(ContinuousClock.now - started >= .seconds(1), "Retry-After honoured")
            #expect(summary.retries == 4)
            #expect(summary.published == 6)
            #expect(try await ledger.recordCounts(fileID: fileID)[.published] == 6)
        }
    }

    @Test("A 503 (the API's database unreachable) waits for its Retry-After and marks nothing failed, even when it outlasts every retry")
    func outageWaitsAndFailsNothing() async throws {
        try await Self.withStagedFile(count: 6) { ledger, fileID in
            let transport = ScriptedTransport { call, operations in
                call <= 2
                    ? .refused(status: 503, retryAfter: 0.6, problem: #"{"title":"Service unavailable.","errorCode":10131}"#)
                    : .results(operations.map { _ in OperationResult(status: 204) })
            }
            let publisher = Publisher(ledger: ledger, transport: transport, settings: Self.settings(batch: 10, concurrency: 1), logger: Self.logger)
            let started = ContinuousClock.now
            let summary = try await publisher.publish(fileID: fileID, feed: "test-feed", fileSHA256: String(repeating: "a", count: 64))
            #expect(ContinuousClock.now - started >= .milliseconds(1200), "Retry-After honoured twice")
            #expect(summary.published == 6 && summary.failed == 0)
        }
        try await Self.withStagedFile(count: 6) { ledger, fileID in
            let transport = ScriptedTransport { _, _ in .refused(status: 503, retryAfter: 0.05, problem: nil) }
            let publisher = Publisher(
                ledger: ledger, transport: transport, settings: Self.settings(batch: 10, concurrency: 1, attempts: 3), logger: Self.logger)
            await #expect(throws: PublishError.self) {
                try await publisher.publish(fileID: fileID, feed: "test-feed", fileSHA256: String(repeating: "a", count: 64))
            }
            let counts = try await ledger.recordCounts(fileID: fileID)
            #expect(counts[.accepted] == 6 && counts[.failed] == nil, "\(counts)")
            #expect(transport.calls == 3)
        }
    }

    @Test("Operations answered 503 inside a batch are resent alone; the others are recorded at once")
    func perOperationRetry() async throws {
        try await Self.withStagedFile(count: 4) { ledger, fileID in
            let transport = ScriptedTransport { call, operations in
                .results(
                    operations.map { operation in
                        call == 1 && operation.line == 3 ? OperationResult(status: 503) : OperationResult(status: 200, replayed: call > 1)
                    })
            }
            let publisher = Publisher(ledger: ledger, transport: transport, settings: Self.settings(), logger: Self.logger)
            _ = try await publisher.publish(fileID: fileID, feed: "test-feed", fileSHA256: String(repeating: "a", count: 64))
            #expect(transport.batchSizes == [4, 1])
            #expect(try await ledger.recordCounts(fileID: fileID)[.published] == 4)
        }
    }

    @Test("A batch refused as too large (413) is sent in halves")
    func splitsOn413() async throws {
        try await Self.withStagedFile(count: 8) { ledger, fileID in
            let transport = ScriptedTransport { _, operations in
                operations.count > 2
                    ? .refused(status: 413, retryAfter: nil, problem: nil) : .results(operations.map { _ in OperationResult(status: 204) })
            }
            let publisher = Publisher(ledger: ledger, transport: transport, settings: Self.settings(batch: 8, concurrency: 1), logger: Self.logger)
            _ = try await publisher.publish(fileID: fileID, feed: "test-feed", fileSHA256: String(repeating: "a", count: 64))
            #expect(try await ledger.recordCounts(fileID: fileID)[.published] == 8)
        }
    }

    @Test("A refused key (401) stops publishing without marking records; retries give up after maxAttempts", arguments: Store.available)
    func refusalsStop(on store: Store) async throws {
        try await Self.withStagedFile(count: 5, on: store) { ledger, fileID in
            let unauthorized = ScriptedTransport { _, _ in .refused(status: 401, retryAfter: nil, problem: "bad key") }
            let publisher = Publisher(ledger: ledger, transport: unauthorized, settings: Self.settings(), logger: Self.logger)
            await #expect(throws: PublishError.self) {
                _ = try await publisher.publish(fileID: fileID, feed: "test-feed", fileSHA256: String(repeating: "a", count: 64))
            }
            let pendingAfterRefusal = try await ledger.recordCounts(fileID: fileID)[.accepted]
            #expect(pendingAfterRefusal == 5)

            let down = ScriptedTransport { _, _ in .refused(status: 502, retryAfter: nil, problem: nil) }
            let retrying = Publisher(ledger: ledger, transport: down, settings: Self.settings(attempts: 3), logger: Self.logger)
            await #expect(throws: PublishError.self) {
                _ = try await retrying.publish(fileID: fileID, feed: "test-feed", fileSHA256: String(repeating: "a", count: 64))
            }
            #expect(down.calls == 3)
            let pendingAfterRetries = try await ledger.recordCounts(fileID: fileID)[.accepted]
            #expect(pendingAfterRetries == 5)
        }
    }

    @Test("Two batches in flight never write the same resource, so writes to one resource keep file order")
    func orderPerResource() async throws {
        // Records 0..<30 write to three resources in turn.
        try await Self.withStagedFile(count: 30, path: { "/v3/persons/100000\($0 % 3)/qtls" }) { ledger, fileID in
            let transport = ScriptedTransport(delay: .milliseconds(20)) { _, operations in
                .results(operations.map { _ in OperationResult(status: 204) })
            }
            let publisher = Publisher(ledger: ledger, transport: transport, settings: Self.settings(batch: 2, concurrency: 4), logger: Self.logger)
            _ = try await publisher.publish(fileID: fileID, feed: "test-feed", fileSHA256: String(repeating: "a", count: 64))
            #expect(transport.overlaps == 0)
            #expect(transport.order == (0..<30).map { $0 + 2 })
        }
    }

    @Test("Batches in flight stay within the concurrency bound")
    func boundedConcurrency() async throws {
        try await Self.withStagedFile(count: 40) { ledger, fileID in
            let transport = ScriptedTransport(delay: .milliseconds(15)) { _, operations in
                .results(operations.map { _ in OperationResult(status: 204) })
            }
            let publisher = Publisher(ledger: ledger, transport: transport, settings: Self.settings(batch: 4, concurrency: 3), logger: Self.logger)
            _ = try await publisher.publish(fileID: fileID, feed: "test-feed", fileSHA256: String(repeating: "a", count: 64))
            #expect(transport.maxInFlight <= 3)
            #expect(transport.maxInFlight >= 2)
        }
    }

    @Test("The batch request carries each staged body as it is, with its key and source")
    func requestJSON() throws {
        let bytes = BatchRequestJSON.encode([
            BatchOperation(
                method: "PUT", path: "/v3/persons/1000001/qtls", body: #"{"qtsDate":"2020-01-01"}"#, idempotencyKey: "k-1", feed: "f",
                fileSHA256: "ab", line: 7)
        ])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let operation = try #require((object["operations"] as? [[String: Any]])?.first)
        #expect(operation["idempotencyKey"] as? String == "k-1")
        #expect((operation["body"] as? [String: Any])?["qtsDate"] as? String == "2020-01-01")
        #expect((operation["source"] as? [String: Any])?["line"] as? Int == 7)
    }
}
