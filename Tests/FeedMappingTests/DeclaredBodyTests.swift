import DQTModel
import Foundation
import Testing

@testable import FeedMapping

/// A mapping without a record type: its fields are its own and its body is declared, typed against the contract.
let declaredMapping = """
    id: test-feed
    title: Test feed
    partner: Nobody
    replaces: "nothing"
    status: shadow
    files: ["HUB*.csv"]
    format:
      kind: delimited
      encoding: utf-8
      delimiter: "|"
      header: true
    fields:
      trn: {column: trn, type: trn, required: true}
      statusCode: {column: status, type: text, values: [RTC, IP, PASS], required: true}
      startDate: {column: start, type: date, format: yyyy-MM-dd}
      endDate: {column: end, type: date, format: yyyy-MM-dd}
      updatedAt: {column: updated, type: timestamp, format: "yyyy-MM-dd HH:mm:ss", required: true}
      note: {column: note, type: text}
    lookups:
      cpdStatus:
        entries: {RTC: RequiredToComplete, IP: InProgress, PASS: Passed}
    operation:
      method: PUT
      path: /v3/persons/{trn}/cpd-induction
      body:
        status: {field: statusCode, lookup: cpdStatus}
        startDate: {field: startDate, when: {statusCode: [IP, PASS]}}
        completedDate: {field: endDate, when: {statusCode: PASS}, absent: omit}
        modifiedOn: updatedAt

    """

@Suite("Declared bodies: built from the row, typed against the contract")
struct DeclaredBodyTests {
    @Test("a declared body is built from the fields, a lookup, conditions and absent: omit")
    func builds() throws {
        let file = """
            trn|status|start|end|updated|note
            1000007|IP|2026-09-01|2026-10-01|2026-11-20 16:45:00|a "quoted" note
            1000008|RTC|2026-09-01||2026-11-20 16:45:00|
            1000011|PASS|2024-09-01||2026-11-20 16:45:00|

            """
        let (result, sink) = try check(mapping: declaredMapping, content: Array(file.utf8))
        #expect(result.refusal == nil)
        #expect(
            sink.calls.map(\.path) == ["/v3/persons/1000007/cpd-induction", "/v3/persons/1000008/cpd-induction", "/v3/persons/1000011/cpd-induction"])
        #expect(
            sink.calls.map(\.body) == [
                #"{"status":"InProgress","startDate":"2026-09-01","modifiedOn":"2026-11-20T16:45:00Z"}"#,
                #"{"status":"RequiredToComplete","modifiedOn":"2026-11-20T16:45:00Z"}"#,
                #"{"status":"Passed","startDate":"2024-09-01","modifiedOn":"2026-11-20T16:45:00Z"}"#,
            ])
        #expect(sink.calls.allSatisfy { $0.method == "PUT" })
    }

    @Test("every declared body conforms to the request schema it was typed against")
    func bodiesConform() throws {
        let file = "trn|status|start|end|updated|note\n1000007|PASS|2024-09-01|2026-07-01|2026-11-20 16:45:00|\n"
        let (_, sink) = try check(mapping: declaredMapping, content: Array(file.utf8))
        let schema = try #require(try contract().operation(method: "PUT", path: "/v3/persons/1/cpd-induction")?.requestBody)
        for call in sink.calls {
            #expect(schema.violations(of: try parsedJSON(try #require(call.body))) == [])
        }
    }

    /// One mistake each: (what, text replaced, replacement, the line the error must name, its code).
    static let mistakes: [(String, String, String, String, String)] = [
        ("a property of the wrong type", "    modifiedOn: updatedAt", "    modifiedOn: startDate", "    modifiedOn: startDate", "body-type-error"),
        ("a required property missing", "    modifiedOn: updatedAt\n", "", "  body:", "body-missing-property"),
        (
            "a property the schema does not have", "    modifiedOn: updatedAt", "    modifiedOn: updatedAt\n    modifiedAt: updatedAt", "modifiedAt:",
            "body-unknown-property"
        ),
        (
            "an operation not in the contract", "path: /v3/persons/{trn}/cpd-induction", "path: /v3/persons/{trn}/cpd-inductions",
            "path: /v3/persons", "unknown-operation"
        ),
        ("a method not in the contract", "method: PUT", "method: POST", "  method: POST", "unknown-operation"),
        (
            "free text into an enumeration", "status: {field: statusCode, lookup: cpdStatus}", "status: statusCode", "status: statusCode",
            "body-enum-error"
        ),
        ("a lookup giving a value the enumeration lacks", "PASS: Passed}", "PASS: Pass}", "status: {field:", "body-enum-error"),
        (
            "null where the contract has none", "    modifiedOn: updatedAt", "    modifiedOn: {field: updatedAt, when: {statusCode: IP}}",
            "modifiedOn:", "body-missing-property"
        ),
        ("an unknown field", "    modifiedOn: updatedAt", "    modifiedOn: updatedOn", "modifiedOn: updatedOn", "body-unknown-field"),
        (
            "a required property that may be absent",
            "updatedAt: {column: updated, type: timestamp, format: \"yyyy-MM-dd HH:mm:ss\", required: true}",
            "updatedAt: {column: updated, type: timestamp, format: \"yyyy-MM-dd HH:mm:ss\"}", "    modifiedOn: updatedAt", "body-null-error"
        ),
        (
            "a constant of the wrong type", "    startDate: {field: startDate, when: {statusCode: [IP, PASS]}}", "    startDate: {const: 12}",
            "startDate: {const: 12}", "body-type-error"
        ),
        ("a text into a date", "startDate: {field: startDate, when", "startDate: {field: note, when", "startDate: {field: note", "body-type-error"),
    ]

    @Test("a wrong body fails to load at its line, with a code and the property path", arguments: 0..<12)
    func locatedMistake(_ index: Int) throws {
        let (what, original, replacement, lineText, code) = Self.mistakes[index]
        #expect(declaredMapping.contains(original), "\(what): the base mapping changed")
        let text = declaredMapping.replacingOccurrences(of: original, with: replacement)
        let error = try #require(mappingError(text), "\(what): the mapping loaded")
        #expect(error.file == "/mappings/test-feed.yaml", "\(what)")
        #expect(error.line == line(of: lineText, in: text), "\(what): \(error)")
        #expect(error.code == code, "\(what): \(error)")
        if code.hasPrefix("body-") { #expect(error.message.hasPrefix("body."), "\(what): no property path in \(error)") }
    }

    @Test("nesting, arrays and constants, typed against a nested schema")
    func nested() throws {
        let mapping = """
            id: test-feed
            title: Test feed
            partner: Nobody
            replaces: "nothing"
            status: shadow
            files: ["QTS*.csv"]
            format: {kind: delimited, encoding: utf-8, header: true}
            fields:
              trn: {column: TRN, type: trn, required: true}
              awarded: {column: AWARDED, type: date, format: dd/MM/yyyy, required: true}
              subject1: {column: S1, type: text}
              subject2: {column: S2, type: text}
              minimumAge: {column: FROM, type: integer}
              maximumAge: {column: TO, type: integer}
            operation:
              method: PUT
              path: /v3/persons/{trn}/routes-to-professional-statuses/hub-{trn}
              body:
                routeToProfessionalStatusTypeId: {const: 877ba701-fe26-4951-9f15-171f3755d50d}
                status: {const: Holds}
                holdsFrom: awarded
                trainingSubjectReferences: [subject1, subject2]
                trainingAgeSpecialism:
                  when: {minimumAge: present}
                  object:
                    type: {const: Range}
                    from: minimumAge
                    to: maximumAge
                isExemptFromInduction: {const: false}

            """
        let file = "TRN,AWARDED,S1,S2,FROM,TO\n1000007,01/07/2026,100403,,7,11\n1000008,01/07/2026,,,,\n"
        let (result, sink) = try check(mapping: mapping, content: Array(file.utf8))
        #expect(result.refusal == nil && result.rejected == 0, "\(result.errors)")
        #expect(
            sink.calls.map(\.path) == [
                "/v3/persons/1000007/routes-to-professional-statuses/hub-1000007", "/v3/persons/1000008/routes-to-professional-statuses/hub-1000008",
            ])
        #expect(
            sink.calls.map(\.body) == [
                #"{"routeToProfessionalStatusTypeId":"877ba701-fe26-4951-9f15-171f3755d50d","status":"Holds","holdsFrom":"2026-07-01","trainingSubjectReferences":["100403"],"trainingAgeSpecialism":{"type":"Range","from":7,"to":11},"isExemptFromInduction":false}"#,
                #"{"routeToProfessionalStatusTypeId":"877ba701-fe26-4951-9f15-171f3755d50d","status":"Holds","holdsFrom":"2026-07-01","trainingSubjectReferences":[],"isExemptFromInduction":false}"#,
            ])
        let schema = try #require(try contract().operation(method: "PUT", path: "/v3/persons/1/routes-to-professional-statuses/x")?.requestBody)
        for call in sink.calls { #expect(schema.violations(of: try parsedJSON(try #require(call.body))) == []) }

        let wrongConstant = mapping.replacingOccurrences(of: "{const: Range}", with: "{const: Ranged}")
        let error = try #require(mappingError(wrongConstant))
        #expect(error.code == "body-enum-error" && error.line == line(of: "{const: Ranged}", in: wrongConstant), "\(error)")
        #expect(error.message.hasPrefix("body.trainingAgeSpecialism.type"), "\(error)")
    }

    @Test("a record type and a declared body exclude each other; a body an operation does not take is refused")
    func bodyPlacement() throws {
        let withRecord = baseMapping + "  body:\n    passed: {const: true}\n"
        #expect(mappingError(withRecord)?.message.contains("record WelshInductionOutcome builds its own body") == true)
        let read = declaredMapping.replacingOccurrences(of: "method: PUT", with: "method: GET")
            .replacingOccurrences(of: "path: /v3/persons/{trn}/cpd-induction", with: "path: /v3/persons/{trn}")
        #expect(mappingError(read)?.code == "body-not-expected")
    }
}

func contract() throws -> APIContract { try APIContract.shipped.get() }

/// JSON text as a ``JSONValue`` (object members sorted by name: a schema check does not depend on their order).
func parsedJSON(_ text: String) throws -> JSONValue {
    try JSONDecoder().decode(DecodedJSON.self, from: Data(text.utf8)).value
}

private struct DecodedJSON: Decodable {
    let value: JSONValue

    private struct Key: CodingKey {
        let stringValue: String
        init?(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        if let object = try? decoder.container(keyedBy: Key.self) {
            value = .object(
                try object.allKeys.sorted { $0.stringValue < $1.stringValue }.map {
                    ($0.stringValue, try object.decode(DecodedJSON.self, forKey: $0).value)
                })
            return
        }
        if var array = try? decoder.unkeyedContainer() {
            var items: [JSONValue] = []
            while !array.isAtEnd { items.append(try array.decode(DecodedJSON.self).value) }
            value = .array(items)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            value = .null
        } else if let flag = try? single.decode(Bool.self) {
            value = .bool(flag)
        } else if let number = try? single.decode(Int.self) {
            value = .int(number)
        } else if let number = try? single.decode(Double.self) {
            value = .number(String(number))
        } else {
            value = .string(try single.decode(String.self))
        }
    }
}
