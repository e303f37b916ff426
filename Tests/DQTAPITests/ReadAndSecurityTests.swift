import DQTAPI
import DQTTesting
import Foundation
import LibPQ
import NIOHTTP1
import Testing

/// Contract, security and read endpoints, over HTTP on loopback against a real PostgreSQL.
@Suite(.enabled(if: TestServices.shouldRun(TestServices.databaseURL)))
struct ReadAndSecurityTests {
    @Test func contractDocsHealthAndMetrics() async throws {
        try await Harness.with { h in
            let spec = try await h.call(.GET, "/openapi.json")
            #expect(spec.status == 200)
            let paths = try #require(try spec.json()["paths"] as? [String: Any])
            for path in [
                "/v3/persons/{trn}", "/v3/batches", "/v3/persons/{trn}/employments/{employmentKey}", "/v1/teachers/{trn}",
                "/api/qualified-teachers/qualified-teaching-status", "/v3/capita/persons/{trn}", "/v3/trn-requests",
            ] {
                #expect(paths[path] != nil, "\(path) in /openapi.json")
            }
            let docs = try await h.call(.GET, "/docs")
            #expect(docs.status == 200)
            #expect(docs.contentType?.hasPrefix("text/html") == true)
            #expect(docs.text.contains("runBatch") && !docs.text.contains("https://cdn"))
            #expect(try await h.call(.GET, "/health/live").status == 200)
            let ready = try await h.call(.GET, "/health/ready")
            #expect(ready.status == 200)
            #expect(try ready.json()["database"] as? String == "ok")
            _ = try await h.call(.GET, "/v3/persons/1000001", key: h.allKey)
            let metrics = try await h.call(.GET, "/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.text.contains("dqt_api_http_requests_total"))
        }
    }

    @Test func missingWrongExpiredRevokedKeysAre401AndWrongRoleIs403() async throws {
        try await Harness.with { h in
            let none = try await h.call(.GET, "/v3/persons/1000001")
            #expect(none.status == 401)
            #expect(none.errorCode == 10120)
            #expect(none.contentType == "application/problem+json")
            #expect(try await h.call(.GET, "/v3/persons/1000001", key: "dqt_not-a-key").status == 401)
            #expect(try await h.call(.GET, "/v3/persons/1000001", headers: [("Authorization", "Basic abc")]).status == 401)
            // Expired and revoked keys.
            let (expired, revoked) = try await h.sql { connection in
                let expired = try APIKeys.create(connection, name: "expired", roles: [.getPerson], expiresAt: Date().addingTimeInterval(1)).key
                let revoked = try APIKeys.create(connection, name: "revoked", roles: [.getPerson], expiresAt: nil).key
                return (expired, revoked)
            }
            #expect(try await h.call(.GET, "/v3/persons/1000001", key: revoked).status == 200)
            #expect(try await h.sql { try APIKeys.revoke($0, name: "revoked") })
            #expect(try await h.call(.GET, "/v3/persons/1000001", key: revoked).status == 401)
            try await Task.sleep(for: .milliseconds(1100))
            #expect(try await h.call(.GET, "/v3/persons/1000001", key: expired).status == 401)
            // Listing never shows keys.
            let listed = try await h.sql { try APIKeys.list($0) }
            #expect(listed.contains { $0.name == "revoked" && $0.revokedAt != nil })
            // Roles.
            let forbidden = try await h.call(.GET, "/v3/persons/1000001", key: h.key(.setWorkforceData))
            #expect(forbidden.status == 403)
            #expect(forbidden.errorCode == 10121)
            let write = try await h.call(.PUT, "/v3/persons/deceased/1000040", json: #"{"dateOfDeath":"2024-01-01"}"#, key: h.key(.getPerson))
            #expect(write.status == 403)
            // Employments list: SetWorkforceData or GetPerson.
            #expect(try await h.call(.GET, "/v3/persons/1000001/employments", key: h.key(.setWorkforceData)).status == 200)
            #expect(try await h.call(.GET, "/v3/persons/1000001/employments", key: h.key(.getPerson)).status == 200)
        }
    }

    @Test func correlationIDIsTakenOrMadeAndLogsHoldNoPersonalData() async throws {
        try await Harness.with { h in
            let given = try await h.call(.GET, "/v3/persons/1000001", key: h.allKey, headers: [("X-Correlation-Id", "abc-123")])
            #expect(given.headers.first(name: "X-Correlation-Id") == "abc-123")
            let made = try await h.call(.GET, "/v3/persons/1000001?nationalInsuranceNumber=JB100037B", key: h.allKey)
            #expect(made.status == 200)
            #expect((made.headers.first(name: "X-Correlation-Id") ?? "").count >= 32)
            _ = try await h.call(.GET, "/v1/teachers/1000001?birthdate=1967-02-04", key: h.allKey)
            _ = try await h.call(
                .PUT, "/v3/capita/persons/1000001",
                json: #"{"lastName":"Dummeril","firstName":"Ffugwen","dateOfBirth":"1967-02-04","nationalInsuranceNumber":"JB100037B"}"#,
                key: h.allKey)
            let logs = h.logs.all.joined(separator: "\n")
            #expect(logs.contains("abc-123"))
            for personal in ["JB100037B", "1967-02-04", "Ffugwen", "Dummeril"] {
                #expect(!logs.contains(personal), "no personal data in logs")
            }
        }
    }

    @Test func rateLimitIs429WithRetryAfter() async throws {
        try await Harness.with { h in
            let key = try await h.sql { try APIKeys.create($0, name: "limited", roles: [.getPerson], expiresAt: nil, rateLimit: 3).key }
            for _ in 0..<3 { #expect(try await h.call(.GET, "/v3/trns/1000001", key: key).status == 204) }
            let limited = try await h.call(.GET, "/v3/trns/1000001", key: key)
            #expect(limited.status == 429)
            #expect(limited.errorCode == 10122)
            #expect(Int(limited.headers.first(name: "Retry-After") ?? "") != nil)
            let problem = try limited.json()
            #expect(problem["title"] as? String == "API calls quota exceeded")
            #expect(problem["detail"] as? String == "A maximum of 3 calls per 60 seconds are permitted.")
        }
    }

    /// The limiter itself, on a clock the test drives: the window opens with the key's first call, so a burst can
    /// never straddle a reset; keys are counted apart; Retry-After counts down to the window's end.
    @Test func rateLimiterWindowsOpenWithTheKeysFirstCall() {
        let limiter = RateLimiter(windowSeconds: 60)
        let start = ContinuousClock.now
        for second in [0, 10, 20] { #expect(limiter.check(keyID: 1, limit: 3, now: start + .seconds(second)) == nil) }
        #expect(limiter.check(keyID: 1, limit: 3, now: start + .seconds(30)) == 30)
        #expect(limiter.check(keyID: 1, limit: 3, now: start + .milliseconds(59_500)) == 1)
        #expect(limiter.check(keyID: 2, limit: 3, now: start + .seconds(30)) == nil, "another key has its own window")
        #expect(limiter.check(keyID: 1, limit: 3, now: start + .seconds(60)) == nil, "a new window opens after 60 s")
        #expect(limiter.check(keyID: 1, limit: 3, now: start + .seconds(61)) == nil)
        #expect(limiter.check(keyID: 1, limit: 3, now: start + .seconds(62)) == nil)
        #expect(limiter.check(keyID: 1, limit: 3, now: start + .seconds(119)) == 1)
    }

    @Test func requestAndBatchSizeLimits() async throws {
        try await Harness.with(configure: {
            $0.maxBodyBytes = 2000
            $0.maxBatchOperations = 2
        }) { h in
            let big = "{\"operations\":[" + String(repeating: " ", count: 3000) + "]}"
            let tooLarge = try await h.call(.POST, "/v3/batches", json: big, key: h.allKey)
            #expect(tooLarge.status == 413)
            #expect(tooLarge.errorCode == 10123)
            let op = #"{"method":"PUT","path":"/v3/persons/deceased/1000040","body":{"dateOfDeath":"2024-01-01"}}"#
            let three = try await h.call(.POST, "/v3/batches", json: "{\"operations\":[\(op),\(op),\(op)]}", key: h.allKey)
            #expect(three.status == 413)
            #expect(three.errorCode == 10124)
        }
    }

    @Test func getPersonStatusesIncludesAndChecks() async throws {
        try await Harness.with { h in
            let basic = try await h.call(.GET, "/v3/persons/1000001", key: h.allKey)
            #expect(basic.status == 200)
            let person = try basic.json()
            #expect(person["trn"] as? String == "1000001")
            #expect(person["dateOfBirth"] as? String == "1967-02-04")
            #expect((person["qts"] as? [String: Any])?["holdsFrom"] as? String == "2006-07-02")
            #expect(person["induction"] == nil)
            #expect(person["qtlsStatus"] as? String == "None")
            let all = try await h.call(.GET, "/v3/persons/1000030?include=All", key: h.allKey).json()
            #expect((all["alerts"] as? [Any])?.count == 1)
            #expect((all["induction"] as? [String: Any])?["status"] as? String == "None")
            #expect((all["routesToProfessionalStatuses"] as? [Any])?.count == 1)
            #expect((all["previousNames"] as? [Any])?.isEmpty == true)
            let some = try await h.call(.GET, "/v3/persons/1000012?include=Induction,PreviousNames", key: h.allKey).json()
            #expect((some["previousNames"] as? [Any])?.count == 1)
            #expect(some["alerts"] == nil)
            let welsh = try await h.call(.GET, "/v3/persons/1000002", key: h.allKey).json()
            #expect(welsh["firstName"] as? String == "Siâneg")
            #expect(welsh["lastName"] as? String == "Llŷnffug")

            #expect(try await h.call(.GET, "/v3/persons/1999999", key: h.allKey).errorCode == 10001)
            let gone = try await h.call(.GET, "/v3/persons/1000059", key: h.allKey)
            #expect(gone.status == 410)
            #expect(gone.errorCode == 10058)
            let merged = try await h.call(.GET, "/v3/persons/1000060", key: h.allKey)
            #expect(merged.status == 308)
            #expect(merged.errorCode == 10059)
            #expect(merged.headers.first(name: "Location") == "/v3/persons/1000001")
            #expect(try await h.call(.GET, "/v3/persons/12345", key: h.allKey).status == 400)
            #expect(try await h.call(.GET, "/v3/persons/1000001?include=Nonsense", key: h.allKey).status == 400)

            #expect(try await h.call(.GET, "/v3/persons/1000001?dateOfBirth=1967-02-04", key: h.allKey).status == 200)
            #expect(try await h.call(.GET, "/v3/persons/1000001?dateOfBirth=1967-02-05", key: h.allKey).status == 404)
            #expect(try await h.call(.GET, "/v3/persons/1000001?nationalInsuranceNumber=JB%20100037%20B", key: h.allKey).status == 200)
            #expect(try await h.call(.GET, "/v3/persons/1000001?nationalInsuranceNumber=JC100074C", key: h.allKey).status == 404)
            #expect(
                try await h.call(.GET, "/v3/persons/1000001?dateOfBirth=1967-02-04&nationalInsuranceNumber=JB100037B", key: h.allKey).status == 400)
            // A workforce NI number also matches.
            let key = employmentKey(trn: "1000001")
            #expect(
                try await h.call(
                    .PUT, "/v3/persons/1000001/employments/\(key)", json: employmentBody(trn: "1000001", nino: "JC100074C"), key: h.allKey
                ).status == 204)
            #expect(try await h.call(.GET, "/v3/persons/1000001?nationalInsuranceNumber=JC100074C", key: h.allKey).status == 200)
        }
    }

    @Test func trnsFindAndLists() async throws {
        try await Harness.with { h in
            #expect(try await h.call(.GET, "/v3/trns/1000001", key: h.allKey).status == 204)
            #expect(try await h.call(.GET, "/v3/trns/1999999", key: h.allKey).status == 404)
            #expect(try await h.call(.GET, "/v3/trns/1000059", key: h.allKey).status == 410)
            let merged = try await h.call(.GET, "/v3/trns/1000060", key: h.allKey)
            #expect(merged.status == 308)
            #expect(merged.headers.first(name: "Location") == "/v3/trns/1000001")

            let find = try await h.call(
                .POST, "/v3/persons/find",
                json: """
                    {"persons":[{"trn":"1000001","dateOfBirth":"1967-02-04"},{"trn":"1000002","dateOfBirth":"2000-01-01"},
                                {"trn":"1000059","dateOfBirth":"1960-01-01"},{"trn":"1999999","dateOfBirth":"1960-01-01"}]}
                    """, key: h.allKey
            ).json()
            #expect(find["total"] as? Int == 1)
            #expect(((find["results"] as? [[String: Any]])?.first)?["trn"] as? String == "1000001")
            #expect(try await h.call(.POST, "/v3/persons/find", json: #"{"persons":[{"trn":"x","dateOfBirth":"1"}]}"#, key: h.allKey).status == 400)

            let alerts = try await h.call(.GET, "/v3/persons/1000031/alerts", key: h.allKey).json()
            let alert = try #require((alerts["alerts"] as? [[String: Any]])?.first)
            #expect(alert["endDate"] as? String == "2021-01-01")
            #expect(((alert["alertType"] as? [String: Any])?["alertCategory"] as? [String: Any])?["name"] as? String == "Teaching prohibition")
            #expect(try await h.call(.GET, "/v3/persons/1000059/alerts", key: h.allKey).status == 410)
        }
    }

    @Test func claimQualifiedTeachingStatus() async throws {
        try await Harness.with { h in
            let found = try await h.call(.GET, "/api/qualified-teachers/qualified-teaching-status?trn=1000030&ni=", key: h.allKey)
            #expect(found.status == 200)
            let record = try #require((try found.json()["data"] as? [[String: Any]])?.first)
            #expect(record["trn"] as? String == "1000030")
            #expect(record["doB"] as? String == "1960-07-07")
            #expect(record["niNumber"] as? String == "JA101110C")
            #expect(record["qtsAwardDate"] as? String == "2017-07-11")
            #expect(record["activeAlert"] as? Bool == true)
            #expect(record["ittSubject1Code"] as? String == "100425")
            #expect(record["qualificationName"] as? String == "BEd")
            #expect(
                try await h.call(.GET, "/api/qualified-teachers/qualified-teaching-status?trn=1000031", key: h.allKey).json()["data"].flatMap {
                    ($0 as? [[String: Any]])?.first?["activeAlert"] as? Bool
                } == false)
            // Leading zeros: a TRN 0001234 is found as 1234.
            #expect(
                try await h.call(
                    .PUT, "/v3/capita/persons/0001234", json: #"{"lastName":"Zeroton","firstName":"Leading","dateOfBirth":"1980-01-01"}"#,
                    key: h.allKey
                ).status == 201)
            let short = try await h.call(.GET, "/api/qualified-teachers/qualified-teaching-status?trn=1234", key: h.allKey)
            #expect(short.status == 200)
            #expect(((try short.json()["data"] as? [[String: Any]])?.first)?["trn"] as? String == "0001234")
            // Else by NI number.
            let byNI = try await h.call(.GET, "/api/qualified-teachers/qualified-teaching-status?trn=7777777&ni=JA101110C", key: h.allKey)
            #expect(((try byNI.json()["data"] as? [[String: Any]])?.first)?["trn"] as? String == "1000030")
            let none = try await h.call(.GET, "/api/qualified-teachers/qualified-teaching-status?trn=7777777", key: h.allKey)
            #expect(none.status == 404)
            #expect(try none.json()["message"] as? String == "No records found.")
            #expect(try await h.call(.GET, "/api/qualified-teachers/qualified-teaching-status?ni=JA101110C", key: h.allKey).status == 400)
        }
    }

    @Test func cpdV1TeacherIsSnakeCaseWithLegacyInductionText() async throws {
        try await Harness.with { h in
            let reply = try await h.call(.GET, "/v1/teachers/1000016?birthdate=1967-05-21", key: h.allKey)
            #expect(reply.status == 200)
            let teacher = try reply.json()
            #expect(teacher["ni_number"] as? String == "JB100592A")
            #expect(teacher["state_name"] as? String == "Active")
            #expect(teacher["active_alert"] as? Bool == false)
            #expect((teacher["induction"] as? [String: Any])?["status"] as? String == "Pass")
            #expect((teacher["qualified_teacher_status"] as? [String: Any])?["qts_date"] as? String == "2021-07-17")
            #expect((teacher["initial_teacher_training"] as? [String: Any])?["subject1_code"] as? String == "100425")
            #expect(
                try await h.call(.GET, "/v1/teachers/1000012", key: h.allKey).json()["induction"].flatMap {
                    ($0 as? [String: Any])?["status"] as? String
                } == "In Progress")
            #expect(try await h.call(.GET, "/v1/teachers/1000016?birthdate=1967-05-22", key: h.allKey).status == 404)
            // Birthdate with a wrong TRN but the right NI number.
            #expect(try await h.call(.GET, "/v1/teachers/1999999?birthdate=1967-05-21&nino=JB100592A", key: h.allKey).status == 200)
            #expect(try await h.call(.GET, "/v1/teachers/1000059", key: h.allKey).status == 404)
        }
    }
}
