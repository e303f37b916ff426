public import DQTModel

/// A cross-field rule from a mapping's `rules:` list. Rules run after every field has been converted.
public struct Rule: Sendable {
    public enum Kind: Sendable {
        /// `requiredWhen: {field: F, when: CONDITION}`: F must be present when the condition holds.
        case requiredWhen(field: String, when: Condition)
        /// `notBefore: {field: F, other: G}`: when both are present, F must not be earlier than G.
        case notBefore(field: String, other: String)
        /// `allowedWhen: {field: F, values: [...], when: CONDITION}`: when the condition holds, F must be one of values.
        case allowedWhen(field: String, values: Set<String>, when: Condition)
    }

    public let id: String
    public let kind: Kind
    public let message: String
    public let line: Int

    /// The field a failure is reported against.
    public var field: String {
        switch kind {
        case .requiredWhen(let field, _), .notBefore(let field, _), .allowedWhen(let field, _, _): field
        }
    }

    /// Every field the rule reads.
    var fieldsRead: [String] {
        switch kind {
        case .requiredWhen(let field, let condition): [field, condition.field]
        case .notBefore(let field, let other): [field, other]
        case .allowedWhen(let field, _, let condition): [field, condition.field]
        }
    }

    /// True when the row satisfies the rule; `value(n)` reads the field named `fieldsRead[n]` (resolved once, not
    /// looked up by name for every row).
    func holds(_ value: (Int) -> FieldValue) -> Bool {
        switch kind {
        case .requiredWhen(_, let condition):
            return !condition.holds(value(1)) || !value(0).isAbsent
        case .notBefore:
            guard case .date(let date) = value(0), case .date(let earliest) = value(1) else { return true }
            return date >= earliest
        case .allowedWhen(_, let values, let condition):
            guard condition.holds(value(1)), let text = value(0).comparableText else { return true }
            return values.contains(text)
        }
    }
}

/// A test on one field: `{F: VALUE}`, `{F: [V1, V2]}`, `{F: {onOrAfter: DATE}}`, `{F: {before: DATE}}`,
/// `{F: present}` or `{F: absent}`.
public struct Condition: Sendable {
    public enum Test: Sendable {
        case oneOf(Set<String>)
        case onOrAfter(LocalDate)
        case before(LocalDate)
        case present, absent
    }
    public let field: String
    public let test: Test

    func holds(_ value: FieldValue) -> Bool {
        switch test {
        case .present: return !value.isAbsent
        case .absent: return value.isAbsent
        case .oneOf(let values): return value.comparableText.map(values.contains) ?? false
        case .onOrAfter(let day): if case .date(let date) = value { return date >= day } else { return false }
        case .before(let day): if case .date(let date) = value { return date < day } else { return false }
        }
    }
}

extension FieldValue {
    /// The value as rules and reports compare it.
    public var comparableText: String? {
        switch self {
        case .absent: nil
        case .trn(let trn): trn.digits
        case .nationalInsuranceNumber(let nino): nino.normalized
        case .date(let date): date.description
        case .timestamp(let text), .text(let text), .code(let text), .decimal(let text): text
        case .boolean(let value): value ? "true" : "false"
        case .integer(let value): String(value)
        }
    }
}
