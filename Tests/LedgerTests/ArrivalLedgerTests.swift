import DQTTesting
import Foundation
import Ledger
import Testing

/// `firstArrival`: both stores count the same files (taken, not replays, not duplicates) within the same window.
@Suite("Arrival ledger", .serialized)
struct ArrivalLedgerTests {
    @Test("the first file seen in a window: left, duplicate and replayed files do not count", arguments: LedgerKind.available)
    func firstArrival(_ kind: LedgerKind) async throws {
        try await kind.with { ledger in
            let run = try await ledger.startRun(command: "run", host: "h", pid: 1, feeds: ["f"])
            let before = Date().addingTimeInterval(-60)
            #expect(try await ledger.firstArrival(feed: "f", from: before, before: Date().addingTimeInterval(60)) == nil)
            // A file still growing is only `left`: it has not arrived yet.
            try await ledger.recordLeft(
                runID: run, feed: "f", origin: .folder, transport: "folder", path: "p/growing.csv", name: "growing.csv", size: 1, mtime: Date(),
                reason: "still growing")
            #expect(try await ledger.firstArrival(feed: "f", from: before, before: Date().addingTimeInterval(60)) == nil)
            let first = try await ledger.discover(
                runID: run, feed: "f", origin: .folder, transport: "folder", path: "p/a.csv", name: "a.csv", size: 1, mtime: Date(), reason: "stable")
            let second = try await ledger.discover(
                runID: run, feed: "f", origin: .folder, transport: "folder", path: "p/b.csv", name: "b.csv", size: 1, mtime: Date(), reason: "stable")
            // A resent copy of the first file is a duplicate: not a new arrival.
            try await ledger.markDuplicate(id: second.id, runID: run, of: first.id, reason: "same content")
            _ = try await ledger.discover(
                runID: run, feed: "f", origin: .replay, transport: "folder", path: "p/a.csv", name: "a.csv", size: 1, mtime: Date(), reason: "replay",
                replayOf: first.id)
            let stored = try #require(try await ledger.file(id: first.id))
            let end = Date().addingTimeInterval(60)
            #expect(try await ledger.firstArrival(feed: "f", from: before, before: end) == stored.createdAt)
            // Only the window counts, and only the feed asked about.
            #expect(try await ledger.firstArrival(feed: "f", from: stored.createdAt.addingTimeInterval(1), before: end) == nil)
            #expect(try await ledger.firstArrival(feed: "f", from: before, before: stored.createdAt) == nil)
            #expect(try await ledger.firstArrival(feed: "g", from: before, before: end) == nil)
        }
    }
}
