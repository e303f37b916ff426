import ChangeFeed
import DQTModel
import Testing

/// The in-memory feed keeps the contract the API keeps, and a fixed range reads exactly its changes.
struct MemoryChangeFeedTests {
    static func feed(_ kinds: [String]) throws -> MemoryChangeFeed {
        let feed = try MemoryChangeFeed()
        for (index, kind) in kinds.enumerated() { feed.append(kind: kind, trn: "10000\(10 + index)", operation: "test") }
        return feed
    }

    @Test func pagesFollowCursors() async throws {
        let feed = try Self.feed(["person.created", "alert.created", "person.updated", "employment.upserted", "person.updated"])
        let first = try await feed.changes(after: nil, limit: 2, kinds: [])
        #expect(first.changes.map(\.kind) == ["person.created", "alert.created"] && first.hasMore && first.nextCursor == first.changes[1].cursor)
        let rest = try await feed.changes(after: first.nextCursor, limit: 10, kinds: [])
        #expect(rest.changes.count == 3 && !rest.hasMore)
        let none = try await feed.changes(after: rest.nextCursor, limit: 10, kinds: [])
        #expect(none.changes.isEmpty && none.nextCursor == rest.nextCursor)
        #expect(try await feed.changes(after: nil, limit: 10, kinds: ["alert.created"]).changes.map(\.kind) == ["alert.created"])
        #expect(try await feed.changes(after: nil, limit: 5, kinds: []).hasMore == false)
        #expect(try await feed.changes(after: nil, limit: 1, kinds: []).nextCursor != "0.0")
        #expect(try await feed.changes(after: nil, limit: 1, kinds: ["route.updated"]).nextCursor == "0.0")
    }

    @Test func endCursorIsTheLastChangeOfTheKinds() async throws {
        let feed = try Self.feed(["person.created", "alert.created", "person.created", "employment.upserted"])
        let all = try await feed.changes(after: nil, limit: 10, kinds: [])
        let first = try await feed.changes(after: nil, limit: 1, kinds: ["person.created"])
        #expect(first.endCursor == all.changes[2].cursor && first.hasMore)
        #expect(try await feed.changes(after: nil, limit: 1, kinds: []).endCursor == all.changes[3].cursor)
        let done = try await feed.changes(after: all.changes[2].cursor, limit: 5, kinds: ["person.created"])
        #expect(done.changes.isEmpty && done.endCursor == all.changes[2].cursor && !done.hasMore)
    }

    @Test func refusesWhatTheAPIRefuses() async throws {
        let feed = try Self.feed(["person.created"])
        await #expect(throws: ChangeFeedError.invalidLimit(0)) { try await feed.changes(after: nil, limit: 0, kinds: []) }
        await #expect(throws: ChangeFeedError.invalidLimit(10_001)) { try await feed.changes(after: nil, limit: 10_001, kinds: []) }
        await #expect(throws: ChangeFeedError.unknownKind("person.deleted")) {
            try await feed.changes(after: nil, limit: 1, kinds: ["person.deleted"])
        }
        await #expect(throws: ChangeFeedError.invalidCursor("1-2")) { try await feed.changes(after: "1-2", limit: 1, kinds: []) }
    }

    @Test func cursorsOrderAsPairsOfNumbers() {
        #expect(ChangeCursor("9.100")! < ChangeCursor("10.1")!)
        #expect(ChangeCursor("10.2")! > ChangeCursor("10.1")!)
        #expect(ChangeCursor("010.2") == ChangeCursor("10.2"))
        for bad in ["", "1", "1.", ".1", "a.1", "1.2.3", "-1.2", "99999999999999999999999.1"] { #expect(ChangeCursor(bad) == nil, "\(bad)") }
    }

    /// A range reads up to and including `upTo` over as many pages as it takes, also when `upTo` is a change of a
    /// kind it does not ask for, and reads the same changes after more were added.
    @Test func aRangeIsFixedByItsCursors() async throws {
        let feed = try Self.feed(["person.created", "alert.created", "person.updated", "employment.upserted", "person.updated", "person.created"])
        let all = try await feed.changes(after: nil, limit: 100, kinds: []).changes
        func read(_ after: String?, _ upTo: String, _ kinds: [String], pageSize: Int) async throws -> [Change] {
            var changes: [Change] = []
            for try await change in feed.changes(after: after, upTo: upTo, kinds: kinds, pageSize: pageSize) { changes.append(change) }
            return changes
        }
        #expect(try await read(nil, all[4].cursor, [], pageSize: 2) == Array(all[0...4]))
        #expect(try await read(all[0].cursor, all[3].cursor, [], pageSize: 1) == Array(all[1...3]))
        let persons = ["person.created", "person.updated"]
        #expect(try await read(nil, all[3].cursor, persons, pageSize: 1) == [all[0], all[2]])
        #expect(try await read(all[3].cursor, all[3].cursor, [], pageSize: 5).isEmpty)
        feed.append(kind: "person.updated", trn: "1000099", operation: "test")
        #expect(try await read(nil, all[4].cursor, persons, pageSize: 3) == [all[0], all[2], all[4]])
    }
}
