import DQTTesting
import Foundation
import LibPQ
import NIOHTTP1
import Testing

@testable import DQTAPI

/// `GET /v3/changes` against a real dqt-api and PostgreSQL: paging and cursors, documents, the kinds filter, the
/// role, refused parameters, and the audit rows written before the feed existed.
@Suite(.enabled(if: TestServices.shouldRun(TestServices.databaseURL)))
struct ChangeFeedTests {
    /// Six changes through the real write path (a surname change with its previous surname, an alert, a later
    /// surname change, three workforce rows), once the feed gives them all.
    static func makeChanges(_ h: Harness) async throws {
        let writes: [(String, String)] = [
            ("/v3/persons/1000044", #"{"lastName":"Newlast","previousLastName":"Sampleby"}"#),
            (
                "/v3/alerts",
                #"{"trn":"1000044","alertTypeCode":"T3","details":"Deregistered","startDate":"2025-01-02","endDate":null,"sender":"GTCS"}"#
            ),
            ("/v3/persons/1000044", #"{"lastName":"Laterlast"}"#),
        ]
        for (path, body) in writes {
            let reply = try await h.call(path == "/v3/alerts" ? .POST : .PATCH, path, json: body, key: h.allKey)
            #expect(reply.status == 201 || reply.status == 204, "\(path): \(reply.text)")
        }
        for start in ["2024-09-01", "2024-10-01", "2024-11-01"] {
            let reply = try await h.call(
                .PUT, "/v3/persons/1000040/employments/\(employmentKey(trn: "1000040", start: start))",
                json: employmentBody(trn: "1000040", start: start), key: h.allKey)
            #expect(reply.status == 204, "\(reply.text)")
        }
        try await h.waitUntilSettled()
    }

    @Test func pagesFollowCursorsInOrder() async throws {
        try await Harness.with { h in
            try await Self.makeChanges(h)
            let whole = try await h.changes(limit: 1000)
            #expect(whole.cursors == (try await h.auditCursors()))
            #expect(whole.cursors.count == 6 && isAscending(whole.cursors))
            #expect(whole.nextCursor == whole.cursors.last && !whole.hasMore)
            // Pages of 4 then 2: the same changes; hasMore until the last.
            let first = try await h.changes(limit: 4)
            #expect(first.cursors == Array(whole.cursors.prefix(4)) && first.hasMore && first.nextCursor == whole.cursors[3])
            let second = try await h.changes(after: first.nextCursor, limit: 4)
            #expect(second.cursors == Array(whole.cursors.suffix(2)) && !second.hasMore)
            // A full page ends where the changes end: hasMore is false only when nothing is left.
            #expect(try await h.changes(after: whole.cursors[1], limit: 4).hasMore == false)
            // Past the end: nothing, and the cursor stays as given (never moves back, never forward over nothing).
            let empty = try await h.changes(after: second.nextCursor)
            #expect(empty.changes.isEmpty && empty.nextCursor == second.nextCursor && !empty.hasMore)
            let beyond = try await h.changes(after: "0099999999.1")
            #expect(beyond.changes.isEmpty && beyond.nextCursor == "0099999999.1")
            // The same call gives the same bytes.
            let path = "/v3/changes?after=\(whole.cursors[0])&limit=3"
            let once = try await h.call(.GET, path, key: h.key(.readChanges))
            #expect(once.text == (try await h.call(.GET, path, key: h.key(.readChanges))).text)
            #expect(once.contentType == "application/json; charset=utf-8")
        }
    }

    @Test func documentsAreCamelCaseAtTheTimeOfTheChange() async throws {
        try await Harness.with { h in
            try await Self.makeChanges(h)
            let changes = try await h.allChanges()
            #expect(
                changes.map { $0["kind"] as? String } == ["person.updated", "alert.created", "person.updated"]
                    + Array(repeating: "employment.upserted", count: 3))
            #expect(changes.map { $0["operation"] as? String }.prefix(3) == ["patchPerson", "createAlert", "patchPerson"])
            #expect(changes.allSatisfy { $0["keyName"] as? String == "test-all" })
            #expect(changes.allSatisfy { ($0["at"] as? String)?.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil })
            let rename = changes[0]
            let before = try #require(rename["before"] as? [String: Any])
            let after = try #require(rename["after"] as? [String: Any])
            #expect(rename["trn"] as? String == "1000044")
            #expect(before["lastName"] as? String == "Sampleby" && after["lastName"] as? String == "Newlast")
            #expect(after["previousLastName"] as? String == "Sampleby")
            #expect(before["previousLastName"] as? String != "Sampleby")
            #expect(after["dateOfBirth"] as? String == "1988-09-21" && after["firstName"] as? String == "Fictiona")
            #expect(after["first_name"] == nil && after["gender"] as? String == "Female")
            // The alert carries the person as they were when it was made, not as they are now (Laterlast).
            let alert = changes[1]
            #expect(alert["before"] is NSNull)
            let document = try #require(alert["after"] as? [String: Any])
            #expect(document["lastName"] as? String == "Newlast" && document["firstName"] as? String == "Fictiona")
            #expect(document["dateOfBirth"] as? String == "1988-09-21" && document["alertTypeCode"] as? String == "T3")
            #expect(document["startDate"] as? String == "2025-01-02" && document["sender"] as? String == "GTCS")
            let employment = try #require(changes[3]["after"] as? [String: Any])
            #expect(employment["employmentKey"] as? String == employmentKey(trn: "1000040", start: "2024-09-01"))
            #expect(employment["withdrawn"] as? Bool == false && employment["localAuthorityCode"] as? String == "201")
        }
    }

    @Test func kindsAreFilteredInTheQuery() async throws {
        try await Harness.with { h in
            try await Self.makeChanges(h)
            let all = try await h.allChanges()
            let alerts = try await h.changes(kinds: "alert.created")
            #expect(alerts.cursors == [all[1]["cursor"] as? String ?? ""] && !alerts.hasMore)
            let persons = try await h.allChanges(limit: 1, kinds: "person.updated,alert.created,person.updated")
            #expect(persons.map { $0["cursor"] as? String ?? "" } == all.prefix(3).map { $0["cursor"] as? String ?? "" })
            // A page of one kind stops at the limit even though changes of other kinds follow.
            let page = try await h.changes(limit: 1, kinds: "employment.upserted")
            #expect(page.cursors == [all[3]["cursor"] as? String ?? ""] && page.hasMore)
            let none = try await h.changes(after: page.nextCursor, kinds: "route.updated,qtls.updated")
            #expect(none.changes.isEmpty && none.nextCursor == page.nextCursor)
        }
    }

    /// `endCursor` fixes a range's end without reading it: the last change of the kinds asked for, whatever the page.
    @Test func endCursorIsTheLastChangeReady() async throws {
        try await Harness.with { h in
            try await Self.makeChanges(h)
            let all = try await h.allChanges().map { $0["cursor"] as? String ?? "" }
            let first = try await h.changes(limit: 1)
            #expect(first.cursors == [all[0]] && first.endCursor == all.last && first.hasMore)
            let last = try await h.changes(after: all[all.count - 2], limit: 1)
            #expect(last.endCursor == all.last && last.endCursor == last.nextCursor && !last.hasMore)
            let employments = try await h.allChanges(kinds: "employment.upserted").map { $0["cursor"] as? String ?? "" }
            #expect(employments.count >= 2)
            let employment = try await h.changes(limit: 1, kinds: "employment.upserted")
            #expect(employment.endCursor == employments.last && employment.hasMore)
            // Nothing after the cursor: the end is the cursor as given, as nextCursor is.
            let none = try await h.changes(after: all.last, kinds: "person.updated")
            #expect(none.changes.isEmpty && none.endCursor == all.last && none.nextCursor == all.last)
            #expect(try await h.changes(kinds: "route.updated").endCursor == "0.0")
        }
    }

    @Test func withoutReadChangesIs403() async throws {
        try await Harness.with { h in
            for role in Role.allCases where role != .readChanges {
                let reply = try await h.call(.GET, "/v3/changes", key: h.key(role))
                #expect(reply.status == 403 && reply.errorCode == 10121 && reply.contentType == "application/problem+json", "\(role)")
            }
            #expect(try await h.call(.GET, "/v3/changes").status == 401)
            #expect(try await h.call(.GET, "/v3/changes", key: h.key(.readChanges)).status == 200)
        }
    }

    @Test func badCursorLimitOrKindIs400Problem() async throws {
        try await Harness.with { h in
            let refused: [(String, String)] = [
                ("after=abc", "after"), ("after=1.2.3", "after"), ("after=12.", "after"), ("after=.12", "after"),
                ("after=12345678901234567890.1", "after"), ("after=1.1234567890123456789", "after"), ("after=-1.2", "after"),
                ("limit=0", "limit"), ("limit=10001", "limit"), ("limit=-5", "limit"), ("limit=ten", "limit"), ("limit=", "limit"),
                ("kinds=", "kinds"), ("kinds=person.deleted", "kinds"), ("kinds=person.created,,alert.created", "kinds"),
            ]
            for (query, field) in refused {
                let reply = try await h.call(.GET, "/v3/changes?\(query)", key: h.key(.readChanges))
                #expect(reply.status == 400 && reply.errorCode == 10100 && reply.contentType == "application/problem+json", "\(query)")
                #expect(((try? reply.json())?["errors"] as? [String: Any])?[field] != nil, "\(query): \(reply.text)")
            }
            for query in ["after=1234567890123456789.123456789012345678", "limit=1", "limit=10000", "kinds=trnRequest.created", "after=0.0"] {
                #expect(try await h.call(.GET, "/v3/changes?\(query)", key: h.key(.readChanges)).status == 200, "\(query)")
            }
        }
    }

    /// Every write endpoint (and the retention policy) has a kind, every kind the SQL writes is one of the contract's, and the contract's enum
    /// is ``ChangeKind``.
    @Test func everyWriteHasAKindOfTheContract() throws {
        #expect(
            Set(ChangeFeedQuery.kindByOperation.map(\.operation))
                == Set(WriteRegistry.operations.map { $0.operationID } + [ContactRetention.operationID]))
        let written = Set(
            ChangeFeedQuery.kindByOperation.flatMap { entry in entry.kind.matches(of: /'([a-zA-Z]+\.[a-z]+)'/).map { String($0.output.1) } })
        #expect(written.isSubset(of: Set(ChangeKind.allCases.map(\.rawValue))))
        let spec = try #require(try JSONSerialization.jsonObject(with: OpenAPIDocument.json()) as? [String: Any])
        let schemas = (spec["components"] as? [String: Any])?["schemas"] as? [String: Any]
        let kinds = (schemas?["ChangeKind"] as? [String: Any])?["enum"] as? [String]
        #expect(kinds == ChangeKind.allCases.map(\.rawValue))
    }

    /// The audit rows written before migration 7 take its transaction's id: they come first, in id order.
    @Test func rowsFromBeforeTheFeedComeFirst() async throws {
        try await TemporaryDatabase.with(prefix: "dqt_api_feed_migration") { database in
            let connection = try PGConnection(database.url)
            let before = MigrationRunner(migrations: Migrations.all.filter { $0.version < 7 }, lockKey: 1)
            try before.migrate(connection)
            let insert = "INSERT INTO audit (key_name, operation, method, path, trn) VALUES ('old', 'setDeceased', 'PUT', '/x', '1000001')"
            for _ in 0..<3 { try connection.execute(insert) }
            let node = try connection.query("SELECT pg_relation_filenode('audit') AS node").string(0, "node")
            #expect(try Migrations.migrate(connection) == Migrations.all.map(\.version).filter { $0 >= 7 })
            // Cheap: the table was not rewritten.
            #expect(try connection.query("SELECT pg_relation_filenode('audit') AS node").string(0, "node") == node)
            try connection.execute(insert.replacingOccurrences(of: "'old'", with: "'new'"))
            let rows = try connection.query("SELECT key_name, xid::text AS xid, id FROM audit ORDER BY xid, id").rows
            #expect(rows.map { $0["key_name"] } == ["old", "old", "old", "new"])
            #expect(Set(rows.prefix(3).map { $0["xid"] }).count == 1 && rows.prefix(3).map { $0.int("id") } == [1, 2, 3])
        }
    }
}
