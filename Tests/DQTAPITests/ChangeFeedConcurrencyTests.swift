import DQTTesting
import Foundation
import LibPQ
import NIOHTTP1
import Synchronization
import Testing

@testable import DQTAPI

/// The change feed while transactions commit out of the order they took their ids: a reader that follows
/// `nextCursor` never skips a change that commits late, never sees one twice, and every reader sees the one order.
/// Writers are the real write path (direct and batched calls) and SQL connections that hold their transactions
/// open across others' commits. Without the feed's bound at the oldest running transaction these tests fail.
@Suite(.enabled(if: TestServices.shouldRun(TestServices.databaseURL)), .timeLimit(.minutes(5)))
struct ChangeFeedConcurrencyTests {
    /// A person change written as the write path writes one, from a connection whose transaction the test controls.
    static let sqlWrite = """
        WITH u AS (UPDATE persons SET email = $2 WHERE trn = $1 RETURNING to_json(persons) AS doc)
        INSERT INTO audit (key_name, operation, method, path, trn, before, after)
        SELECT 'direct-sql', 'updatePerson', 'PUT', '/v3/persons/' || $1, $1, doc, doc FROM u
        """

    static func employmentPath(_ start: String) -> String {
        "/v3/persons/1000040/employments/\(employmentKey(trn: "1000040", start: start))"
    }

    /// Follows the feed from the start until it has given `expected()` changes once writing is `done` (or for two
    /// minutes more, then returns what it saw).
    static func follow(_ h: Harness, limit: Int, done: Flag, expected: @escaping @Sendable () async throws -> Int) async throws -> [String] {
        var cursor: String?
        var seen: [String] = []
        var deadline: ContinuousClock.Instant?
        while true {
            let page = try await h.changes(after: cursor, limit: limit)
            seen += page.cursors
            cursor = page.nextCursor
            guard !page.hasMore else { continue }
            if done.isSet {
                if try await seen.count >= expected() { return seen }
                let end = deadline ?? .now + .seconds(120)
                deadline = end
                if ContinuousClock.now > end { return seen }
            }
            try await Task.sleep(for: .milliseconds(3))
        }
    }

    @Test func aTransactionThatCommitsLateIsNotSkipped() async throws {
        try await Harness.with { h in
            let start = try await h.changes()
            #expect(start.changes.isEmpty && start.nextCursor == "0.0")
            // A takes its transaction id and writes, B starts later and commits first.
            let a = try PGConnection(h.databaseURL)
            try a.execute("BEGIN")
            try a.execute(Self.sqlWrite, [.text("1000041"), .text("late@example.invalid")])
            let b = try await h.call(.PUT, Self.employmentPath("2024-09-01"), json: employmentBody(trn: "1000040"), key: h.allKey)
            #expect(b.status == 204)
            let whileOpen = try await h.changes(after: start.nextCursor)
            #expect(whileOpen.changes.isEmpty, "B must wait behind A: \(whileOpen.cursors)")
            #expect(whileOpen.endCursor == start.nextCursor, "the end must wait behind A too")
            try a.execute("COMMIT")
            var seen = whileOpen.changes
            var cursor = whileOpen.nextCursor
            let deadline = ContinuousClock.now + .seconds(120)
            while seen.count < 2 && ContinuousClock.now < deadline {
                let page = try await h.changes(after: cursor)
                seen += page.changes
                cursor = page.nextCursor
                if page.changes.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(seen.map { $0["operation"] as? String } == ["updatePerson", "upsertEmployment"])
            #expect(seen.map { $0["cursor"] as? String ?? "" } == (try await h.auditCursors()))
            #expect(try await h.changes(limit: 1).endCursor == seen.last?["cursor"] as? String)
        }
    }

    @Test func readersSeeEveryCommittedChangeOnceInOneOrder() async throws {
        try await Harness.with { h in
            let done = Flag()
            let expected: @Sendable () async throws -> Int = {
                try await h.sql { try $0.query("SELECT count(*) AS n FROM audit").int(0, "n") ?? 0 }
            }
            async let readers: [[String]] = withThrowingTaskGroup(of: [String].self) { group in
                for limit in [1, 3, 7, 50] { group.addTask { try await Self.follow(h, limit: limit, done: done, expected: expected) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                // SQL writers: take a transaction id, let others commit meanwhile, write, commit (every fifth rolls back).
                for (writer, trn) in ["1000041", "1000042"].enumerated() {
                    group.addTask {
                        let connection = try PGConnection(h.databaseURL)
                        for round in 0..<25 {
                            try connection.execute("BEGIN")
                            _ = try connection.query("SELECT pg_current_xact_id()")
                            try await Task.sleep(for: .milliseconds(Int.random(in: 1...25)))
                            for write in 0..<Int.random(in: 1...2) {
                                try connection.execute(Self.sqlWrite, [.text(trn), .text("w\(writer)-\(round)-\(write)@example.invalid")])
                            }
                            try await Task.sleep(for: .milliseconds(Int.random(in: 0...10)))
                            try connection.execute(round % 5 == 4 ? "ROLLBACK" : "COMMIT")
                        }
                    }
                }
                // The write path: direct calls, and batches of three (one transaction, three changes).
                group.addTask {
                    for day in 1...20 {
                        let start = String(format: "2021-01-%02d", day)
                        let reply = try await h.call(
                            .PUT, Self.employmentPath(start), json: employmentBody(trn: "1000040", start: start), key: h.allKey)
                        #expect(reply.status == 204, "\(reply.text)")
                    }
                }
                group.addTask {
                    for batch in 0..<8 {
                        let operations = (1...3).map { index in
                            let start = String(format: "2022-%02d-%02d", batch + 1, index)
                            return
                                #"{"method":"PUT","path":"\#(Self.employmentPath(start))","idempotencyKey":"feed-\#(batch)-\#(index)","body":\#(employmentBody(trn: "1000040", start: start))}"#
                        }
                        let reply = try await h.call(
                            .POST, "/v3/batches", json: #"{"operations":[\#(operations.joined(separator: ","))]}"#, key: h.allKey)
                        #expect(reply.status == 200 && !reply.text.contains(#""status":4"#), "\(reply.text)")
                    }
                }
                try await group.waitForAll()
            }
            done.set()
            let seen = try await readers
            let committed = try await h.auditCursors()
            // 44 through the write path, 40 to 80 from the 40 committed SQL transactions.
            #expect((84...124).contains(committed.count), "\(committed.count) changes committed")
            #expect(isAscending(committed))
            for (reader, cursors) in seen.enumerated() {
                #expect(cursors.count == Set(cursors).count, "reader \(reader) saw a change twice")
                #expect(Set(committed).subtracting(cursors).isEmpty, "reader \(reader) skipped \(Set(committed).subtracting(cursors).count)")
                #expect(cursors == committed, "reader \(reader): \(cursors.count) of \(committed.count) in order")
            }
        }
    }
}

/// Set once, read by many tasks.
final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
