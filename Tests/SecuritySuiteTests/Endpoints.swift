import Foundation
import NIOHTTP1

/// Every operation of the contract with a request that succeeds on a freshly seeded database, so that each security
/// check can be run against every endpoint. ``Endpoint/all`` must name every operationId in /openapi.json (a test
/// checks it), so a new endpoint cannot escape the suite.
struct Endpoint: Sendable, CustomStringConvertible {
    let operationID: String
    let method: HTTPMethod
    /// The path with `{name}` placeholders.
    let template: String
    let pathValues: [String: String]
    let query: [(String, String)]
    let body: String?
    /// The same operation on the same target with another body: an idempotency key reused with it is 422.
    let otherBody: String?
    /// The status the sample request gets on a fresh database.
    let success: Int

    var isWrite: Bool { method != .GET && operationID != "findPersons" }
    var description: String { operationID }

    /// The path with its values (each percent-encoded) and query.
    func path(values overrides: [String: String] = [:], query queryOverrides: [String: String] = [:]) -> String {
        var path = template
        for (name, value) in pathValues.merging(overrides, uniquingKeysWith: { $1 }) {
            path = path.replacingOccurrences(of: "{\(name)}", with: Endpoint.encode(value))
        }
        let items = query.map { ($0.0, queryOverrides[$0.0] ?? $0.1) }
        guard !items.isEmpty else { return path }
        return path + "?" + items.map { "\($0.0)=\(Endpoint.encode($0.1))" }.joined(separator: "&")
    }

    /// Percent-encodes every byte outside the unreserved set.
    static func encode(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(byte)))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    static let employmentKey = "1000040.201.4001.20240901"
    static func employmentBody(nino: String = "JA100037B", type: String = "FT") -> String {
        """
        {"localAuthorityCode":"201","establishmentCode":"4001","establishmentPostcode":"CF10 1AA","establishmentEmailAddress":null,\
        "memberPostcode":null,"memberEmailAddress":null,"startDate":"2024-09-01","endDate":null,"employmentType":"\(type)",\
        "withdrawn":false,"extractDate":"2025-01-31","nationalInsuranceNumber":"\(nino)","dateOfBirth":"1970-01-01",\
        "dateOfDeath":null,"gender":"Male"}
        """
    }
    static let route = """
        {"routeToProfessionalStatusTypeId":"877ba701-fe26-4951-9f15-171f3755d50d","status":"Holds","holdsFrom":"2023-03-01",\
        "trainingStartDate":"2021-09-01","trainingEndDate":"2023-02-28","trainingSubjectReferences":["100425"],\
        "trainingAgeSpecialism":{"type":"Range","from":11,"to":16},"trainingCountryReference":"GB-WLS",\
        "trainingProviderUkprn":"10000001","degreeTypeId":null,"isExemptFromInduction":false}
        """

    static let all: [Endpoint] = [
        Endpoint(
            operationID: "getQualifiedTeachingStatus", method: .GET, template: "/api/qualified-teachers/qualified-teaching-status",
            pathValues: [:], query: [("trn", "1000030"), ("ni", "JA101110C")], body: nil, otherBody: nil, success: 200),
        Endpoint(
            operationID: "getTeacherV1", method: .GET, template: "/v1/teachers/{trn}", pathValues: ["trn": "1000016"],
            query: [("birthdate", "1967-05-21"), ("nino", "JB100592A")], body: nil, otherBody: nil, success: 200),
        Endpoint(
            operationID: "getPerson", method: .GET, template: "/v3/persons/{trn}", pathValues: ["trn": "1000001"],
            query: [("include", "All"), ("dateOfBirth", "1967-02-04")], body: nil, otherBody: nil, success: 200),
        Endpoint(
            operationID: "findPersons", method: .POST, template: "/v3/persons/find", pathValues: [:], query: [],
            body: #"{"persons":[{"trn":"1000001","dateOfBirth":"1967-02-04"},{"trn":"1000002","dateOfBirth":"2000-01-01"}]}"#,
            otherBody: nil, success: 200),
        Endpoint(
            operationID: "getTrn", method: .GET, template: "/v3/trns/{trn}", pathValues: ["trn": "1000001"], query: [],
            body: nil, otherBody: nil, success: 204),
        Endpoint(
            operationID: "listEmployments", method: .GET, template: "/v3/persons/{trn}/employments", pathValues: ["trn": "1000001"],
            query: [], body: nil, otherBody: nil, success: 200),
        Endpoint(
            operationID: "listAlerts", method: .GET, template: "/v3/persons/{trn}/alerts", pathValues: ["trn": "1000031"],
            query: [], body: nil, otherBody: nil, success: 200),
        Endpoint(
            operationID: "listChanges", method: .GET, template: "/v3/changes", pathValues: [:],
            query: [("limit", "10"), ("kinds", "person.updated,alert.created")], body: nil, otherBody: nil, success: 200),
        Endpoint(
            operationID: "getTrnRequest", method: .GET, template: "/v3/trn-requests", pathValues: [:],
            query: [("requestId", "no-such-request")], body: nil, otherBody: nil, success: 404),
        Endpoint(
            operationID: "updatePerson", method: .PUT, template: "/v3/persons/{trn}", pathValues: ["trn": "1000050"], query: [],
            body:
                #"{"firstName":"Renamed","middleName":null,"lastName":"Person","dateOfBirth":"1960-03-11","emailAddress":"renamed@example.invalid","nationalInsuranceNumber":null,"gender":"Other"}"#,
            otherBody:
                #"{"firstName":"Renamed","middleName":null,"lastName":"Otherperson","dateOfBirth":"1960-03-11","emailAddress":null,"nationalInsuranceNumber":null,"gender":"Other"}"#,
            success: 204),
        Endpoint(
            operationID: "patchPerson", method: .PATCH, template: "/v3/persons/{trn}", pathValues: ["trn": "1000044"], query: [],
            body: #"{"lastName":"Newlast","previousLastName":"Sampleby"}"#, otherBody: #"{"lastName":"Otherlast"}"#, success: 204),
        Endpoint(
            operationID: "capitaImportPerson", method: .PUT, template: "/v3/capita/persons/{trn}", pathValues: ["trn": "2000001"], query: [],
            body:
                #"{"gender":"Female","lastName":"Newperson","firstName":"Testyn","middleName":null,"previousLastName":null,"dateOfBirth":"1985-06-07","nationalInsuranceNumber":"JA123456C","dateOfDeath":null}"#,
            otherBody: #"{"gender":"Female","lastName":"Newperson","firstName":"Testyn","dateOfBirth":"1985-06-08"}"#, success: 201),
        Endpoint(
            operationID: "setWelshInduction", method: .PUT, template: "/v3/persons/{trn}/welsh-induction", pathValues: ["trn": "1000001"], query: [],
            body: #"{"passed":true,"startDate":"2006-09-01","completedDate":"2007-07-01"}"#,
            otherBody: #"{"passed":false,"startDate":"2006-09-01","completedDate":"2007-07-01"}"#, success: 204),
        Endpoint(
            operationID: "setCpdInduction", method: .PUT, template: "/v3/persons/{trn}/cpd-induction", pathValues: ["trn": "1000005"], query: [],
            body: #"{"status":"InProgress","startDate":"2024-09-01","completedDate":null,"modifiedOn":"2024-09-02T10:00:00Z"}"#,
            otherBody: #"{"status":"InProgress","startDate":"2024-09-03","completedDate":null,"modifiedOn":"2024-09-04T10:00:00Z"}"#, success: 204),
        Endpoint(
            operationID: "setRouteToProfessionalStatus", method: .PUT, template: "/v3/persons/{trn}/routes-to-professional-statuses/{reference}",
            pathValues: ["trn": "1000046", "reference": "sec-route-1"], query: [], body: route,
            otherBody: route.replacingOccurrences(of: "2023-03-01", with: "2023-03-02"), success: 204),
        Endpoint(
            operationID: "setDeceased", method: .PUT, template: "/v3/persons/deceased/{trn}", pathValues: ["trn": "1000045"], query: [],
            body: #"{"dateOfDeath":"2024-05-06"}"#, otherBody: #"{"dateOfDeath":"2024-05-07"}"#, success: 204),
        Endpoint(
            operationID: "setQtls", method: .PUT, template: "/v3/persons/{trn}/qtls", pathValues: ["trn": "1000048"], query: [],
            body: #"{"qtsDate":"2022-04-05"}"#, otherBody: #"{"qtsDate":"2022-04-06"}"#, success: 200),
        Endpoint(
            operationID: "upsertEmployment", method: .PUT, template: "/v3/persons/{trn}/employments/{employmentKey}",
            pathValues: ["trn": "1000040", "employmentKey": employmentKey], query: [], body: employmentBody(),
            otherBody: employmentBody(type: "PTR"), success: 204),
        Endpoint(
            operationID: "listAlertsBySource", method: .GET, template: "/v3/alerts", pathValues: [:],
            query: [("source", "dbs"), ("limit", "10")], body: nil, otherBody: nil, success: 200),
        Endpoint(
            operationID: "listEstablishments", method: .GET, template: "/v3/establishments", pathValues: [:],
            query: [("laCode", "201"), ("establishmentNumber", "4001")], body: nil, otherBody: nil, success: 200),
        // No establishment on a freshly seeded database.
        Endpoint(
            operationID: "getEstablishment", method: .GET, template: "/v3/establishments/{urn}", pathValues: ["urn": "100001"], query: [],
            body: nil, otherBody: nil, success: 404),
        Endpoint(
            operationID: "upsertEstablishment", method: .PUT, template: "/v3/establishments/{urn}", pathValues: ["urn": "100001"], query: [],
            body: #"{"laCode":"201","establishmentNumber":"4001","name":"Oakfield Primary School","closeDate":null}"#,
            otherBody: #"{"laCode":"201","establishmentNumber":"4001","name":"Oakfield Academy","closeDate":null}"#, success: 204),
        Endpoint(
            operationID: "upsertTpsEstablishment", method: .PUT, template: "/v3/tps-establishments/{laCode}/{establishmentCode}",
            pathValues: ["laCode": "201", "establishmentCode": "4001"], query: [],
            body: #"{"empsName":"OAKFIELD","giasName":"OAKFIELD PRIMARY SCHOOL","schoolClosedDate":null}"#,
            otherBody: #"{"empsName":"OAKFIELD ACADEMY","giasName":null,"schoolClosedDate":null}"#, success: 204),
        Endpoint(
            operationID: "createAlert", method: .POST, template: "/v3/alerts", pathValues: [:], query: [],
            body:
                #"{"trn":"1000040","alertTypeCode":"T3","details":"Deregistered by GTC Scotland","startDate":"2025-01-02","endDate":null,"sender":"GTCS"}"#,
            otherBody: #"{"trn":"1000040","alertTypeCode":"T3","details":"Another notice","startDate":"2025-01-02","endDate":null,"sender":"GTCS"}"#,
            success: 201),
        // A seeded interim prohibition, neither ended nor with an end date.
        Endpoint(
            operationID: "updateAlert", method: .PATCH, template: "/v3/alerts/{alertId}",
            pathValues: ["alertId": "00000000-0000-4000-a000-000000000030"], query: [], body: #"{"details":"Corrected details"}"#,
            otherBody: #"{"details":"Other details"}"#, success: 204),
        Endpoint(
            operationID: "endAlert", method: .POST, template: "/v3/alerts/{alertId}/end",
            pathValues: ["alertId": "00000000-0000-4000-a000-000000000030"], query: [],
            body: #"{"endDate":"2025-06-30","reason":"Order revoked on appeal"}"#,
            otherBody: #"{"endDate":"2025-07-01","reason":"Order revoked on appeal"}"#, success: 204),
        Endpoint(
            operationID: "createTrnRequest", method: .POST, template: "/v3/trn-requests", pathValues: [:], query: [],
            body:
                #"{"requestId":"sec-001","person":{"firstName":"Brand","middleName":null,"lastName":"Newteacher","dateOfBirth":"1995-05-05","emailAddresses":["brand@example.invalid"],"nationalInsuranceNumber":"JA998877A","gender":"Female"},"identityVerified":true}"#,
            otherBody:
                #"{"requestId":"sec-002","person":{"firstName":"Other","middleName":null,"lastName":"Newteacher","dateOfBirth":"1995-05-05","emailAddresses":[],"nationalInsuranceNumber":null,"gender":"Female"},"identityVerified":true}"#,
            success: 200),
        Endpoint(
            operationID: "runBatch", method: .POST, template: "/v3/batches", pathValues: [:], query: [],
            body:
                #"{"operations":[{"method":"PUT","path":"/v3/persons/deceased/1000043","idempotencyKey":"sec-batch-1","source":{"feed":"sec-suite","fileSha256":"abc123","line":3},"body":{"dateOfDeath":"2024-01-01"}}]}"#,
            otherBody: nil, success: 200),
    ]

    /// Operations that need no key.
    static let open: Set<String> = ["healthLive", "healthReady"]

    static func named(_ id: String) -> Endpoint { all.first { $0.operationID == id }! }
}

/// Strings that break SQL built by concatenation, string handling, or encodings.
enum Hostile {
    static let veryLong = String(repeating: "A' OR 1=1 -- ", count: 800)  // 10,400 characters
    static let values: [(name: String, value: String)] = [
        ("or-1=1", "' OR 1=1 --"),
        ("drop-table", "'; DROP TABLE persons; --"),
        ("trn-or", "1000001' OR '1'='1"),
        ("stacked", "1000001; DELETE FROM audit"),
        ("nul", "\u{0}"),
        ("trn-nul", "1000001\u{0}"),
        ("dollar-param", "$1"),
        ("printf", "%s%s%n%x"),
        ("backslash-quote", "\\'"),
        ("double-quote", "\" OR \"\"=\""),
        ("very-long", veryLong),
        ("welsh", "Llŷnffug Siâneg"),
        ("fullwidth-trn", "１０００００１"),
        ("arabic-indic-trn", "١٠٠٠٠٠١"),
        ("rtl-override", "\u{202E}gnp.exe"),
        ("emoji", "👩‍🏫🏴󠁧󠁢󠁷󠁬󠁳󠁿"),
        ("combining", "e\u{301}\u{301}\u{301}"),
        ("lone-surrogate-ish", "\u{FFFD}\u{FEFF}"),
        ("traversal", "../../etc/passwd"),
        ("html", "<script>alert(1)</script>"),
        ("newline", "1000001\r\nX-Injected: 1"),
        ("json-ish", "{\"$ne\":null}"),
        ("blank", " "),
    ]
}
