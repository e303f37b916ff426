import DQTModel
import Foundation
import Testing

@testable import FeedMapping

@Suite("Cross-field rules")
struct RuleTests {
    func holds(_ rule: Rule, _ values: [String: FieldValue]) -> Bool {
        rule.holds { values[rule.fieldsRead[$0]] ?? .absent }
    }

    @Test("requiredWhen: a field must be present when a condition holds")
    func requiredWhen() {
        let rule = Rule(
            id: "r", kind: .requiredWhen(field: "passDate", when: Condition(field: "status", test: .oneOf(["Pass"]))), message: "m", line: 1)
        #expect(holds(rule, ["status": .code("Pass"), "passDate": date("2025-07-18")]))
        #expect(!holds(rule, ["status": .code("Pass")]))
        #expect(holds(rule, ["status": .code("Fail")]))
        #expect(holds(rule, [:]), "no status: the rule does not apply")
        let several = Rule(
            id: "r", kind: .requiredWhen(field: "startDate", when: Condition(field: "status", test: .oneOf(["InProgress", "Passed", "Failed"]))),
            message: "m", line: 1)
        #expect(!holds(several, ["status": .code("Failed")]))
        #expect(holds(several, ["status": .code("RequiredToComplete")]))
        let present = Rule(id: "r", kind: .requiredWhen(field: "a", when: Condition(field: "b", test: .present)), message: "m", line: 1)
        #expect(!holds(present, ["b": .text("x")]))
        #expect(holds(present, ["b": .absent]))
        let absent = Rule(id: "r", kind: .requiredWhen(field: "a", when: Condition(field: "b", test: .absent)), message: "m", line: 1)
        #expect(!holds(absent, [:]))
        #expect(holds(absent, ["b": .boolean(false)]))
    }

    @Test("notBefore: only when both dates are present; equal dates pass")
    func notBefore() {
        let rule = Rule(id: "r", kind: .notBefore(field: "completedDate", other: "startDate"), message: "m", line: 1)
        #expect(holds(rule, ["completedDate": date("2025-07-18"), "startDate": date("2024-09-01")]))
        #expect(holds(rule, ["completedDate": date("2024-09-01"), "startDate": date("2024-09-01")]))
        #expect(!holds(rule, ["completedDate": date("2024-08-31"), "startDate": date("2024-09-01")]))
        #expect(holds(rule, ["completedDate": date("2024-08-31")]))
        #expect(holds(rule, ["startDate": date("2024-09-01")]))
    }

    @Test("allowedWhen with date conditions (the EWC QTS code rules)")
    func allowedWhen() {
        let from2023 = Rule(
            id: "welsh-codes-from-2023",
            kind: .allowedWhen(
                field: "statusCode", values: ["49", "71"], when: Condition(field: "qtsDate", test: .onOrAfter(LocalDate(iso: "2023-02-01")!))
            ), message: "m", line: 1)
        #expect(holds(from2023, ["statusCode": .text("49"), "qtsDate": date("2023-02-01")]))
        #expect(!holds(from2023, ["statusCode": .text("67"), "qtsDate": date("2023-02-01")]))
        #expect(holds(from2023, ["statusCode": .text("67"), "qtsDate": date("2023-01-31")]))
        #expect(holds(from2023, ["statusCode": .text("67")]), "no date: the condition does not hold")
        let before = Rule(
            id: "r",
            kind: .allowedWhen(
                field: "statusCode", values: ["102"], when: Condition(field: "qtsDate", test: .before(LocalDate(iso: "2023-01-01")!))
            ), message: "m", line: 1)
        #expect(holds(before, ["statusCode": .text("102"), "qtsDate": date("2022-12-31")]))
        #expect(!holds(before, ["statusCode": .text("49"), "qtsDate": date("2022-12-31")]))
        #expect(holds(before, ["statusCode": .text("49"), "qtsDate": date("2023-01-01")]))
    }

    @Test("rules run after the fields, only on rows whose fields passed, and name the rule's field")
    func rulesInThePipeline() throws {
        let file = Array(
            """
            REFERENCE_NO,DATE_OF_BIRTH,START_DATE,PASS_DATE,FAIL_DATE,IND_STATUS_NAME\r
            1000002,07/03/1974,01/09/2024,31/08/2024,,Pass\r
            1000003,10/04/1981,01/09/2024,,,Pass\r
            1000004,13/05/1988,01/09/2024,18/07/2025,,Pass\r
            1000005,16/06/1960,31/02/2024,18/07/2025,,Pass\r

            """.utf8)
        let (result, sink) = try check(mapping: baseMapping, content: file)
        #expect(result.rowsRead == 4)
        #expect(result.accepted == 1)
        #expect(sink.calls.map(\.line) == [4])
        #expect(result.errors.map(\.code) == ["rule-error", "rule-error", "type-error"])
        #expect(result.errors.map(\.line) == [2, 3, 5])
        #expect(result.errors.map(\.field) == ["passDate", "passDate", "startDate"])
        #expect(result.errors[0].message.hasPrefix("pass-after-start:"))
        #expect(result.errors[1].message.hasPrefix("pass-date-for-pass:"))
        #expect(sink.rejected.map(\.line) == [2, 3, 5])
        // Personal data is masked in the rejected values; the rest is kept.
        #expect(sink.rejected[0].values?[1] == "***")
        #expect(sink.rejected[0].values?[0] == "1000002")
    }
}
