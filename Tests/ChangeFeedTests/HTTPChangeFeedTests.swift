import AsyncHTTPClient
import ChangeFeed
import DQTAPI
import DQTAPITesting
import DQTModel
import DQTTesting
import Foundation
import LibPQ
import NIOCore
import NIOHTTP1
import Testing

/// ``HTTPChangeFeed`` against dqt-api served on loopback over a seeded throwaway database, with changes made
/// through the API's write endpoints.
@Suite(.enabled(if: TestServices.shouldRun(TestServices.databaseURL)))
struct HTTPChangeFeedTests {
    struct Keys: Sendable {
        var reader: String
        var writer: String
        var other: String
    }

    static func with(_ body: @Sendable (InProcessAPI, Keys) async throws -> Void) async throws {
        try await InProcessAPI.with(
            databasePrefix: "dqt_change_feed",
            keys: { connection in
                Keys(
                    reader: try APIKeys.create(connection, name: "feed-reader", roles: [.readChanges], expiresAt: nil).key,
                    writer: try APIKeys.create(connection, name: "feed-writer", roles: Role.allCases, expiresAt: nil, rateLimit: 1_000_000).key,
                    other: try APIKeys.create(connection, name: "feed-other", roles: [.getPerson], expiresAt: nil).key)
            }, body)
    }

    static func write(_ api: InProcessAPI, _ key: String, _ method: HTTPMethod, _ path: String, _ json: String) async throws -> Int {
        var request = HTTPClientRequest(url: api.baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(Data(json.utf8))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        return Int(response.status.code)
    }

    static func employment(_ start: String) -> (String, String) {
        let key = "1000040.201.4001.\(start.replacingOccurrences(of: "-", with: ""))"
        let body = """
            {"localAuthorityCode":"201","establishmentCode":"4001","establishmentPostcode":"CF10 1AA","establishmentEmailAddress":null,
             "memberPostcode":null,"memberEmailAddress":null,"startDate":"\(start)","endDate":null,"employmentType":"FT","withdrawn":false,
             "extractDate":"2025-01-31","nationalInsuranceNumber":"JA100037B","dateOfBirth":"1970-01-01","dateOfDeath":null,"gender":"Male"}
            """
        return ("/v3/persons/1000040/employments/\(key)", body)
    }

    /// A surname change, an alert and three workforce rows, once the feed gives them all.
    static func makeChanges(_ api: InProcessAPI, _ keys: Keys) async throws {
        #expect(try await write(api, keys.writer, .PATCH, "/v3/persons/1000044", #"{"lastName":"Newlast","previousLastName":"Sampleby"}"#) == 204)
        #expect(
            try await write(
                api, keys.writer, .POST, "/v3/alerts", #"{"trn":"1000044","alertTypeCode":"T1","startDate":"2025-01-02","sender":"EWC"}"#)
                == 201)
        for start in ["2024-09-01", "2024-10-01", "2024-11-01"] {
            let (path, body) = employment(start)
            #expect(try await write(api, keys.writer, .PUT, path, body) == 204)
        }
        // The feed holds changes back while any older transaction runs on the server (other tests share it).
        let feed = HTTPChangeFeed(baseURL: URL(string: api.baseURL)!, apiKey: keys.reader)
        let deadline = ContinuousClock.now + .seconds(120)
        while try await readAll(feed, limit: 100).count < 5 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
    }

    static func readAll(_ feed: some ChangeFeed, limit: Int, kinds: [String] = []) async throws -> [Change] {
        var all: [Change] = []
        var cursor: String?
        while true {
            let page = try await feed.changes(after: cursor, limit: limit, kinds: kinds)
            all += page.changes
            cursor = page.nextCursor
            if !page.hasMore { return all }
        }
    }

    @Test func readsTheAPIsChangesAsTheBridgeCarriesThem() async throws {
        try await Self.with { api, keys in
            try await Self.makeChanges(api, keys)
            let feed = HTTPChangeFeed(baseURL: URL(string: api.baseURL)!, apiKey: keys.reader)
            let all = try await Self.readAll(feed, limit: 2)
            #expect(all.map(\.kind) == ["person.updated", "alert.created", "employment.upserted", "employment.upserted", "employment.upserted"])
            let audited = try await api.pool.withConnection { connection in
                try connection.query("SELECT xid::text || '.' || id AS c FROM audit ORDER BY xid, id").rows.compactMap { $0["c"] }
            }
            #expect(all.map(\.cursor) == audited)
            let rename = all[0]
            #expect(rename.trn == "1000044" && rename.keyName == "feed-writer" && rename.operation == "patchPerson")
            #expect(rename.before?["lastName"] == "Sampleby" && rename.after?["lastName"] == "Newlast")
            #expect(rename.after?["previousLastName"] == "Sampleby" && rename.after?["dateOfBirth"] == "1988-09-21")
            // Nulls are left out; booleans are their JSON text.
            #expect(rename.after?.keys.contains("middleName") == false && rename.after?.keys.contains("dateOfDeath") == false)
            #expect(all[1].before == nil && all[1].after?["alertTypeCode"] == "T1" && all[1].after?["lastName"] == "Newlast")
            #expect(all[1].after?.keys.contains("details") == false)
            #expect(all[2].after?["withdrawn"] == "false" && all[2].after?["startDate"] == "2024-09-01")
            #expect(all.allSatisfy { $0.at.hasSuffix("Z") && $0.at.count == 24 })

            // A fixed range over HTTP, of one kind, across pages of one.
            var employments: [Change] = []
            for try await change in feed.changes(after: all[0].cursor, upTo: all[3].cursor, kinds: ["employment.upserted"], pageSize: 1) {
                employments.append(change)
            }
            #expect(employments == [all[2], all[3]])

            // The in-memory feed holding the same changes answers every call the same.
            let memory = try MemoryChangeFeed(all)
            let calls: [(String?, Int, [String])] = [
                (nil, 1, []), (nil, 10, []), (all[1].cursor, 2, []), (all[4].cursor, 3, []), (nil, 2, ["employment.upserted"]),
                (all[0].cursor, 1, ["person.updated", "alert.created"]), ("0.0", 10, ["route.updated"]),
            ]
            for (after, limit, kinds) in calls {
                let expected = try await feed.changes(after: after, limit: limit, kinds: kinds)
                #expect(
                    try await memory.changes(after: after, limit: limit, kinds: kinds) == expected, "\(String(describing: after)) \(limit) \(kinds)")
            }
        }
    }

    @Test func refusalsAreErrors() async throws {
        try await Self.with { api, keys in
            let url = URL(string: api.baseURL)!
            let withoutRole = HTTPChangeFeed(baseURL: url, apiKey: keys.other)
            do {
                _ = try await withoutRole.changes(after: nil, limit: 10, kinds: [])
                Issue.record("a key without ReadChanges read the feed")
            } catch let ChangeFeedError.refused(status, problem) {
                #expect(status == 403 && problem?.contains("10121") == true)
            }
            let feed = HTTPChangeFeed(baseURL: url, apiKey: keys.reader)
            await #expect(throws: ChangeFeedError.unknownKind("person.deleted")) {
                try await feed.changes(after: nil, limit: 10, kinds: ["person.deleted"])
            }
            for (after, limit) in [("not-a-cursor", 10), ("1.1", 0), ("1.1", 10_001)] {
                do {
                    _ = try await feed.changes(after: after, limit: limit, kinds: [])
                    Issue.record("\(after) \(limit) was read")
                } catch let ChangeFeedError.refused(status, problem) {
                    #expect(status == 400 && problem?.contains("10100") == true)
                }
            }
        }
    }
}
