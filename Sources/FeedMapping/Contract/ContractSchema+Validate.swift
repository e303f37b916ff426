public import DQTModel
import Foundation

/// A way a JSON value breaks its schema, by property path (`body.trainingAgeSpecialism.from`).
public struct SchemaViolation: Sendable, Hashable, CustomStringConvertible {
    public let path: String
    public let code: String
    public let message: String
    public var description: String { "\(path): \(code): \(message)" }
}

extension ContractSchema {
    /// Every way `value` breaks this schema: type, enum, date format, pattern, maxLength, required and unknown
    /// properties, array items. Used on a serialized body (the hand-written records' tests).
    public func violations(of value: JSONValue, at path: String = "body") -> [SchemaViolation] {
        var found: [SchemaViolation] = []
        check(value, at: path, into: &found)
        return found
    }

    private func check(_ value: JSONValue, at path: String, into found: inout [SchemaViolation]) {
        let type: String
        switch value {
        case .null: type = "null"
        case .bool: type = "boolean"
        case .int: type = "integer"
        case .number: type = "number"
        case .string: type = "string"
        case .array: type = "array"
        case .object: type = "object"
        }
        guard allows(type) else {
            found.append(SchemaViolation(path: path, code: "body-type-error", message: "a \(type) where the contract wants \(typeDescription)"))
            return
        }
        switch value {
        case .string(let text):
            if let enumValues, !enumValues.contains(text) {
                found.append(SchemaViolation(path: path, code: "body-enum-error", message: "not one of \(enumValues.joined(separator: ", "))"))
            }
            if format == "date", LocalDate(iso: text) == nil {
                found.append(SchemaViolation(path: path, code: "body-format-error", message: "not a date written yyyy-MM-dd"))
            }
            if let maxLength, text.unicodeScalars.count > maxLength {
                found.append(SchemaViolation(path: path, code: "body-length-error", message: "longer than \(maxLength) code points"))
            }
            if let pattern, text.range(of: pattern, options: .regularExpression) == nil {
                found.append(SchemaViolation(path: path, code: "body-pattern-error", message: "does not match the contract's pattern"))
            }
        case .array(let elements):
            guard let items else { break }
            for (index, element) in elements.enumerated() { items.check(element, at: "\(path)[\(index)]", into: &found) }
        case .object(let members):
            for (name, member) in members {
                if let property = properties[name] ?? additionalProperties {
                    property.check(member, at: "\(path).\(name)", into: &found)
                } else {
                    found.append(
                        SchemaViolation(path: "\(path).\(name)", code: "body-unknown-property", message: "the contract has no such property"))
                }
            }
            for name in required where !members.contains(where: { $0.0 == name }) {
                found.append(SchemaViolation(path: "\(path).\(name)", code: "body-missing-property", message: "a required property is missing"))
            }
        default:
            break
        }
    }
}
