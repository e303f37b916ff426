import DQTAPI
import DQTAPITesting
import DQTTesting
import FaultProxy
import Foundation
import Testing

@testable import ChangeFeed

/// ``HTTPChangeFeed`` through a fault proxy in front of dqt-api: a page read whose connection fails is asked for again
/// on a fresh connection, at most ``HTTPChangeFeed/readAttempts`` times; a refusal from the API is never asked again.
@Suite(.enabled(if: TestServices.shouldRun(TestServices.databaseURL)))
struct HTTPChangeFeedRetryTests {
    static func with(_ schedule: FaultSchedule, _ body: @Sendable (HTTPChangeFeed, HTTPChangeFeed, FaultProxy) async throws -> Void)
        async throws
    {
        try await HTTPChangeFeedTests.with { api, keys in
            try await HTTPChangeFeedTests.makeChanges(api, keys)
            let proxy = try FaultProxy(upstreamPort: api.port, schedule: schedule)
            defer { proxy.stop() }
            let direct = HTTPChangeFeed(baseURL: URL(string: api.baseURL)!, apiKey: keys.reader)
            let throughProxy = HTTPChangeFeed(baseURL: URL(string: proxy.baseURL)!, apiKey: keys.reader)
            try await body(direct, throughProxy, proxy)
        }
    }

    @Test func aResetOrACutPageIsReadAgainOnAFreshConnection() async throws {
        try await Self.with(.script([.resetBeforeForwarding, .resetAfterBytes(40)])) { direct, throughProxy, proxy in
            let page = try await throughProxy.changes(after: nil, limit: 100, kinds: [])
            #expect(page == (try await direct.changes(after: nil, limit: 100, kinds: [])))
            #expect(page.changes.count >= 5)
            let stats = proxy.stats
            #expect(stats.requests == 3 && stats.byAction["reset-before"] == 1 && stats.byAction["cut"] == 1 && stats.relayed == 1, "\(stats)")
        }
    }

    @Test func theReadGivesUpAfterItsAttempts() async throws {
        try await Self.with(.always(.resetBeforeForwarding)) { _, throughProxy, proxy in
            await #expect(throws: (any Error).self) { try await throughProxy.changes(after: nil, limit: 100, kinds: []) }
            #expect(proxy.stats.requests == HTTPChangeFeed.readAttempts, "\(proxy.stats)")
        }
    }

    @Test func aRefusalIsNotAskedAgain() async throws {
        try await Self.with(.script([.respond(status: 503)])) { _, throughProxy, proxy in
            do {
                _ = try await throughProxy.changes(after: nil, limit: 100, kinds: [])
                Issue.record("a 503 was taken for a page")
            } catch let ChangeFeedError.refused(status, _) {
                #expect(status == 503)
            }
            #expect(proxy.stats.requests == 1, "\(proxy.stats)")
        }
    }
}
