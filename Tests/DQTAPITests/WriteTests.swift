import DQTAPI
import DQTAPIClient
import DQTTesting
import Foundation
import LibPQ
import NIOHTTP1
import OpenAPIRuntime
import Testing

/// Write endpoints, idempotency, batches and the audit, over HTTP on loopback against a real PostgreSQL.
@Suite(.enabled(if: TestServices.shouldRun(TestServices.databaseURL)))
struct WriteTests {
    @Test func capitaImportCreatesFillsWarnsAndRefusesDeactivated() async throws {
        try await Harness.with { h in
            let key = h.key(.capitaImport)
            let created = try await h.call(
                .PUT, "/v3/capita/persons/2000001",
                json: """
                    {"gender":"Female","lastName":"Newperson","firstName":"Testyn","middleName":"Ail Enw","previousLastName":"Oldname",
                     "dateOfBirth":"1985-06-07","nationalInsuranceNumber":"JA 12 34 56 C","dateOfDeath":null}
                    """, key: key)
            #expect(created.status == 201)
            #expect(try created.json()["created"] as? Bool == true)
            #expect(try created.json()["potentialDuplicate"] as? Bool == false)
            let person = try await h.call(.GET, "/v3/persons/2000001?include=PreviousNames", key: h.allKey).json()
            #expect(person["nationalInsuranceNumber"] as? String == "JA123456C")
            #expect(person["middleName"] as? String == "Ail Enw")
            #expect((person["previousNames"] as? [[String: Any]])?.first?["lastName"] as? String == "Oldname")
            // Same names and date of birth under another TRN: created, flagged.
            let duplicate = try await h.call(
                .PUT, "/v3/capita/persons/2000002", json: #"{"lastName":"Newperson","firstName":"Testyn","dateOfBirth":"1985-06-07"}"#, key: key)
            #expect(duplicate.status == 201)
            #expect(try duplicate.json()["potentialDuplicate"] as? Bool == true)
            // Known person: fills the missing NI number, never overwrites; warns on differences.
            let fill = try await h.call(
                .PUT, "/v3/capita/persons/2000002",
                json: #"{"lastName":"Newperson","dateOfBirth":"1985-06-07","nationalInsuranceNumber":"JB654321A"}"#, key: key)
            #expect(fill.status == 200)
            #expect((try fill.json()["warnings"] as? [Any])?.isEmpty == true)
            let differ = try await h.call(
                .PUT, "/v3/capita/persons/2000002",
                json: #"{"gender":"Male","lastName":"Otherlast","dateOfBirth":"1985-06-07","nationalInsuranceNumber":"JC111111A"}"#, key: key)
            #expect(differ.status == 200)
            let codes = (try differ.json()["warnings"] as? [[String: Any]])?.compactMap { $0["code"] as? String } ?? []
            #expect(Set(codes) == ["NationalInsuranceNumberDiffers", "LastNameDiffers"])  // gender was never stored
            #expect(!differ.text.contains("JC111111A") && !differ.text.contains("JB654321A"))
            let after = try await h.call(.GET, "/v3/persons/2000002", key: h.allKey).json()
            #expect(after["nationalInsuranceNumber"] as? String == "JB654321A")
            #expect(after["lastName"] as? String == "Newperson")
            // An invalid NI number is a warning, not a rejection.
            let invalid = try await h.call(
                .PUT, "/v3/capita/persons/2000003",
                json: #"{"lastName":"Ninvalid","dateOfBirth":"1985-06-07","nationalInsuranceNumber":"BG123456A"}"#, key: key)
            #expect(invalid.status == 201)
            #expect((try invalid.json()["warnings"] as? [[String: Any]])?.first?["code"] as? String == "NationalInsuranceNumberInvalid")
            // Date of death marks deceased.
            #expect(
                try await h.call(
                    .PUT, "/v3/capita/persons/2000003", json: #"{"lastName":"Ninvalid","dateOfBirth":"1985-06-07","dateOfDeath":"2024-02-03"}"#,
                    key: key
                ).status == 200)
            #expect(try await h.call(.GET, "/v3/persons/2000003", key: h.allKey).json()["dateOfDeath"] as? String == "2024-02-03")
            // Refusals.
            let gone = try await h.call(.PUT, "/v3/capita/persons/1000059", json: #"{"lastName":"X","dateOfBirth":"1985-06-07"}"#, key: key)
            #expect(gone.status == 410)
            #expect(gone.errorCode == 10058)
            #expect(
                try await h.call(.PUT, "/v3/capita/persons/2000004", json: #"{"lastName":"Old","dateOfBirth":"1939-12-31"}"#, key: key).status == 400)
            #expect(
                try await h.call(.PUT, "/v3/capita/persons/2000004", json: #"{"lastName":"","dateOfBirth":"1980-01-01"}"#, key: key).status == 400)
            #expect(
                try await h.call(.PUT, "/v3/capita/persons/2000004", json: #"{"lastName":"Future","dateOfBirth":"2999-01-01"}"#, key: key).status
                    == 400)
            #expect(
                try await h.call(.PUT, "/v3/capita/persons/2000004", json: #"{"lastName":"X","dateOfBirth":"1980-01-01"}"#, key: h.key(.updatePerson))
                    .status == 403)
        }
    }

    @Test func patchPutAndDeceased() async throws {
        try await Harness.with { h in
            let key = h.key(.updatePerson)
            #expect(
                try await h.call(
                    .PATCH, "/v3/persons/1000044",
                    json: #"{"lastName":"Newlast","previousLastName":"Sampleby","nationalInsuranceNumber":"JE 99 88 77 A"}"#, key: key
                ).status == 204)
            let person = try await h.call(.GET, "/v3/persons/1000044?include=PreviousNames", key: h.allKey).json()
            #expect(person["lastName"] as? String == "Newlast")
            #expect(person["firstName"] as? String == "Fictiona")
            #expect(person["nationalInsuranceNumber"] as? String == "JE998877A")
            #expect((person["previousNames"] as? [[String: Any]])?.contains { $0["lastName"] as? String == "Sampleby" } == true)
            let bad = try await h.call(.PATCH, "/v3/persons/1000044", json: #"{"nationalInsuranceNumber":"NOPE"}"#, key: key)
            #expect(bad.status == 400)
            #expect(bad.errorCode == 10100)
            #expect(!bad.text.contains("NOPE"))
            #expect(try await h.call(.PATCH, "/v3/persons/1000044", json: "{}", key: key).status == 400)
            #expect(try await h.call(.PATCH, "/v3/persons/1999999", json: #"{"lastName":"X"}"#, key: key).errorCode == 10001)
            #expect(try await h.call(.PATCH, "/v3/persons/1000060", json: #"{"lastName":"X"}"#, key: key).status == 308)

            // PUT: refused once QTS is held, allowed without.
            let locked = try await h.call(
                .PUT, "/v3/persons/1000001", json: #"{"firstName":"A","lastName":"B","dateOfBirth":"1967-02-04"}"#, key: key)
            #expect(locked.status == 400)
            #expect(locked.errorCode == 10104)
            #expect(
                try await h.call(
                    .PUT, "/v3/persons/1000050",
                    json:
                        #"{"firstName":"Renamed","middleName":null,"lastName":"Person","dateOfBirth":"1960-03-11","emailAddress":"renamed@example.invalid","nationalInsuranceNumber":null,"gender":"Other"}"#,
                    key: key
                ).status == 204)
            let renamed = try await h.call(.GET, "/v3/persons/1000050?include=PreviousNames", key: h.allKey).json()
            #expect(renamed["firstName"] as? String == "Renamed")
            #expect(renamed["gender"] as? String == "Other")
            #expect((renamed["previousNames"] as? [[String: Any]])?.first?["lastName"] as? String == "Madeupton")

            #expect(try await h.call(.PUT, "/v3/persons/deceased/1000050", json: #"{"dateOfDeath":"2024-05-06"}"#, key: key).status == 204)
            #expect(try await h.call(.GET, "/v3/persons/1000050", key: h.allKey).json()["dateOfDeath"] as? String == "2024-05-06")
            #expect(try await h.call(.PUT, "/v3/persons/deceased/1000050", json: #"{"dateOfDeath":"1900-01-01"}"#, key: key).status == 400)
            #expect(try await h.call(.PUT, "/v3/persons/deceased/1000050", json: #"{"dateOfDeath":"06/05/2024"}"#, key: key).status == 400)
            #expect(try await h.call(.PUT, "/v3/persons/deceased/1000050", json: #"{}"#, key: key).status == 400)
            #expect(try await h.call(.PUT, "/v3/persons/deceased/1000050", json: "not json", key: key).status == 400)
        }
    }

    @Test func welshInductionRules() async throws {
        try await Harness.with { h in
            let key = h.key(.setWelshInduction)
            func put(_ trn: String, _ body: String) async throws -> Harness.Reply {
                try await h.call(.PUT, "/v3/persons/\(trn)/welsh-induction", json: body, key: key)
            }
            // 1000001: QTS 2006-07-02, RequiredToComplete, born 1967-02-04.
            #expect(
                try await put("1000001", #"{"passed":true,"startDate":"2006-09-01","completedDate":"2007-07-01","dateOfBirth":"1967-02-05"}"#)
                    .errorCode == 10101)
            #expect(try await put("1000001", #"{"passed":true,"startDate":"2006-06-01","completedDate":"2007-07-01"}"#).errorCode == 10103)
            #expect(try await put("1000001", #"{"passed":true,"startDate":"2007-09-01","completedDate":"2007-07-01"}"#).errorCode == 10100)
            #expect(try await put("1000050", #"{"passed":true,"startDate":"2006-09-01","completedDate":"2007-07-01"}"#).errorCode == 10034)
            let passed = try await put("1000016", #"{"passed":true,"startDate":"2021-09-01","completedDate":"2022-07-01"}"#)
            #expect(passed.errorCode == 10102)
            #expect(passed.text.contains("Passed"))
            #expect(try await put("1000012", #"{"passed":false,"startDate":"2018-09-01","completedDate":"2019-07-01"}"#).errorCode == 10102)
            #expect(
                try await put("1000001", #"{"passed":true,"startDate":"2006-09-01","completedDate":"2007-07-01","dateOfBirth":"1967-02-04"}"#).status
                    == 204)
            let induction = try await h.call(.GET, "/v3/persons/1000001?include=Induction", key: h.allKey).json()["induction"] as? [String: Any]
            #expect(induction?["status"] as? String == "Passed")
            #expect(induction?["completedDate"] as? String == "2007-07-01")
            #expect(try await put("1000002", #"{"passed":false,"startDate":"2007-09-01","completedDate":"2008-07-01"}"#).status == 204)
            #expect(
                try await h.call(.GET, "/v1/teachers/1000002", key: h.allKey).json()["induction"].flatMap {
                    ($0 as? [String: Any])?["status"] as? String
                } == "Failed in Wales")
            #expect(try await put("1000003", #"{"passed":true,"startDate":"2008-09-01","completedDate":"2009-07-01"}"#).status == 204)
            #expect(
                try await h.call(
                    .PUT, "/v3/persons/1000004/welsh-induction", json: #"{"passed":true,"startDate":"2008-09-01","completedDate":"2009-07-01"}"#,
                    key: h.key(.setCpdInduction)
                ).status == 403)
        }
    }

    @Test func cpdInductionAndStaleModifiedOn() async throws {
        try await Harness.with { h in
            let key = h.key(.setCpdInduction)
            func put(_ trn: String, _ body: String) async throws -> Harness.Reply {
                try await h.call(.PUT, "/v3/persons/\(trn)/cpd-induction", json: body, key: key)
            }
            #expect(
                try await put(
                    "1000005", #"{"status":"InProgress","startDate":"2024-09-01","completedDate":null,"modifiedOn":"2024-09-02T10:00:00Z"}"#
                ).status == 204)
            #expect(
                try await put(
                    "1000005", #"{"status":"Passed","startDate":"2024-09-01","completedDate":"2025-07-01","modifiedOn":"2025-07-02T10:00:00.123Z"}"#
                ).status == 204)
            let stale = try await put(
                "1000005", #"{"status":"Failed","startDate":"2024-09-01","completedDate":"2025-07-01","modifiedOn":"2025-07-01T10:00:00Z"}"#)
            #expect(stale.status == 400)
            #expect(stale.errorCode == 10033)
            let induction = try await h.call(.GET, "/v3/persons/1000005?include=Induction", key: h.allKey).json()["induction"] as? [String: Any]
            #expect(induction?["status"] as? String == "Passed")
            #expect(try await put("1000005", #"{"status":"Passed","startDate":"2024-09-01","modifiedOn":"2025-08-01T10:00:00Z"}"#).errorCode == 10100)
            #expect(try await put("1000005", #"{"status":"Nonsense","modifiedOn":"2025-08-01T10:00:00Z"}"#).status == 400)
            #expect(try await put("1000050", #"{"status":"RequiredToComplete","modifiedOn":"2025-08-01T10:00:00Z"}"#).errorCode == 10034)
            #expect(
                try await put("1000006", #"{"status":"InProgress","startDate":"2001-09-01","modifiedOn":"2025-08-01T10:00:00Z"}"#).errorCode == 10103)
        }
    }

    @Test func routesQtlsAlertsAndEmployments() async throws {
        try await Harness.with { h in
            // Welsh Recognition, Holds: QTS from that date, induction becomes RequiredToComplete.
            let route = """
                {"routeToProfessionalStatusTypeId":"877ba701-fe26-4951-9f15-171f3755d50d","status":"Holds","holdsFrom":"2023-03-01",
                 "trainingStartDate":"2021-09-01","trainingEndDate":"2023-02-28","trainingSubjectReferences":["100425"],
                 "trainingAgeSpecialism":{"type":"Range","from":11,"to":16},"trainingCountryReference":"GB-WLS",
                 "trainingProviderUkprn":"10000001","degreeTypeId":null,"isExemptFromInduction":false}
                """
            #expect(
                try await h.call(
                    .PUT, "/v3/persons/1000050/routes-to-professional-statuses/ewc-qts-1", json: route, key: h.key(.setProfessionalStatus)
                ).status == 204)
            let person = try await h.call(.GET, "/v3/persons/1000050?include=Induction,RoutesToProfessionalStatuses", key: h.allKey).json()
            #expect((person["qts"] as? [String: Any])?["holdsFrom"] as? String == "2023-03-01")
            #expect((person["induction"] as? [String: Any])?["status"] as? String == "RequiredToComplete")
            let routes = person["routesToProfessionalStatuses"] as? [[String: Any]]
            #expect(routes?.first?["trainingCountry"].flatMap { ($0 as? [String: Any])?["reference"] as? String } == "GB-WLS")
            #expect(
                try await h.call(
                    .PUT, "/v3/persons/1000050/routes-to-professional-statuses/ewc-qts-1", json: route, key: h.key(.setProfessionalStatus)
                ).status == 204)
            #expect(
                try await h.call(.GET, "/v3/persons/1000050?include=RoutesToProfessionalStatuses", key: h.allKey).json()[
                    "routesToProfessionalStatuses"
                ].flatMap { ($0 as? [Any])?.count } == 1)
            let unknown = route.replacingOccurrences(of: "877ba701-fe26-4951-9f15-171f3755d50d", with: "00000000-0000-0000-0000-000000000000")
            #expect(
                try await h.call(.PUT, "/v3/persons/1000050/routes-to-professional-statuses/x", json: unknown, key: h.key(.setProfessionalStatus))
                    .status == 400)
            let noDate = route.replacingOccurrences(of: #""holdsFrom":"2023-03-01""#, with: #""holdsFrom":null"#)
            #expect(
                try await h.call(.PUT, "/v3/persons/1000050/routes-to-professional-statuses/x", json: noDate, key: h.key(.setProfessionalStatus))
                    .status == 400)
            // EC directive with an exemption.
            let ec =
                #"{"routeToProfessionalStatusTypeId":"f4da123b-5c37-4060-ab00-52de4bd3599e","status":"Holds","holdsFrom":"2020-01-01","isExemptFromInduction":true}"#
            #expect(
                try await h.call(.PUT, "/v3/persons/1000049/routes-to-professional-statuses/ec-1", json: ec, key: h.key(.setProfessionalStatus))
                    .status == 204)
            #expect(
                try await h.call(.GET, "/v3/persons/1000049?include=Induction", key: h.allKey).json()["induction"].flatMap {
                    ($0 as? [String: Any])?["status"] as? String
                } == "Exempt")

            // QTLS.
            let qtls = try await h.call(.PUT, "/v3/persons/1000048/qtls", json: #"{"qtsDate":"2022-04-05"}"#, key: h.key(.assignQtls))
            #expect(qtls.status == 200)
            #expect(try qtls.json()["qtlsStatus"] as? String == "Active")
            let holder = try await h.call(.GET, "/v3/persons/1000048", key: h.allKey).json()
            #expect(holder["qtlsStatus"] as? String == "Active")
            #expect((holder["qts"] as? [String: Any])?["holdsFrom"] as? String == "2022-04-05")
            #expect(
                try await h.call(.PUT, "/v3/persons/1000048/qtls", json: #"{"qtsDate":null}"#, key: h.key(.assignQtls)).json()["qtlsStatus"]
                    as? String == "Expired")

            // Alerts by email.
            let alert = try await h.call(
                .POST, "/v3/alerts",
                json:
                    #"{"trn":"1000040","alertTypeCode":"T3","details":"Deregistered by GTC Scotland","startDate":"2025-01-02","endDate":null,"sender":"GTCS"}"#,
                key: h.key(.updateRole))
            #expect(alert.status == 201)
            let alertID = try #require(try alert.json()["alertId"] as? String)
            let alerts = try await h.call(.GET, "/v3/persons/1000040/alerts", key: h.allKey).json()["alerts"] as? [[String: Any]]
            #expect(alerts?.first?["alertId"] as? String == alertID)
            #expect(
                try await h.call(
                    .POST, "/v3/alerts", json: #"{"trn":"1000040","alertTypeCode":"T9","startDate":"2025-01-02"}"#, key: h.key(.updateRole)
                ).status == 400)
            #expect(
                try await h.call(
                    .POST, "/v3/alerts", json: #"{"trn":"1999999","alertTypeCode":"T1","startDate":"2025-01-02"}"#, key: h.key(.updateRole)
                ).errorCode == 10001)
            #expect(
                try await h.call(
                    .POST, "/v3/alerts", json: #"{"trn":"1000040","alertTypeCode":"T1","startDate":"2025-01-02","endDate":"2024-01-01"}"#,
                    key: h.key(.updateRole)
                ).status == 400)

            // Workforce employments.
            let wf = h.key(.setWorkforceData)
            let key = employmentKey(trn: "1000040")
            #expect(try await h.call(.PUT, "/v3/persons/1000040/employments/\(key)", json: employmentBody(trn: "1000040"), key: wf).status == 204)
            #expect(
                try await h.call(.PUT, "/v3/persons/1000040/employments/\(key)", json: employmentBody(trn: "1000040", type: "PTR"), key: wf).status
                    == 204)
            let nullKey = employmentKey(trn: "1000040", establishment: nil)
            #expect(
                try await h.call(
                    .PUT, "/v3/persons/1000040/employments/\(nullKey)", json: employmentBody(trn: "1000040", establishment: nil), key: wf
                ).status == 204)
            let list = try await h.call(.GET, "/v3/persons/1000040/employments", key: wf).json()["employments"] as? [[String: Any]]
            #expect(list?.count == 2)
            #expect(list?.first { $0["employmentKey"] as? String == key }?["employmentType"] as? String == "PTR")
            let mismatch = try await h.call(
                .PUT, "/v3/persons/1000040/employments/1000040.201.4001.20240902", json: employmentBody(trn: "1000040"), key: wf)
            #expect(mismatch.errorCode == 10105)
            #expect(
                try await h.call(
                    .PUT, "/v3/persons/1999999/employments/\(employmentKey(trn: "1999999"))", json: employmentBody(trn: "1999999"), key: wf
                ).errorCode == 10001)
            #expect(
                try await h.call(.PUT, "/v3/persons/1000040/employments/\(key)", json: employmentBody(trn: "1000040", nino: "BAD"), key: wf).status
                    == 400)
            #expect(
                try await h.call(.PUT, "/v3/persons/1000040/employments/\(key)", json: employmentBody(trn: "1000040", type: "XX"), key: wf).status
                    == 400)
        }
    }

    @Test func trnRequests() async throws {
        try await Harness.with { h in
            let key = h.key(.createTrn)
            let body =
                #"{"requestId":"req-001","person":{"firstName":"Brand","middleName":null,"lastName":"Newteacher","dateOfBirth":"1995-05-05","emailAddresses":["brand@example.invalid"],"nationalInsuranceNumber":"JA998877A","gender":"Female"},"identityVerified":true}"#
            let first = try await h.call(.POST, "/v3/trn-requests", json: body, key: key)
            #expect(first.status == 200)
            let result = try first.json()
            #expect(result["status"] as? String == "Completed")
            let trn = try #require(result["trn"] as? String)
            #expect(trn.count == 7)
            #expect(try await h.call(.GET, "/v3/trns/\(trn)", key: h.allKey).status == 204)
            let again = try await h.call(.POST, "/v3/trn-requests", json: body, key: key)
            #expect(again.status == 409)
            #expect(again.errorCode == 10029)
            let poll = try await h.call(.GET, "/v3/trn-requests?requestId=req-001", key: key).json()
            #expect(poll["trn"] as? String == trn)
            #expect(try await h.call(.GET, "/v3/trn-requests?requestId=nope", key: key).status == 404)
            let duplicate = try await h.call(.POST, "/v3/trn-requests", json: body.replacingOccurrences(of: "req-001", with: "req-002"), key: key)
                .json()
            #expect(duplicate["status"] as? String == "Pending")
            #expect(duplicate["potentialDuplicate"] as? Bool == true)
            #expect(duplicate["trn"] == nil)
            #expect(
                try await h.call(.POST, "/v3/trn-requests", json: body.replacingOccurrences(of: "req-001", with: "bad id!"), key: key).status == 400)
        }
    }

    @Test func idempotencyReplaysAndRefusesOtherBodies() async throws {
        try await Harness.with { h in
            let key = h.key(.setCpdInduction)
            let body = #"{"status":"InProgress","startDate":"2024-09-01","modifiedOn":"2024-09-02T10:00:00Z"}"#
            let headers = [("Idempotency-Key", "ab-import:file1:line7"), ("X-DQT-Source", "feed=ab-import;sha256=abc123;line=7")]
            #expect(try await h.call(.PUT, "/v3/persons/1000007/cpd-induction", json: body, key: key, headers: headers).status == 204)
            // Change the record behind the key's back: a replay must not touch it.
            #expect(
                try await h.call(
                    .PUT, "/v3/persons/1000007/cpd-induction",
                    json: #"{"status":"Passed","startDate":"2024-09-01","completedDate":"2025-07-01","modifiedOn":"2025-07-02T10:00:00Z"}"#, key: key
                ).status == 204)
            // Same key, same request (whitespace and key order differ): stored result, nothing changed.
            let replay = try await h.call(
                .PUT, "/v3/persons/1000007/cpd-induction",
                json: #"{ "modifiedOn":"2024-09-02T10:00:00Z", "startDate":"2024-09-01", "status":"InProgress" }"#, key: key, headers: headers)
            #expect(replay.status == 204)
            #expect(
                try await h.call(.GET, "/v3/persons/1000007?include=Induction", key: h.allKey).json()["induction"].flatMap {
                    ($0 as? [String: Any])?["status"] as? String
                } == "Passed")
            // Same key, another body: 422.
            let conflict = try await h.call(
                .PUT, "/v3/persons/1000007/cpd-induction", json: body.replacingOccurrences(of: "2024-09-01", with: "2024-09-03"), key: key,
                headers: headers)
            #expect(conflict.status == 422)
            #expect(conflict.errorCode == 10110)
            // Same key, another path: 422.
            #expect(try await h.call(.PUT, "/v3/persons/1000008/cpd-induction", json: body, key: key, headers: headers).status == 422)
            // A body-returning write replays its body.
            let capita = #"{"lastName":"Replay","firstName":"Idem","dateOfBirth":"1990-01-01"}"#
            let k2 = [("Idempotency-Key", "capita:f:1")]
            let one = try await h.call(.PUT, "/v3/capita/persons/2100001", json: capita, key: h.allKey, headers: k2)
            let two = try await h.call(.PUT, "/v3/capita/persons/2100001", json: capita, key: h.allKey, headers: k2)
            #expect(one.status == 201 && two.status == 201)
            #expect(try two.json()["created"] as? Bool == true)
            // Failures are not stored: a retry after the cause is fixed goes through.
            let k3 = [("Idempotency-Key", "wf:f:9")]
            let wfKey = employmentKey(trn: "2100002")
            #expect(
                try await h.call(.PUT, "/v3/persons/2100002/employments/\(wfKey)", json: employmentBody(trn: "2100002"), key: h.allKey, headers: k3)
                    .status == 404)
            #expect(try await h.call(.PUT, "/v3/capita/persons/2100002", json: capita, key: h.allKey).status == 201)
            #expect(
                try await h.call(.PUT, "/v3/persons/2100002/employments/\(wfKey)", json: employmentBody(trn: "2100002"), key: h.allKey, headers: k3)
                    .status == 204)
            #expect(
                try await h.call(.PUT, "/v3/persons/2100002/employments/\(wfKey)", json: employmentBody(trn: "2100002"), key: h.allKey, headers: k3)
                    .status == 204)
            // The audit has one row per change, with the declared source and the key's name.
            let audit = try await h.sql { connection in
                try connection.query(
                    "SELECT key_name, source_feed, source_sha256, source_line, operation, before IS NOT NULL AS has_before, after IS NOT NULL AS has_after FROM audit WHERE idempotency_key = $1",
                    ["ab-import:file1:line7"]
                ).rows.map {
                    (
                        $0["key_name"], $0["source_feed"], $0["source_sha256"], $0.int("source_line"), $0["operation"], $0.bool("has_before"),
                        $0.bool("has_after")
                    )
                }
            }
            #expect(audit.count == 1)
            #expect(audit.first?.0 == "test-SetCpdInduction")
            #expect(audit.first?.1 == "ab-import" && audit.first?.2 == "abc123" && audit.first?.3 == 7)
            #expect(audit.first?.4 == "setCpdInduction" && audit.first?.5 == true && audit.first?.6 == true)
            #expect(
                try await h.call(.PUT, "/v3/persons/1000007/cpd-induction", json: body, key: key, headers: [("Idempotency-Key", "")]).status == 400)
        }
    }

    @Test func batchAppliesInOrderPerOperationResultsAndRoles() async throws {
        try await Harness.with { h in
            let batch = """
                {"operations":[
                 {"method":"PUT","path":"/v3/capita/persons/2200001","idempotencyKey":"b:1","source":{"feed":"capita-import","fileSha256":"ff00","line":1},
                  "body":{"lastName":"Batchperson","firstName":"Un","dateOfBirth":"1991-01-01","gender":"Male"}},
                 {"method":"PUT","path":"/v3/persons/2200001/employments/\(employmentKey(trn: "2200001"))","idempotencyKey":"b:2",
                  "source":{"feed":"tps","fileSha256":"ff01","line":2},"body":\(employmentBody(trn: "2200001"))},
                 {"method":"PUT","path":"/v3/persons/1999999/employments/\(employmentKey(trn: "1999999"))","body":\(employmentBody(trn: "1999999"))},
                 {"method":"PUT","path":"/v3/persons/1000016/welsh-induction","body":{"passed":true,"startDate":"2021-09-01","completedDate":"2022-07-01"}},
                 {"method":"PUT","path":"/v3/persons/deceased/2200001","body":{"dateOfDeath":"not a date"}},
                 {"method":"DELETE","path":"/v3/persons/2200001","body":{}},
                 {"method":"PUT","path":"/v3/nothing/here","body":{}},
                 {"method":"PUT","path":"/v3/persons/1000060/qtls","body":{"qtsDate":"2020-01-01"}},
                 {"method":"POST","path":"/v3/alerts","idempotencyKey":"b:9","body":{"trn":"2200001","alertTypeCode":"T1","startDate":"2025-01-01"}},
                 {"method":"PUT","path":"/v3/persons/1000059/qtls","body":{"qtsDate":"2020-01-01"}}
                ]}
                """
            let reply = try await h.call(.POST, "/v3/batches", json: batch, key: h.allKey)
            #expect(reply.status == 200)
            let results = try #require(try reply.json()["results"] as? [[String: Any]])
            let statuses = results.map { $0["status"] as? Int ?? 0 }
            #expect(statuses.count == 10)
            #expect(statuses == [201, 204, 404, 400, 400, 400, 400, 308, 201, 410])
            #expect((results[0]["body"] as? [String: Any])?["created"] as? Bool == true)
            #expect((results[2]["problem"] as? [String: Any])?["errorCode"] as? Int == 10001)
            #expect((results[3]["problem"] as? [String: Any])?["errorCode"] as? Int == 10102)
            #expect((results[6]["problem"] as? [String: Any])?["errorCode"] as? Int == 10125)
            #expect(results[7]["location"] as? String == "/v3/persons/1000001")
            // The good ones stayed.
            #expect(
                try await h.call(.GET, "/v3/persons/2200001/employments", key: h.allKey).json()["employments"].flatMap { ($0 as? [Any])?.count } == 1)
            // Replaying the batch replays the keyed operations.
            let again = try #require(try await h.call(.POST, "/v3/batches", json: batch, key: h.allKey).json()["results"] as? [[String: Any]])
            #expect(again[0]["replayed"] as? Bool == true)
            #expect(again[1]["replayed"] as? Bool == true)
            #expect(try await h.call(.GET, "/v3/persons/2200001/alerts", key: h.allKey).json()["alerts"].flatMap { ($0 as? [Any])?.count } == 1)
            // Roles per operation.
            let limited = try await h.call(
                .POST, "/v3/batches",
                json: """
                    {"operations":[{"method":"PUT","path":"/v3/persons/deceased/2200001","body":{"dateOfDeath":"2024-01-01"}},
                     {"method":"PUT","path":"/v3/persons/2200001/employments/\(employmentKey(trn: "2200001", start: "2023-09-01"))","body":\(employmentBody(trn: "2200001", start: "2023-09-01"))}]}
                    """, key: h.key(.setWorkforceData))
            let limitedResults = try #require(try limited.json()["results"] as? [[String: Any]])
            #expect(limitedResults.map { $0["status"] as? Int } == [403, 204])
            // Audit rows carry the batch source.
            let source = try await h.sql {
                try $0.query("SELECT source_feed, source_line FROM audit WHERE idempotency_key = 'b:2'").rows.map {
                    ($0["source_feed"], $0.int("source_line"))
                }
            }
            #expect(source.count == 1 && source.first?.0 == "tps" && source.first?.1 == 2)
        }
    }

    @Test func batchOfOneThousandWorkforceOperations() async throws {
        try await Harness.with { h in
            var operations: [String] = []
            for index in 0..<1000 {
                let trn = String(1_000_001 + index % 58)
                let start = String(format: "20%02d-%02d-01", 10 + index / 58 % 15, 1 + index / 870)
                let key = employmentKey(trn: trn, start: start)
                operations.append(
                    """
                    {"method":"PUT","path":"/v3/persons/\(trn)/employments/\(key)","idempotencyKey":"tps:bench:\(index)",
                     "source":{"feed":"tps-workforce","fileSha256":"00ff","line":\(index + 9)},"body":\(employmentBody(trn: trn, start: start))}
                    """)
            }
            let body = "{\"operations\":[\(operations.joined(separator: ","))]}"
            let clock = ContinuousClock()
            var reply: Harness.Reply?
            let elapsed = try await clock.measure { reply = try await h.call(.POST, "/v3/batches", json: body, key: h.allKey) }
            let results = try #require(try reply?.json()["results"] as? [[String: Any]])
            #expect(results.count == 1000)
            #expect(results.allSatisfy { $0["status"] as? Int == 204 })
            let counts = try await h.sql { connection in
                (
                    try connection.query("SELECT count(*) FROM employments").int(0, 0),
                    try connection.query("SELECT count(*) FROM audit WHERE operation = 'upsertEmployment'").int(0, 0),
                    try connection.query("SELECT count(*) FROM idempotency_keys").int(0, 0)
                )
            }
            #expect(counts.0 == 1000 && counts.1 == 1000 && counts.2 == 1000)
            print("batch of 1000 workforce operations (debug build, includes HTTP): \(elapsed)")
            let replay = try await clock.measure { reply = try await h.call(.POST, "/v3/batches", json: body, key: h.allKey) }
            #expect(try #require(try reply?.json()["results"] as? [[String: Any]]).allSatisfy { $0["replayed"] as? Bool == true })
            print("replay of the same batch: \(replay)")
        }
    }

    /// One batch that repeats an idempotency key or a record: operations apply in order as if sent one by one (the
    /// repeat of a key replays, or is 422 with another body; later writes to the same record win), whatever the
    /// grouping into bulk statements.
    @Test func aBatchRepeatingAKeyOrARecordAppliesInOrder() async throws {
        try await Harness.with { h in
            let path = "/v3/persons/1000005/employments/\(employmentKey(trn: "1000005"))"
            func op(_ key: String?, type: String) -> String {
                """
                {"method":"PUT","path":"\(path)",\(key.map { "\"idempotencyKey\":\"\($0)\"," } ?? "")"body":\(employmentBody(trn: "1000005", type: type))}
                """
            }
            let operations = [
                op("dup:1", type: "FT"), op("dup:1", type: "FT"), op("dup:1", type: "PTR"), op("dup:2", type: "PTR"), op(nil, type: "PTI"),
            ]
            let reply = try await h.call(.POST, "/v3/batches", json: "{\"operations\":[\(operations.joined(separator: ","))]}", key: h.allKey)
            let results = try #require(try reply.json()["results"] as? [[String: Any]])
            #expect(results.map { $0["status"] as? Int } == [204, 204, 422, 204, 204])
            #expect(results.map { $0["replayed"] as? Bool ?? false } == [false, true, false, false, false])
            #expect((results[2]["problem"] as? [String: Any])?["errorCode"] as? Int == 10110)
            let stored = try await h.sql { connection in
                (
                    try connection.query("SELECT employment_type FROM employments WHERE trn = '1000005'").rows.compactMap { $0["employment_type"] },
                    try connection.query("SELECT count(*) FROM audit WHERE trn = '1000005' AND operation = 'upsertEmployment'").int(0, 0),
                    try connection.query("SELECT count(*) FROM idempotency_keys WHERE idempotency_key LIKE 'dup:%'").int(0, 0)
                )
            }
            #expect(stored.0 == ["PTI"])
            #expect(stored.1 == 3 && stored.2 == 2)
        }
    }

    /// Workforce keys are claimed in the bulk statement itself (no lookup first): a key stored before replays its
    /// result even when the person has been deactivated since, while a new key for that person is refused. And the
    /// integrity the employments -> persons foreign key gave still holds: no employment names a missing person, and
    /// persons are never deleted or renumbered.
    @Test func workforceReplaysOutliveAStatusChangeAndEmploymentsAlwaysNameAPerson() async throws {
        try await Harness.with { h in
            func batch(_ key: String) async throws -> [String: Any] {
                let path = "/v3/persons/1000011/employments/\(employmentKey(trn: "1000011"))"
                let body =
                    #"{"operations":[{"method":"PUT","path":"\#(path)","idempotencyKey":"\#(key)","body":\#(employmentBody(trn: "1000011"))}]}"#
                let reply = try await h.call(.POST, "/v3/batches", json: body, key: h.allKey)
                return try #require((try reply.json()["results"] as? [[String: Any]])?.first)
            }
            let first = try await batch("keep:1")
            #expect(first["status"] as? Int == 204 && first["replayed"] == nil)
            _ = try await h.sql { try $0.execute("UPDATE persons SET status = 'Deactivated' WHERE trn = '1000011'") }
            let replay = try await batch("keep:1")
            #expect(replay["status"] as? Int == 204 && replay["replayed"] as? Bool == true)
            let refused = try await batch("keep:2")
            #expect(refused["status"] as? Int == 410)
            let states = try await h.sql { connection in
                [
                    """
                    INSERT INTO employments (employment_key, trn, local_authority_code, start_date, employment_type, withdrawn,
                      extract_date, nino, date_of_birth, gender) VALUES ('x', '9999999', '201', '2024-09-01', 'FT', false,
                      '2024-10-01', 'JA100037B', '1980-01-01', 'Male')
                    """,
                    "UPDATE employments SET trn = '9999999'",
                    "DELETE FROM persons WHERE trn = '1000012'",
                    "UPDATE persons SET trn = '9999998' WHERE trn = '1000012'",
                ].map { sql -> String? in
                    do {
                        try connection.execute(sql)
                        return nil
                    } catch {
                        return (error as? PGError)?.sqlState
                    }
                }
            }
            #expect(states == ["23503", "23503", "23001", "23001"])
        }
    }

    /// A workforce row sent again with a change (next month's extract) is audited with the row as it was before and
    /// as it is after; a row seen for the first time in the same batch has no `before`.
    @Test func workforceAuditKeepsEachRowsEarlierVersion() async throws {
        try await Harness.with { h in
            func operation(_ trn: String, _ key: String, type: String) -> String {
                let path = "/v3/persons/\(trn)/employments/\(employmentKey(trn: trn))"
                return #"{"method":"PUT","path":"\#(path)","idempotencyKey":"\#(key)","body":\#(employmentBody(trn: trn, type: type))}"#
            }
            for body in [
                #"{"operations":[\#(operation("1000013", "month:1", type: "FT"))]}"#,
                #"{"operations":[\#(operation("1000013", "month:2", type: "PTR")),\#(operation("1000014", "month:2b", type: "PTI"))]}"#,
            ] {
                let reply = try await h.call(.POST, "/v3/batches", json: body, key: h.allKey)
                #expect((try reply.json()["results"] as? [[String: Any]])?.allSatisfy { $0["status"] as? Int == 204 } == true)
            }
            let audit = try await h.sql { connection in
                try connection.query(
                    """
                    SELECT idempotency_key, before->>'employment_type' AS before_type, after->>'employment_type' AS after_type
                    FROM audit WHERE operation = 'upsertEmployment' ORDER BY id
                    """
                ).rows.map { [$0["idempotency_key"], $0["before_type"], $0["after_type"]] }
            }
            #expect(audit == [["month:1", nil, "FT"], ["month:2", "FT", "PTR"], ["month:2b", nil, "PTI"]])
        }
    }

    /// A statement PostgreSQL refuses inside a workforce run (here a trigger that rejects one person's rows): the
    /// run is retried row by row under savepoints, so only that operation fails, as a 500 problem (10130) that
    /// names nothing of the row; the others are applied and audited, and the failed one keeps no idempotency record
    /// (a retry may succeed later).
    @Test func aStatementFailureInsideABatchFailsOnlyItsOperation() async throws {
        try await Harness.with { h in
            _ = try await h.sql { connection in
                try connection.execute(
                    """
                    CREATE FUNCTION refuse_1000003() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN IF NEW.trn = '1000003' THEN RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$;
                    CREATE TRIGGER refuse_1000003 BEFORE INSERT OR UPDATE ON employments FOR EACH ROW EXECUTE FUNCTION refuse_1000003();
                    """)
            }
            let operations = ["1000001", "1000002", "1000003", "1000004"].enumerated().map { index, trn in
                """
                {"method":"PUT","path":"/v3/persons/\(trn)/employments/\(employmentKey(trn: trn))","idempotencyKey":"fail:\(index)",
                 "source":{"feed":"tps-workforce","fileSha256":"00ff","line":\(index + 9)},"body":\(employmentBody(trn: trn))}
                """
            }
            let reply = try await h.call(.POST, "/v3/batches", json: "{\"operations\":[\(operations.joined(separator: ","))]}", key: h.allKey)
            #expect(reply.status == 200)
            let results = try #require(try reply.json()["results"] as? [[String: Any]])
            #expect(results.map { $0["status"] as? Int } == [204, 204, 500, 204])
            let problem = try #require(results[2]["problem"] as? [String: Any])
            #expect(problem["errorCode"] as? Int == 10130)
            #expect(!"\(problem)".contains("refused for the test"))
            let stored = try await h.sql { connection in
                (
                    try connection.query("SELECT count(*) FROM employments").int(0, 0),
                    try connection.query("SELECT count(*) FROM audit WHERE operation = 'upsertEmployment'").int(0, 0),
                    try connection.query("SELECT string_agg(idempotency_key, ',' ORDER BY idempotency_key) AS k FROM idempotency_keys").string(0, "k")
                )
            }
            #expect(stored.0 == 3 && stored.1 == 3)
            #expect(stored.2 == "fail:0,fail:1,fail:3")
        }
    }

    /// The database gone (connections refused, pooled ones terminated): reads, direct writes and batches answer 503
    /// (10131) with `Retry-After`, /health/ready says not ready; when it is back the same pool serves again.
    @Test func databaseUnavailableIs503AndTheServiceRecovers() async throws {
        try await Harness.with(configure: { $0.keyCacheSeconds = 600 }) { h in
            #expect(try await h.call(.GET, "/v3/persons/1000001", key: h.allKey).status == 200)  // the key is now cached
            let name = String(h.databaseURL.split(separator: "/").last!.split(separator: "?").first!)
            let admin = try PGConnection(try TestServices.require(TestServices.databaseURL))
            try admin.execute("ALTER DATABASE \(name) ALLOW_CONNECTIONS false")
            try admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [.text(name)])
            try await Task.sleep(for: .milliseconds(100))
            for _ in 0..<3 {  // every pooled connection, not only the first one used
                let read = try await h.call(.GET, "/v3/persons/1000001", key: h.allKey)
                #expect(read.status == 503 && read.errorCode == 10131, "\(read.status) \(read.text)")
                #expect(read.contentType == "application/problem+json" && read.headers.first(name: "Retry-After") == "5")
            }
            #expect(try await h.call(.GET, "/health/ready").status == 503)
            let write = try await h.call(
                .PUT, "/v3/persons/deceased/1000040", json: #"{"dateOfDeath":"2024-01-01"}"#, key: h.allKey,
                headers: [("Idempotency-Key", "down-1")])
            #expect(
                write.status == 503 && write.errorCode == 10131 && write.headers.first(name: "Retry-After") == "5", "\(write.status) \(write.text)")
            let op = #"{"method":"PUT","path":"/v3/persons/deceased/1000040","body":{"dateOfDeath":"2024-01-01"},"idempotencyKey":"down-2"}"#
            let batch = try await h.call(.POST, "/v3/batches", json: "{\"operations\":[\(op)]}", key: h.allKey)
            // The whole batch: nothing of it was applied, so the client resends it as it is.
            #expect(
                batch.status == 503 && batch.errorCode == 10131 && batch.headers.first(name: "Retry-After") == "5", "\(batch.status) \(batch.text)")
            try admin.execute("ALTER DATABASE \(name) ALLOW_CONNECTIONS true")
            #expect(try await h.call(.GET, "/v3/persons/1000001", key: h.allKey).status == 200)
            #expect(try await h.call(.GET, "/health/ready").status == 200)
            let retried = try await h.call(
                .PUT, "/v3/persons/deceased/1000040", json: #"{"dateOfDeath":"2024-01-01"}"#, key: h.allKey,
                headers: [("Idempotency-Key", "down-1")])
            #expect(retried.status == 204)
        }
    }

    @Test func generatedClientReadsAndBatches() async throws {
        try await Harness.with { h in
            let client = Client.dqtAPI(baseURL: URL(string: h.baseURL)!, apiKey: h.allKey, httpClient: Harness.http)
            let person = try await client.getPerson(path: .init(trn: "1000001"), query: .init(include: "All"))
            guard case .ok(let ok) = person, case .json(let body) = ok.body else {
                Issue.record("expected 200, got \(person)")
                return
            }
            #expect(body.trn == "1000001")
            #expect(body.induction?.status == .requiredToComplete)
            let missing = try await client.getPerson(path: .init(trn: "1999999"))
            guard case .notFound(let notFound) = missing, case .applicationProblemJson(let problem) = notFound.body else {
                Issue.record("expected 404")
                return
            }
            #expect(problem.errorCode == 10001)
            let batch = try await client.runBatch(
                body: .json(
                    .init(operations: [
                        .init(
                            method: "PUT", path: "/v3/persons/deceased/1000045",
                            body: try OpenAPIValueContainer(unvalidatedValue: ["dateOfDeath": "2024-03-04"]),
                            idempotencyKey: "client:1", source: .init(feed: "capita-deaths", fileSha256: "aa", line: 1))
                    ])))
            guard case .ok(let batchOK) = batch, case .json(let results) = batchOK.body else {
                Issue.record("expected 200")
                return
            }
            #expect(results.results.map(\.status) == [204])
            let capita = try await client.capitaImportPerson(
                path: .init(trn: "2300001"), headers: .init(idempotencyKey: "client:2"),
                body: .json(.init(gender: .female, lastName: "Clientmade", firstName: "Gen", dateOfBirth: "1992-02-02")))
            guard case .created(let created) = capita, case .json(let result) = created.body else {
                Issue.record("expected 201")
                return
            }
            #expect(result.created)
        }
    }

    @Test func concurrentCreatesAndOverlappingRetriesNeverFail() async throws {
        try await Harness.with { h in
            func race(_ method: HTTPMethod, _ path: String, _ body: String, headers: [(String, String)] = []) async throws -> [Int] {
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<8 { group.addTask { try await h.call(method, path, json: body, key: h.allKey, headers: headers).status } }
                    return try await group.reduce(into: []) { $0.append($1) }.sorted()
                }
            }
            let capita = try await race(.PUT, "/v3/capita/persons/2400001", #"{"lastName":"Racer","firstName":"Twin","dateOfBirth":"1990-01-01"}"#)
            #expect(capita.filter { $0 == 201 }.count == 1 && capita.allSatisfy { $0 == 200 || $0 == 201 }, "\(capita)")
            let trn = try await race(
                .POST, "/v3/trn-requests", #"{"requestId":"race-1","person":{"firstName":"Race","lastName":"Condition","dateOfBirth":"1991-01-01"}}"#)
            #expect(trn.filter { $0 == 200 }.count == 1 && trn.allSatisfy { $0 == 200 || $0 == 409 }, "\(trn)")
            let writes: [(HTTPMethod, String, String)] = [
                (.PUT, "/v3/persons/1000040/employments/\(employmentKey(trn: "1000040"))", employmentBody(trn: "1000040")),
                (.POST, "/v3/alerts", #"{"trn":"1000041","alertTypeCode":"T2","details":"overlap","startDate":"2025-01-02"}"#),
                (.PUT, "/v3/capita/persons/2400002", #"{"lastName":"Overlap","dateOfBirth":"1990-01-01"}"#),
            ]
            for (index, write) in writes.enumerated() {
                let statuses = try await race(write.0, write.1, write.2, headers: [("Idempotency-Key", "race-key-\(index)")])
                #expect(statuses.allSatisfy { $0 < 300 }, "\(write.1): \(statuses)")
                let rows = try await h.sql {
                    try $0.query("SELECT count(*) FROM audit WHERE idempotency_key = $1", [.text("race-key-\(index)")]).int(0, 0)
                }
                #expect(rows == 1, "\(write.1): \(rows ?? -1) audit rows")
            }
            #expect(try await h.sql { try $0.query("SELECT count(*) FROM alerts WHERE details = 'overlap'").int(0, 0) } == 1)
        }
    }

    @Test func nulCharactersAreRefusedAsInvalid() async throws {
        try await Harness.with { h in
            let body = employmentBody(trn: "1000040").replacingOccurrences(of: "CF10 1AA", with: "CF10\\u00001AA")
            let reply = try await h.call(.PUT, "/v3/persons/1000040/employments/\(employmentKey(trn: "1000040"))", json: body, key: h.allKey)
            #expect(reply.status == 400 && reply.errorCode == 10100)
            let alert = try await h.call(
                .POST, "/v3/alerts", json: #"{"trn":"1000041","alertTypeCode":"T2","details":"a\u0000b","startDate":"2025-01-02"}"#, key: h.allKey)
            #expect(alert.status == 400 && alert.errorCode == 10100)
            let source = try await h.call(
                .PUT, "/v3/persons/deceased/1000043", json: #"{"dateOfDeath":"2024-02-02"}"#, key: h.allKey,
                headers: [("X-DQT-Source", "feed=capita;sha256=ab;line=3")])
            #expect(source.status == 204)
        }
    }

    @Test func migrationsAreRecordedAndRerunsApplyNothing() async throws {
        try await Harness.with { h in
            let applied = try await h.sql { try Migrations.migrate($0) }
            #expect(applied.isEmpty)
            let versions = try await h.sql {
                try $0.query("SELECT version FROM schema_migrations ORDER BY version").rows.compactMap { $0.int("version") }
            }
            #expect(versions == Migrations.all.map(\.version))
            let seeded = try await h.sql { try $0.query("SELECT count(*) FROM persons WHERE trn BETWEEN '1000001' AND '1000060'").int(0, 0) }
            #expect(seeded == 60)
            // Keys are stored hashed.
            let hashes = try await h.sql { try $0.query("SELECT key_hash FROM api_keys").rows.compactMap { $0["key_hash"] } }
            #expect(!hashes.contains(h.allKey))
            #expect(hashes.contains(APIKeys.hash(h.allKey)))
        }
    }
}
