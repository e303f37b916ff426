import BridgeRun
import DQTModel
import DQTTesting
import Foundation
import Ledger
import LibPQ
import Logging
import Publisher
import Synchronization
import Testing

/// The publisher against a scripted API (no HTTP) and a real ledger: retries, Retry-After, per-operation refusals,
/// batch splitting on 413, ordering per resource.
@Suite("Publisher", .serialized, .enabled(if: TestServices.shouldRun(TestServices.databaseURL)))
struct PublisherTests {
    /// A fresh ledger with one file of `count` staged records (paths p0, p1, ... or `path(i)`).
    static func withStagedFile(
        count: Int, path: @escaping @Sendable (Int) -> String = { "/v3/persons/\(1000000 + $0)/qtls" },
        _ body: @Sendable (Ledger, Int64) async throws -> Void
    ) async throws {
        try await withLedgerFile(
            staging: { writer in
                for index in 0..<count {
                    try writer.accepted(line: index + 2, key: "test-feed-\(index)", method: "PUT", path: path(index), body: #"{"qtsDate":null}"#, shadow: false)
                }
                return StageDecision(state: .parsed, rowsRead: count, accepted: count, rejected: 0, warnings: 0, summaryJSON: "{}")
            }, body)
    }

    /// A fresh ledger with one downloaded file, staged by `staging`.
    static func withLedgerFile(
        staging: @escaping @Sendable (RecordWriter) throws -> StageDecision, _ body: @Sendable (Ledger, Int64) async throws -> Void
    ) async throws {
        try await TemporaryDatabase.with(prefix: "bridge_publisher_test") { database in
            let ledger = Ledger(conninfo: database.url, maximumConnections: 4, reconnectAttempts: 1)
            defer { ledger.close() }
            try await ledger.migrate()
            let run = try await ledger.startRun(command: "test", host: "test", pid: 1, feeds: ["test-feed"])
            let file = try await ledger.discover(
                runID: run, feed: "test-feed", origin: .folder, transport: "folder", path: "x/file.csv", name: "file.csv", size: 1,
                mtime: Date(), reason: "test")
            try await ledger.setDownloaded(id: file.id, runID: run, sha256: String(repeating: "a", count: 64), size: 1, localPath: "/nonexistent")
            _ = try await ledger.stage(fileID: file.id, runID: run, staging)
            try await body(ledger, file.id)
        }
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

    @Test("Staging keeps every record's bytes: keys, paths and bodies with control characters, rejected rows' problems")
    func stagingRoundTrip() async throws {
        let awkward = "tab\t newline\n cr\r backslash\\ \\N quote\" Siân 𝄞"
        let body = #"{"note":"\#(awkward)","empty":""}"#
        try await Self.withLedgerFile(
            staging: { writer in
                try writer.accepted(line: 2, key: "k-\(awkward)", method: "PUT", path: "/p/\(awkward)", body: body, shadow: false)
                try writer.accepted(line: 3, key: "k-shadow", method: "PUT", path: "/p/s", body: body, shadow: true)
                try writer.accepted(line: 4, key: "k-empty", method: "POST", path: "/p/e", body: nil, shadow: false)
                try writer.rejected(
                    line: 7, key: nil,
                    problemsJSON: JSONValue.array([.object([("code", .string("type-error")), ("message", .string(awkward))])]).serialized)
                return StageDecision(state: .parsed, rowsRead: 4, accepted: 3, rejected: 1, warnings: 0, summaryJSON: "{}")
            }
        ) { ledger, fileID in
            let rows = try await ledger.withConnection { connection in
                try connection.query(
                    "SELECT seq, line, key, outcome, method, path, body, problem->0->>'message' AS message FROM bridge.records WHERE file_id = $1 ORDER BY seq",
                    [.int64(fileID)]
                ).rows.map { [$0["seq"], $0["line"], $0["key"], $0["outcome"], $0["method"], $0["path"], $0["body"], $0["message"]] }
            }
            #expect(rows == [
                ["1", "2", "k-\(awkward)", "accepted", "PUT", "/p/\(awkward)", body, nil],
                ["2", "3", "k-shadow", "shadow", "PUT", "/p/s", nil, nil],
                ["3", "4", "k-empty", "accepted", "POST", "/p/e", nil, nil],
                ["4", "7", nil, "rejected", nil, nil, nil, awkward],
            ])
            let pending = try await ledger.pendingRecords(fileID: fileID, afterSeq: 0, limit: 10)
            #expect(pending.map(\.body) == [body, nil])
        }
    }

    @Test("Every record is acknowledged once; 2xx published, 4xx failed with the API's problem")
    func outcomes() async throws {
        try await Self.withStagedFile(count: 25) { ledger, fileID in
            let transport = ScriptedTransport { _, operations in
                .results(operations.map { operation in
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

    @Test("Operations answered 503 inside a batch are resent alone; the others are recorded at once")
    func perOperationRetry() async throws {
        try await Self.withStagedFile(count: 4) { ledger, fileID in
            let transport = ScriptedTransport { call, operations in
                .results(operations.map { operation in
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
                operations.count > 2 ? .refused(status: 413, retryAfter: nil, problem: nil) : .results(operations.map { _ in OperationResult(status: 204) })
            }
            let publisher = Publisher(ledger: ledger, transport: transport, settings: Self.settings(batch: 8, concurrency: 1), logger: Self.logger)
            _ = try await publisher.publish(fileID: fileID, feed: "test-feed", fileSHA256: String(repeating: "a", count: 64))
            #expect(try await ledger.recordCounts(fileID: fileID)[.published] == 8)
        }
    }

    @Test("A refused key (401) stops publishing without marking records; retries give up after maxAttempts")
    func refusalsStop() async throws {
        try await Self.withStagedFile(count: 5) { ledger, fileID in
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
            BatchOperation(method: "PUT", path: "/v3/persons/1000001/qtls", body: #"{"qtsDate":"2020-01-01"}"#, idempotencyKey: "k-1", feed: "f", fileSHA256: "ab", line: 7),
        ])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let operation = try #require((object["operations"] as? [[String: Any]])?.first)
        #expect(operation["idempotencyKey"] as? String == "k-1")
        #expect((operation["body"] as? [String: Any])?["qtsDate"] as? String == "2020-01-01")
        #expect((operation["source"] as? [String: Any])?["line"] as? Int == 7)
    }
}

/// An API stand-in: `respond(call number, operations)` answers each batch.
final class ScriptedTransport: BatchTransport, Sendable {
    struct State {
        var calls = 0
        var sent = 0
        var batchSizes: [Int] = []
        var inFlight: [Set<String>] = []
        var maxInFlight = 0
        var overlaps = 0
        var order: [Int] = []
    }
    private let state = Mutex(State())
    let delay: Duration?
    let respond: @Sendable (Int, [BatchOperation]) throws -> BatchReply

    init(delay: Duration? = nil, respond: @escaping @Sendable (Int, [BatchOperation]) throws -> BatchReply) {
        self.delay = delay
        self.respond = respond
    }

    var calls: Int { state.withLock { $0.calls } }
    var operationsSent: Int { state.withLock { $0.sent } }
    var batchSizes: [Int] { state.withLock { $0.batchSizes } }
    var maxInFlight: Int { state.withLock { $0.maxInFlight } }
    var overlaps: Int { state.withLock { $0.overlaps } }
    var order: [Int] { state.withLock { $0.order } }

    func send(_ operations: [BatchOperation]) async throws -> BatchReply {
        let paths = Set(operations.map(\.path))
        let call = state.withLock { state -> Int in
            state.calls += 1
            state.sent += operations.count
            state.batchSizes.append(operations.count)
            if state.inFlight.contains(where: { !$0.isDisjoint(with: paths) }) { state.overlaps += 1 }
            state.inFlight.append(paths)
            state.maxInFlight = max(state.maxInFlight, state.inFlight.count)
            state.order.append(contentsOf: operations.map(\.line))
            return state.calls
        }
        defer {
            state.withLock { state in
                if let index = state.inFlight.firstIndex(of: paths) { state.inFlight.remove(at: index) }
            }
        }
        if let delay { try await Task.sleep(for: delay) }
        return try respond(call, operations)
    }
}
