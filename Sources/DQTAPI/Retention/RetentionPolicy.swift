import Foundation
import Yams

/// What `dqt-api retention` anonymises, and after how long (a YAML file, `config/retention-policy.yaml`). Each rule
/// names the persons it applies to (``Condition``), a period in years and the contact fields it clears. Anonymising
/// sets a field to null; no row is ever deleted, and each change is audited like a write.
///
/// ```yaml
/// rules:
///   - name: contact-data-of-deceased
///     when: deceased        # years after the recorded date of death
///     afterYears: 2
///     anonymise: [persons.email, employments.member_email, employments.member_postcode]
/// ```
public struct RetentionPolicy: Sendable, Equatable {
    public var rules: [Rule]

    public init(rules: [Rule]) {
        self.rules = rules
    }

    /// Which persons a rule applies to, once its period has passed.
    public enum Condition: String, Sendable, CaseIterable {
        /// Persons with a date of death more than the period ago.
        case deceased
        /// Persons with no audited change, no change to their row and no employment current or changed within the period.
        case inactive
    }

    /// A contact field a rule may clear: only these (the personal contact details the API holds), never a name, date
    /// of birth, NI number or anything a record's meaning depends on.
    public enum Field: String, Sendable, CaseIterable {
        case personEmail = "persons.email"
        case employmentMemberEmail = "employments.member_email"
        case employmentMemberPostcode = "employments.member_postcode"

        var table: String { String(rawValue.prefix { $0 != "." }) }
        var column: String { String(rawValue.drop { $0 != "." }.dropFirst()) }
    }

    public struct Rule: Sendable, Equatable {
        public var name: String
        public var condition: Condition
        public var afterYears: Int
        public var fields: [Field]

        public init(name: String, condition: Condition, afterYears: Int, fields: [Field]) {
            self.name = name
            self.condition = condition
            self.afterYears = afterYears
            self.fields = fields
        }

        /// The columns of `table` this rule clears.
        func columns(of table: String) -> [String] { fields.filter { $0.table == table }.map(\.column) }
    }

    /// A mistake in the policy file, located by line.
    public struct PolicyError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads and checks a policy file: every mistake names the file, the line and the key.
    public static func load(path: String) throws -> RetentionPolicy {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PolicyError(description: "cannot read the retention policy \(path)")
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path)
    }

    public static func parse(_ text: String, path: String) throws -> RetentionPolicy {
        func fail(_ node: Node?, _ message: String) -> PolicyError {
            PolicyError(description: "\(path)\(node?.mark.map { ":\($0.line)" } ?? ""): \(message)")
        }
        let root: Node
        do {
            guard let composed = try Yams.compose(yaml: text) else { throw fail(nil, "the policy is empty") }
            root = composed
        } catch let error as PolicyError {
            throw error
        } catch {
            throw PolicyError(description: "\(path): not valid YAML: \(error)")
        }
        guard let top = root.mapping else { throw fail(root, "the policy must be a mapping with rules:") }
        for key in top.keys where key.string != "rules" { throw fail(key, "unknown key '\(key.string ?? "?")' (the policy has rules:)") }
        guard let rulesNode = top["rules"], let list = rulesNode.sequence, !list.isEmpty else {
            throw fail(root, "rules: must list at least one rule")
        }
        var rules: [Rule] = []
        for node in list {
            guard let entry = node.mapping else { throw fail(node, "a rule must be a mapping (name, when, afterYears, anonymise)") }
            let allowed = ["name", "when", "afterYears", "anonymise"]
            for key in entry.keys where !allowed.contains(key.string ?? "") {
                throw fail(key, "unknown key '\(key.string ?? "?")' in a rule; keys: \(allowed.joined(separator: ", "))")
            }
            guard let name = entry["name"]?.string, !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
                throw fail(entry["name"] ?? node, "name: a rule needs a name of letters, digits and '-'")
            }
            if rules.contains(where: { $0.name == name }) { throw fail(entry["name"], "name: two rules are called \(name)") }
            guard let word = entry["when"]?.string, let condition = Condition(rawValue: word) else {
                throw fail(entry["when"] ?? node, "when: must be one of \(Condition.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let years = entry["afterYears"]?.int, (1...100).contains(years) else {
                throw fail(entry["afterYears"] ?? node, "afterYears: must be a whole number of years, 1...100")
            }
            guard let fieldNodes = entry["anonymise"]?.sequence, !fieldNodes.isEmpty else {
                throw fail(entry["anonymise"] ?? node, "anonymise: must list at least one field")
            }
            var fields: [Field] = []
            for fieldNode in fieldNodes {
                guard let field = fieldNode.string.flatMap(Field.init(rawValue:)) else {
                    throw fail(
                        fieldNode,
                        "anonymise: unknown field '\(fieldNode.string ?? "?")'; fields: \(Field.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                if !fields.contains(field) { fields.append(field) }
            }
            rules.append(Rule(name: name, condition: condition, afterYears: years, fields: fields))
        }
        return RetentionPolicy(rules: rules)
    }
}
