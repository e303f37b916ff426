import DQTAPI
import DQTTesting
import Foundation
import LibPQ
import NIOHTTP1
import Testing

/// Writes that race: the same new record created twice at once, and a retry that overlaps the original request
/// (a client that timed out and sent again while the first is still being applied). The answer is never a 5xx and
/// the record is applied once.
@Suite("security: concurrent writes to one record", .enabled(if: TestServices.shouldRun(TestServices.databaseURL)), .timeLimit(.minutes(10)))
struct ConcurrencyTests {
    static let parallel = 8

    /// Sends the same request `parallel` times at once; returns the statuses.
    static func race(_ h: APIHarness, _ method: HTTPMethod, _ path: String, body: String, headers: [(String, String)] = []) async throws -> [Int] {
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<parallel {
                group.addTask { try await h.call(method, path, body: body, key: h.allKey, headers: headers).status }
            }
            return try await group.reduce(into: []) { $0.append($1) }.sorted()
        }
    }

    @Test("the same new person imported by Capita twice at once: one 201, the others 200, never 500")
    func concurrentCapitaCreate() async throws {
        try await APIHarness.with { h in
            var statuses: [Int] = []
            for round in 0..<5 {
                let trn = String(2_000_100 + round)
                statuses += try await Self.race(
                    h, .PUT, "/v3/capita/persons/\(trn)", body: #"{"lastName":"Racer","firstName":"Twin","dateOfBirth":"1990-01-01"}"#)
            }
            let persons = try await h.count("SELECT count(*) FROM persons WHERE trn BETWEEN '2000100' AND '2000104'")
            #expect(!statuses.contains { $0 >= 500 }, "\(statuses)")
            #expect(statuses.filter { $0 == 201 }.count == 5 && statuses.allSatisfy { $0 == 200 || $0 == 201 }, "\(statuses)")
            #expect(persons == 5)
            record(
                "Capita import of one new person sent \(Self.parallel)x at once (5 rounds)", runs: statuses.count, expected: 5,
                applied: persons, refused: statuses.filter { $0 >= 400 }.count,
                reasons: SuiteTable.reasons(Dictionary(statuses.map { ("\($0)", 1) }, uniquingKeysWith: +)),
                ok: !statuses.contains { $0 >= 500 } && persons == 5)
        }
    }

    @Test("the same TRN request (requestId) twice at once: one 200, the others 409, never 500")
    func concurrentTrnRequests() async throws {
        try await APIHarness.with { h in
            var statuses: [Int] = []
            for round in 0..<5 {
                let body =
                    #"{"requestId":"race-\#(round)","person":{"firstName":"Race\#(round)","lastName":"Condition","dateOfBirth":"1991-0\#(round + 1)-01","emailAddresses":[],"gender":"Female"},"identityVerified":true}"#
                statuses += try await Self.race(h, .POST, "/v3/trn-requests", body: body)
            }
            let requests = try await h.count("SELECT count(*) FROM trn_requests WHERE request_id LIKE 'race-%'")
            #expect(!statuses.contains { $0 >= 500 }, "\(statuses)")
            #expect(statuses.filter { $0 == 200 }.count == 5 && statuses.allSatisfy { $0 == 200 || $0 == 409 }, "\(statuses)")
            #expect(requests == 5)
            record(
                "TRN request with one requestId sent \(Self.parallel)x at once (5 rounds)", runs: statuses.count, expected: 5,
                applied: requests, refused: statuses.filter { $0 >= 400 }.count,
                reasons: SuiteTable.reasons(Dictionary(statuses.map { ("\($0)", 1) }, uniquingKeysWith: +)),
                ok: !statuses.contains { $0 >= 500 } && requests == 5)
        }
    }

    @Test("a write and its retries with the same Idempotency-Key at once: applied once, never 500")
    func overlappingRetries() async throws {
        try await APIHarness.with { h in
            var statuses: [Int] = []
            let writes: [(HTTPMethod, String, String)] = [
                (.PUT, "/v3/persons/1000040/employments/\(Endpoint.employmentKey)", Endpoint.employmentBody()),
                (
                    .POST, "/v3/alerts",
                    #"{"trn":"1000041","alertTypeCode":"T2","details":"overlap","startDate":"2025-01-02","endDate":null,"sender":"GTCS"}"#
                ),
                (.PUT, "/v3/capita/persons/2000200", #"{"lastName":"Overlap","firstName":"Retry","dateOfBirth":"1990-01-01"}"#),
                (.PUT, "/v3/persons/deceased/1000043", #"{"dateOfDeath":"2024-02-02"}"#),
            ]
            var perKey: [Int] = []
            var byWrite: [String] = []
            for (index, write) in writes.enumerated() {
                let key = "race-key-\(index)"
                let these = try await Self.race(h, write.0, write.1, body: write.2, headers: [("Idempotency-Key", key)])
                statuses += these
                perKey.append(try await h.count("SELECT count(*) FROM audit WHERE idempotency_key = $1", [.text(key)]))
                byWrite.append("\(write.0) \(write.1): \(these), \(perKey.last!) audit rows")
            }
            let alerts = try await h.count("SELECT count(*) FROM alerts WHERE details = 'overlap'")
            #expect(!statuses.contains { $0 >= 500 }, "\(byWrite)")
            #expect(perKey == [1, 1, 1, 1] && alerts == 1, "audit rows per key \(perKey), alerts \(alerts)")
            let duplicated = perKey.reduce(0) { $0 + max(0, $1 - 1) } + max(0, alerts - 1)
            record(
                "one write and \(Self.parallel - 1) overlapping retries with its Idempotency-Key (4 endpoints)", runs: statuses.count,
                expected: writes.count, applied: perKey.filter { $0 >= 1 }.count, lost: perKey.filter { $0 == 0 }.count, duplicated: duplicated,
                refused: statuses.filter { $0 >= 400 }.count,
                reasons: SuiteTable.reasons(Dictionary(statuses.map { ("\($0)", 1) }, uniquingKeysWith: +)),
                ok: !statuses.contains { $0 >= 500 } && duplicated == 0)
        }
    }

    /// PostgreSQL text cannot hold NUL: a value with one must be refused as invalid (400), not fail in the store.
    @Test(
        "a NUL character in any text field is a 400 problem, not a 500",
        arguments: [
            ("setRouteToProfessionalStatus", "degreeTypeId"), ("setRouteToProfessionalStatus", "trainingCountryReference"),
            ("setRouteToProfessionalStatus", "trainingSubjectReferences"), ("upsertEmployment", "establishmentPostcode"),
            ("upsertEmployment", "establishmentEmailAddress"), ("upsertEmployment", "memberPostcode"), ("upsertEmployment", "memberEmailAddress"),
        ])
    func nulInTextFields(_ operation: String, _ field: String) async throws {
        try await APIHarness.with { h in
            let endpoint = Endpoint.named(operation)
            var body = try #require(try JSONSerialization.jsonObject(with: Data(endpoint.body!.utf8)) as? [String: Any])
            body[field] = field == "trainingSubjectReferences" ? ["100425\u{0}"] : "x\u{0}y"
            let text = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
            let reply = try await h.call(endpoint.method, endpoint.path(), body: text, key: h.allKey)
            #expect(reply.status == 400 && reply.isProblem, "\(operation).\(field) with NUL: \(reply)")
        }
    }
}
