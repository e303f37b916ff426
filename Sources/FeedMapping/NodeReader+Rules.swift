import DQTModel
import FlatFile
import Foundation
import Yams

extension NodeReader {
    func rules(_ node: Node?, schema: RecordSchema, mapped: Set<String>) throws(MappingError) -> [Rule] {
        guard let node else { return [] }
        guard let sequence = node.sequence else { throw fail(node, "rules must be a list") }
        var rules: [Rule] = []
        for item in sequence {
            let values = try entries(item, allowed: ["id", "message", "requiredWhen", "notBefore", "allowedWhen"], what: "a rule")
            let id = try string(required(values, "id", in: "a rule", at: item), "a rule's id")
            let message = try string(required(values, "message", in: "rule \(id)", at: item), "a rule's message")
            let kinds = ["requiredWhen", "notBefore", "allowedWhen"].filter { values[$0] != nil }
            guard kinds.count == 1, let kindName = kinds.first, let body = values[kindName] else {
                throw fail(item, "rule \(id) needs exactly one of requiredWhen, notBefore, allowedWhen")
            }
            let kind: Rule.Kind
            switch kindName {
            case "requiredWhen":
                let spec = try entries(body, allowed: ["field", "when"], what: "rule \(id)")
                kind = .requiredWhen(
                    field: try string(required(spec, "field", in: "rule \(id)", at: body), "field"),
                    when: try condition(required(spec, "when", in: "rule \(id)", at: body), rule: id)
                )
            case "notBefore":
                let spec = try entries(body, allowed: ["field", "other"], what: "rule \(id)")
                let field = try string(required(spec, "field", in: "rule \(id)", at: body), "field")
                let other = try string(required(spec, "other", in: "rule \(id)", at: body), "other")
                for name in [field, other] where schema.kinds[name] != .date {
                    throw fail(body, "rule \(id): notBefore compares dates, and '\(name)' is not a date field")
                }
                kind = .notBefore(field: field, other: other)
            default:
                let spec = try entries(body, allowed: ["field", "values", "when"], what: "rule \(id)")
                kind = .allowedWhen(
                    field: try string(required(spec, "field", in: "rule \(id)", at: body), "field"),
                    values: Set(try strings(required(spec, "values", in: "rule \(id)", at: body), "values")),
                    when: try condition(required(spec, "when", in: "rule \(id)", at: body), rule: id)
                )
            }
            let rule = Rule(id: id, kind: kind, message: message, line: item.mark?.line ?? 0)
            for name in rule.fieldsRead where !mapped.contains(name) {
                throw fail(item, "rule \(id) reads '\(name)', which is not a mapped field")
            }
            rules.append(rule)
        }
        return rules
    }

    func condition(_ node: Node, rule: String) throws(MappingError) -> Condition {
        guard let mapping = node.mapping, mapping.count == 1, let (key, value) = mapping.first(where: { _ in true }) else {
            throw fail(node, "rule \(rule): a condition names one field, e.g. {status: Passed}")
        }
        let field = try string(key, "a condition's field")
        if let scalar = value.scalar?.string {
            switch scalar {
            case "present": return Condition(field: field, test: .present)
            case "absent": return Condition(field: field, test: .absent)
            default: return Condition(field: field, test: .oneOf([scalar]))
            }
        }
        if value.sequence != nil { return Condition(field: field, test: .oneOf(Set(try strings(value, "values")))) }
        let spec = try entries(value, allowed: ["onOrAfter", "before"], what: "rule \(rule)'s condition")
        if let day = spec["onOrAfter"] { return Condition(field: field, test: .onOrAfter(try date(day, "onOrAfter"))) }
        if let day = spec["before"] { return Condition(field: field, test: .before(try date(day, "before"))) }
        throw fail(value, "rule \(rule): a condition is a value, a list, present, absent, {onOrAfter: DATE} or {before: DATE}")
    }
}
