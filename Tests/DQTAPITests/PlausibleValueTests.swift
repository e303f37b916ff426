import DQTAPI
import DQTTesting
import Foundation
import NIOHTTP1
import Testing

/// Implausible values are refused with 400 naming the field (never the value) and change nothing; plausible ones
/// are stored in NFC. Over HTTP against a real PostgreSQL; each scenario is a row of the hostile-input table.
@Suite(.enabled(if: TestServices.shouldRun(TestServices.databaseURL)))
struct PlausibleValueTests {
    /// A PATCH body and the field its value breaks.
    static let implausible: [(json: String, field: String, rule: String)] = [
        (#"{"dateOfBirth":"0001-01-01"}"#, "dateOfBirth", "between 1900-01-01 and 2099-12-31"),
        (#"{"dateOfBirth":"1899-12-31"}"#, "dateOfBirth", "between 1900-01-01 and 2099-12-31"),
        (#"{"dateOfBirth":"2098-01-01"}"#, "dateOfBirth", "cannot be in the future"),
        (#"{"firstName":"Fic\u0008tiona"}"#, "firstName", "control characters"),
        (#"{"firstName":"Fic\u0085tiona"}"#, "firstName", "control characters"),
        (#"{"firstName":"Fic\u007Ftiona"}"#, "firstName", "control characters"),
        (#"{"firstName":"Fictiona\t"}"#, "firstName", "control characters"),
        (#"{"firstName":"Fic\u202Etiona"}"#, "firstName", "bidirectional"),
        (#"{"lastName":"Sample\u2066by\u2069"}"#, "lastName", "bidirectional"),
        (#"{"middleName":"\u202Aoverride"}"#, "middleName", "bidirectional"),
        (#"{"previousLastName":"Old\u0000name"}"#, "previousLastName", "control characters"),
    ]

    @Test func implausiblePersonValuesAreRefusedNamingTheField() async throws {
        try await Harness.with { h in
            let key = h.key(.updatePerson)
            let before = try await h.call(.GET, "/v3/persons/1000044?include=PreviousNames", key: h.allKey).text
            var refused: [String: Int] = [:]
            var wrong: [String] = []
            for (json, field, rule) in Self.implausible {
                let reply = try await h.call(.PATCH, "/v3/persons/1000044", json: json, key: key)
                let messages = (try? reply.json()["errors"] as? [String: [String]])?[field] ?? []
                let named =
                    reply.status == 400 && reply.contentType?.hasPrefix("application/problem+json") == true
                    && messages.contains { $0.contains(rule) }
                if named { refused[field, default: 0] += 1 } else { wrong.append("\(json) -> \(reply.status) \(reply.text)") }
            }
            #expect(wrong.isEmpty, "\(wrong)")
            let after = try await h.call(.GET, "/v3/persons/1000044?include=PreviousNames", key: h.allKey).text
            #expect(after == before)
            SuiteTable.append(
                SuiteRow(
                    suite: "hostile", scenario: "PATCH /v3/persons: implausible dates and names (control, bidi)", runs: 1,
                    expected: 0, applied: after == before ? 0 : 1, refused: refused.values.reduce(0, +),
                    reasons: "400 " + SuiteTable.reasons(refused), ok: wrong.isEmpty && after == before))
        }
    }

    @Test func plausibleValuesAreStoredInNFC() async throws {
        try await Harness.with { h in
            let key = h.key(.updatePerson)
            // "Zoe" + COMBINING ACUTE ACCENT is stored as "Zoé" (U+00E9).
            let patch = try await h.call(
                .PATCH, "/v3/persons/1000044", json: #"{"firstName":" Zoe\u0301 ","dateOfBirth":"1900-01-01"}"#, key: key)
            #expect(patch.status == 204)
            let person = try await h.call(.GET, "/v3/persons/1000044", key: h.allKey).json()
            let first = try #require(person["firstName"] as? String)
            #expect(Array(first.unicodeScalars) == Array("Zo\u{E9}".unicodeScalars))
            #expect(person["dateOfBirth"] as? String == "1900-01-01")
            // 100 code points are allowed, 101 are not, however few characters they draw.
            let hundred = String(repeating: "e\u{301}", count: 50)
            #expect(try await h.call(.PATCH, "/v3/persons/1000044", json: #"{"lastName":"\#(hundred)"}"#, key: key).status == 204)
            let long = try await h.call(.PATCH, "/v3/persons/1000044", json: #"{"lastName":"\#(hundred)e"}"#, key: key)
            #expect(long.status == 400)
            #expect((try long.json()["errors"] as? [String: [String]])?["lastName"] != nil)
        }
    }

    @Test func alertDetailsKeepLineBreaksButNotOtherControls() async throws {
        try await Harness.with { h in
            let key = h.key(.updateRole)
            let multiLine = #"{"trn":"1000044","alertTypeCode":"T1","startDate":"2025-01-01","details":"line one\r\nline\ttwo"}"#
            #expect(try await h.call(.POST, "/v3/alerts", json: multiLine, key: key).status == 201)
            for (details, rule) in [(#"bell\u0007"#, "control characters"), (#"\u202Eright to left"#, "bidirectional")] {
                let json = #"{"trn":"1000044","alertTypeCode":"T1","startDate":"2025-01-01","details":"\#(details)"}"#
                let reply = try await h.call(.POST, "/v3/alerts", json: json, key: key)
                #expect(reply.status == 400)
                #expect((try reply.json()["errors"] as? [String: [String]])?["details"]?.first?.contains(rule) == true)
            }
            let early = #"{"trn":"1000044","alertTypeCode":"T1","startDate":"1899-12-31"}"#
            #expect(try await h.call(.POST, "/v3/alerts", json: early, key: key).status == 400)
        }
    }
}
