import DQTTesting
import Foundation
import NIOHTTP1
import Testing

@testable import DQTAPI

/// `GET /v3/persons/{trn}` and `POST /v3/batches` are served by ``DirectOperations`` alone: their answers, errors
/// included, pinned byte for byte (status, the headers a client reads, the JSON), and the documents they send held
/// to the contract's types.
@Suite(.enabled(if: TestServices.shouldRun(TestServices.databaseURL)))
struct DirectOperationTests {
    static let invalidType = "https://tools.ietf.org/html/rfc9110#section-15.5.1"

    static func expectProblem(_ reply: Harness.Reply, _ status: Int, _ json: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(reply.status == status, sourceLocation: sourceLocation)
        #expect(reply.contentType == "application/problem+json", sourceLocation: sourceLocation)
        #expect(reply.text == json, sourceLocation: sourceLocation)
        #expect(reply.headers.first(name: "X-Correlation-Id")?.isEmpty == false, sourceLocation: sourceLocation)
    }

    @Test func personAnswersArePinned() async throws {
        try await Harness.with { h in
            let person = try await h.call(.GET, "/v3/persons/1000001", key: h.allKey, headers: [("X-Correlation-Id", "pin-1")])
            #expect(person.status == 200)
            #expect(person.contentType == "application/json; charset=utf-8")
            #expect(person.headers.first(name: "Content-Length") == String(person.body.count))
            #expect(person.headers.first(name: "X-Correlation-Id") == "pin-1")
            #expect(
                person.text
                    == #"{"trn":"1000001","firstName":"Ffugwen","lastName":"Dummeril","dateOfBirth":"1967-02-04","nationalInsuranceNumber":"JB100037B","emailAddress":"person1000001@example.invalid","gender":"Male","qts":{"holdsFrom":"2006-07-02","routes":[{"routeToProfessionalStatusType":{"routeToProfessionalStatusTypeId":"6987240e-966e-485f-b300-23b54937fb3a","name":"Core","professionalStatusType":"QualifiedTeacherStatus"}}]},"qtlsStatus":"None"}"#
            )
            // Query values are read as the contract's form style reads them: `+` is a space; path segments are percent-decoded.
            #expect(try await h.call(.GET, "/v3/persons/1000001?nationalInsuranceNumber=JB+100037+B", key: h.allKey).status == 200)
            #expect(try await h.call(.GET, "/v3/persons/1000001?nationalInsuranceNumber=JB%2B100037B", key: h.allKey).status == 404)
            #expect(try await h.call(.GET, "/v3/persons/%31000001?include=Induction,+Alerts", key: h.allKey).text.hasPrefix(#"{"trn":"1000001""#))
        }
    }

    @Test func personErrorsArePinned() async throws {
        try await Harness.with { h in
            Self.expectProblem(
                try await h.call(.GET, "/v3/persons/12345", key: h.allKey), 400,
                #"{"detail":"One or more fields are invalid.","errorCode":10100,"errors":{"trn":["trn must be 7 digits."]},"status":400,"title":"Invalid request.","type":"\#(Self.invalidType)"}"#
            )
            Self.expectProblem(
                try await h.call(.GET, "/v3/persons/1000001?include=Nonsense", key: h.allKey), 400,
                #"{"detail":"One or more fields are invalid.","errorCode":10100,"errors":{"include":["include takes Induction, Alerts, RoutesToProfessionalStatuses, PreviousNames, InitialTeacherTraining or All"]},"status":400,"title":"Invalid request.","type":"\#(Self.invalidType)"}"#
            )
            Self.expectProblem(
                try await h.call(.GET, "/v3/persons/1000001?dateOfBirth=1967-02-04&nationalInsuranceNumber=JB100037B", key: h.allKey), 400,
                #"{"detail":"One or more fields are invalid.","errorCode":10100,"errors":{"dateOfBirth":["Give dateOfBirth or nationalInsuranceNumber, not both."]},"status":400,"title":"Invalid request.","type":"\#(Self.invalidType)"}"#
            )
            Self.expectProblem(
                try await h.call(.GET, "/v3/persons/1000001?dateOfBirth=1967-02-30", key: h.allKey), 400,
                #"{"detail":"One or more fields are invalid.","errorCode":10100,"errors":{"dateOfBirth":["dateOfBirth must be yyyy-MM-dd."]},"status":400,"title":"Invalid request.","type":"\#(Self.invalidType)"}"#
            )
            Self.expectProblem(
                try await h.call(.GET, "/v3/persons/1999999", key: h.allKey), 404,
                #"{"detail":"No person has this TRN.","errorCode":10001,"status":404,"title":"Person not found.","type":"https://tools.ietf.org/html/rfc9110#section-15.5.5"}"#
            )
            Self.expectProblem(
                try await h.call(.GET, "/v3/persons/1000059", key: h.allKey), 410,
                #"{"detail":"This TRN's record is deactivated.","errorCode":10058,"status":410,"title":"Record deactivated.","type":"https://tools.ietf.org/html/rfc9110#section-15.5.11"}"#
            )
            let merged = try await h.call(.GET, "/v3/persons/1000060", key: h.allKey)
            Self.expectProblem(
                merged, 308,
                #"{"detail":"This TRN's record was merged into 1000001.","errorCode":10059,"status":308,"title":"Record merged.","type":"https://tools.ietf.org/html/rfc9110#section-15.4.9"}"#
            )
            #expect(merged.headers.first(name: "Location") == "/v3/persons/1000001")
            Self.expectProblem(
                try await h.call(.GET, "/v3/persons/1000001"), 401,
                #"{"detail":"An API key is required: Authorization: Bearer <key>.","errorCode":10120,"status":401,"title":"Unauthorized.","type":"https://tools.ietf.org/html/rfc9110#section-15.5.2"}"#
            )
            Self.expectProblem(
                try await h.call(.GET, "/v3/persons/1000001", key: h.key(.updatePerson)), 403,
                #"{"detail":"This operation needs the role GetPerson.","errorCode":10121,"status":403,"title":"Forbidden.","type":"https://tools.ietf.org/html/rfc9110#section-15.5.4"}"#
            )
        }
    }

    /// What the direct path sends is the contract's `Person`: every seeded person, with every include, decodes as
    /// the generated type and encodes back to the same JSON (no member the type does not know, none it would drop).
    @Test func personDocumentsAreTheContractsPerson() async throws {
        let fixtures = try String(contentsOf: repositoryRoot.appendingPathComponent("fixtures/api/persons.ndjson"), encoding: .utf8)
        let trns = try fixtures.split(separator: "\n").map { line in
            try #require((try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["trn"] as? String)
        }
        try await Harness.with { h in
            var checked = 0
            for trn in trns {
                let reply = try await h.call(.GET, "/v3/persons/\(trn)?include=All", key: h.allKey)
                guard reply.status == 200 else { continue }
                let typed = try JSONText.decoder.decode(Schemas.Person.self, from: reply.body)
                let again = try JSONEncoder().encode(typed)
                #expect(
                    Self.withoutNulls(try JSONSerialization.jsonObject(with: again))
                        == Self.withoutNulls(try JSONSerialization.jsonObject(with: reply.body)), "\(trn)")
                checked += 1
            }
            #expect(checked >= 50)
        }
    }

    static func withoutNulls(_ value: Any) -> NSObject {
        switch value {
        case let object as [String: Any]: return object.filter { !($0.value is NSNull) }.mapValues(withoutNulls) as NSDictionary
        case let array as [Any]: return array.map(withoutNulls) as NSArray
        default: return value as! NSObject
        }
    }

    @Test func batchAnswersArePinned() async throws {
        try await Harness.with { h in
            let batch = """
                {"operations":[{"method":"PUT","path":"/v3/persons/deceased/1000040","idempotencyKey":"pin:1","body":{"dateOfDeath":"2024-01-01"}},
                 {"method":"PUT","path":"/v3/persons/1000060/qtls","body":{"qtsDate":"2020-01-01"}},
                 {"method":"GET","path":"/v3/persons/1000001"}]}
                """
            let first = try await h.call(.POST, "/v3/batches", json: batch, key: h.allKey)
            #expect(first.status == 200)
            #expect(first.contentType == "application/json; charset=utf-8")
            #expect(first.headers.first(name: "Content-Length") == String(first.body.count))
            let merged =
                #"{"status":308,"problem":{"detail":"This TRN's record was merged into 1000001.","errorCode":10059,"status":308,"title":"Record merged.","type":"https://tools.ietf.org/html/rfc9110#section-15.4.9"},"location":"/v3/persons/1000001"}"#
            let unsupported =
                #"{"status":400,"problem":{"detail":"GET /v3/persons/1000001 is not a write endpoint of this API.","errorCode":10125,"status":400,"title":"Unsupported batch operation.","type":"\#(Self.invalidType)"}}"#
            #expect(first.text == #"{"results":[{"status":204},\#(merged),\#(unsupported)]}"#)
            let again = try await h.call(.POST, "/v3/batches", json: batch, key: h.allKey)
            #expect(again.text == #"{"results":[{"status":204,"replayed":true},\#(merged),\#(unsupported)]}"#)
            let forbidden = try await h.call(.POST, "/v3/batches", json: batch, key: h.key(.getPerson))
            #expect(
                forbidden.text.hasPrefix(
                    #"{"results":[{"status":403,"problem":{"detail":"This operation needs the role UpdatePerson.","errorCode":10121"#))
        }
    }

    @Test func batchErrorsArePinned() async throws {
        try await Harness.with(configure: { $0.maxBatchOperations = 2 }) { h in
            Self.expectProblem(
                try await h.call(.POST, "/v3/batches", json: #"{"operations":["#, key: h.allKey), 400,
                #"{"detail":"One or more fields are invalid.","errorCode":10100,"errors":{"body":["body is not a valid value (or the body is not JSON)."]},"status":400,"title":"Invalid request.","type":"\#(Self.invalidType)"}"#
            )
            Self.expectProblem(
                try await h.call(.POST, "/v3/batches", json: #"{"operations":[{"path":"/v3/alerts"}]}"#, key: h.allKey), 400,
                #"{"detail":"One or more fields are invalid.","errorCode":10100,"errors":{"operations[0].method":["operations[0].method is required."]},"status":400,"title":"Invalid request.","type":"\#(Self.invalidType)"}"#
            )
            let operation = #"{"method":"PUT","path":"/v3/persons/deceased/1000040","body":{"dateOfDeath":"2024-01-01"}}"#
            Self.expectProblem(
                try await h.call(.POST, "/v3/batches", json: "{\"operations\":[\(operation),\(operation),\(operation)]}", key: h.allKey), 413,
                #"{"detail":"A batch holds at most 2 operations.","errorCode":10124,"status":413,"title":"Too many operations.","type":"https://tools.ietf.org/html/rfc9110#section-15.5.14"}"#
            )
            Self.expectProblem(
                try await h.call(.POST, "/v3/batches", json: "{\"operations\":[]}"), 401,
                #"{"detail":"An API key is required: Authorization: Bearer <key>.","errorCode":10120,"status":401,"title":"Unauthorized.","type":"https://tools.ietf.org/html/rfc9110#section-15.5.2"}"#
            )
        }
    }
}
