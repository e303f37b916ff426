import DQTModel
import Foundation
import Yams

/// What the loader knows about the fields a declared body can use.
struct BodyFields {
    let specs: [String: FieldSpec]
    let slots: [String: Int]
    let lookups: [String: (table: LookupTable, line: Int)]
}

extension NodeReader {
    /// Keys that make a mapping a value (`{field: F}`, `{const: C}`, `{object: {...}}`) rather than a nested object.
    static let valueKeys: Set<String> = ["field", "const", "object", "lookup", "when", "absent"]

    /// Reads `operation.body` and types it against the operation's request schema. Each mistake is located at the
    /// body entry that makes it, with a code and the property's path.
    /// - Parameter key: the `body:` key, where a required property the body lacks is reported.
    func bodyTemplate(_ node: Node, key: Node?, fields: BodyFields, schema: ContractSchema) throws(MappingError) -> BodyTemplate {
        guard node.mapping != nil else { throw fail(node, "operation.body must map property names to values", code: "body-type-error") }
        return BodyTemplate(root: try object(node, key: key, fields: fields, schema: schema, path: "body"))
    }

    private func value(_ node: Node, key: Node?, fields: BodyFields, schema: ContractSchema, path: String) throws(MappingError)
        -> BodyTemplate.Value
    {
        if let scalar = node.scalar {
            return try field(scalar.string, at: node, lookupNode: nil, fields: fields, schema: schema, path: path)
        }
        if let sequence = node.sequence {
            guard schema.allows("array") else {
                throw fail(node, "\(path): a list where the contract wants \(schema.typeDescription)", code: "body-type-error")
            }
            var items: [BodyTemplate.Value] = []
            for (index, item) in sequence.enumerated() {
                items.append(try value(item, key: nil, fields: fields, schema: schema.items ?? ContractSchema(types: nil), path: "\(path)[\(index)]"))
            }
            return .array(items)
        }
        guard let mapping = node.mapping else { throw fail(node, "\(path): a value must be a field name, a list or a mapping") }
        if mapping.keys.contains(where: { key in key.string.map { Self.valueKeys.contains($0) } ?? false }) {
            let spec = try entries(node, allowed: Self.valueKeys, what: path)
            for key in ["when", "absent"] where spec[key] != nil {
                throw fail(spec[key], "\(path): '\(key)' belongs to an object's property, not to a list item or the body")
            }
            return try described(spec, at: node, key: key, fields: fields, schema: schema, path: path)
        }
        return try object(node, key: key, fields: fields, schema: schema, path: path)
    }

    /// A value written `{field: F, lookup: L}`, `{const: C}` or `{object: {...}}`.
    private func described(
        _ spec: [String: Node], at node: Node, key: Node?, fields: BodyFields, schema: ContractSchema, path: String
    ) throws(MappingError) -> BodyTemplate.Value {
        let kinds = ["field", "const", "object"].filter { spec[$0] != nil }
        guard kinds.count == 1 else { throw fail(node, "\(path): give exactly one of field, const, object") }
        if spec["lookup"] != nil, spec["field"] == nil { throw fail(spec["lookup"], "\(path): a lookup applies to a field") }
        if let fieldNode = spec["field"] {
            return try field(try string(fieldNode, "field"), at: fieldNode, lookupNode: spec["lookup"], fields: fields, schema: schema, path: path)
        }
        if let objectNode = spec["object"] { return try object(objectNode, key: key, fields: fields, schema: schema, path: path) }
        return try constant(spec["const"]!, schema: schema, path: path)
    }

    /// `key` (the property's key, when known) locates a required property the object lacks; else its first line.
    private func object(_ node: Node, key objectKey: Node?, fields: BodyFields, schema: ContractSchema, path: String) throws(MappingError)
        -> BodyTemplate.Value
    {
        guard let mapping = node.mapping else { throw fail(node, "\(path): an object maps property names to values") }
        guard schema.allows("object") else {
            throw fail(node, "\(path): an object where the contract wants \(schema.typeDescription)", code: "body-type-error")
        }
        var members: [BodyTemplate.Member] = []
        var written: Set<String> = []
        for (key, valueNode) in mapping {
            let name = try string(key, "a property name")
            let propertyPath = "\(path).\(name)"
            guard let property = schema.properties[name] ?? schema.additionalProperties else {
                let known = schema.properties.keys.sorted()
                throw fail(
                    key,
                    "\(propertyPath): the contract has no such property\(NearestName.hint(for: name, among: Set(known))) (it has: \(known.joined(separator: ", ")))",
                    code: "body-unknown-property")
            }
            written.insert(name)
            let hasOptions = valueNode.mapping.map { $0.keys.contains { ["when", "absent"].contains($0.string ?? "") } } ?? false
            var when: BodyTemplate.BoundCondition?
            var omitWhenAbsent = false
            let value: BodyTemplate.Value
            if hasOptions {
                let spec = try entries(valueNode, allowed: Self.valueKeys, what: propertyPath)
                if let whenNode = spec["when"] {
                    let condition = try self.condition(whenNode, rule: propertyPath)
                    guard let slot = fields.slots[condition.field] else {
                        throw fail(whenNode, "\(propertyPath): the condition reads '\(condition.field)', which is not a mapped field")
                    }
                    when = BodyTemplate.BoundCondition(condition: condition, slot: slot)
                }
                if let absent = spec["absent"] {
                    switch try string(absent, "absent") {
                    case "omit": omitWhenAbsent = true
                    case "null": omitWhenAbsent = false
                    default: throw fail(absent, "\(propertyPath): absent must be omit or null")
                    }
                }
                value = try described(spec, at: valueNode, key: key, fields: fields, schema: property, path: propertyPath)
            } else {
                value = try self.value(valueNode, key: key, fields: fields, schema: property, path: propertyPath)
            }
            let absence = mayBeAbsent(value, fields: fields)
            try checkNull(absence, omit: omitWhenAbsent, schema: property, at: valueNode, path: propertyPath)
            if schema.required.contains(name), when != nil || (omitWhenAbsent && absence != nil) {
                throw fail(
                    key, "\(propertyPath): the contract requires it, and this body can leave it out (\(when != nil ? "when" : "absent: omit"))",
                    code: "body-missing-property")
            }
            members.append(BodyTemplate.Member(key: Self.keyBytes(name), value: value, when: when, omitWhenAbsent: omitWhenAbsent))
        }
        for name in schema.required where !written.contains(name) {
            throw fail(objectKey ?? node, "\(path).\(name): the contract requires it, and the body does not give it", code: "body-missing-property")
        }
        return .object(members)
    }

    /// A field's value, typed against `schema`: its JSON type, its format (a date for a date), its possible values
    /// for an enumeration.
    private func field(
        _ name: String, at node: Node, lookupNode: Node?, fields: BodyFields, schema: ContractSchema, path: String
    ) throws(MappingError) -> BodyTemplate.Value {
        guard let spec = fields.specs[name], let slot = fields.slots[name] else {
            let known = Set(fields.specs.keys)
            throw fail(
                node, "\(path): '\(name)' is not a mapped field\(NearestName.hint(for: name, among: known)) (write {const: \(name)} for a constant)",
                code: "body-unknown-field")
        }
        var lookup: LookupTable?
        let type: (json: String, format: String?, values: Set<String>?)
        if let lookupNode {
            let tableName = try string(lookupNode, "lookup")
            guard let table = fields.lookups[tableName]?.table else {
                throw fail(lookupNode, "\(path): unknown lookup '\(tableName)' (defined: \(fields.lookups.keys.sorted().joined(separator: ", ")))")
            }
            lookup = table
            type = ("string", nil, table.outputs)
        } else {
            type = Self.jsonType(of: spec.type)
        }
        let described = "field \(name) (\(type.format.map { "a \($0)" } ?? "a \(type.json)"))"
        guard schema.allows(type.json) else {
            throw fail(node, "\(path): \(described) where the contract wants \(schema.typeDescription)", code: "body-type-error")
        }
        if let format = schema.format, ["date", "date-time"].contains(format), type.format != format {
            throw fail(node, "\(path): \(described) where the contract wants a \(format)", code: "body-type-error")
        }
        if let allowed = schema.enumValues {
            guard let values = type.values else {
                throw fail(
                    node,
                    "\(path): \(described) can hold any text; the contract allows only \(allowed.joined(separator: ", ")) (map it through a lookup)",
                    code: "body-enum-error")
            }
            let unknown = values.subtracting(allowed)
            guard unknown.isEmpty else {
                throw fail(
                    lookupNode ?? node,
                    "\(path): \(unknown.sorted().joined(separator: ", ")) not allowed by the contract (it allows \(allowed.joined(separator: ", ")))",
                    code: "body-enum-error")
            }
        }
        return .field(slot: slot, name: name, lookup: lookup)
    }

    private func constant(_ node: Node, schema: ContractSchema, path: String) throws(MappingError) -> BodyTemplate.Value {
        let json: JSONValue
        if let scalar = node.scalar {
            let quoted = scalar.style == .singleQuoted || scalar.style == .doubleQuoted
            if !quoted, ["null", "~"].contains(scalar.string) {
                json = .null
            } else if !quoted, ["true", "false"].contains(scalar.string) {
                json = .bool(scalar.string == "true")
            } else if !quoted, let number = Int(scalar.string) {
                json = .int(number)
            } else {
                json = .string(scalar.string)
            }
        } else {
            throw fail(node, "\(path): a constant is a single value (text, number, true, false or null)")
        }
        let violations = schema.violations(of: json, at: path)
        if let first = violations.first { throw fail(node, "\(first.path): the constant is \(first.message)", code: first.code) }
        return .constant(Array(json.serialized.utf8))
    }

    /// The field that can leave the value missing from a row (not required, from one record type or a
    /// continuation line, dropped with a warning, or a lookup entry that gives nothing); nil when it is always there.
    private func mayBeAbsent(_ value: BodyTemplate.Value, fields: BodyFields) -> String? {
        guard case .field(_, let name, let lookup) = value, let spec = fields.specs[name] else { return nil }
        let alwaysPresent = spec.required && spec.recordType == nil && !spec.fromContinuation && spec.onInvalid == .error
        let lookupGivesNothing = lookup.map { $0.entries.values.contains("") } ?? false
        return alwaysPresent && !lookupGivesNothing ? nil : name
    }

    private func checkNull(_ absentField: String?, omit: Bool, schema: ContractSchema, at node: Node, path: String) throws(MappingError) {
        guard let field = absentField, !omit, !schema.allowsNull else { return }
        throw fail(
            node,
            "\(path): field \(field) may be absent, which sends null, and the contract does not allow null (make it required, or write absent: omit)",
            code: "body-null-error")
    }

    func fail(_ node: Node?, _ message: String, code: String) -> MappingError {
        MappingError(file: file, line: node?.mark?.line ?? 0, message: message, code: code)
    }

    static func keyBytes(_ name: String) -> [UInt8] {
        var out: [UInt8] = []
        JSONValue.writeString(name, to: &out)
        out.append(UInt8(ascii: ":"))
        return out
    }

    /// The JSON a field of this type sends: its type, its format and, for a lookup, the values it can give.
    static func jsonType(of type: FieldType) -> (json: String, format: String?, values: Set<String>?) {
        switch type {
        case .trn, .nationalInsuranceNumber: ("string", nil, nil)
        case .text(let constraints): ("string", nil, constraints.allowed)
        case .date: ("string", "date", nil)
        case .timestamp: ("string", "date-time", nil)
        case .lookup(let table): ("string", nil, table.outputs)
        case .boolean: ("boolean", nil, nil)
        case .integer: ("integer", nil, nil)
        case .decimal: ("number", nil, nil)
        }
    }
}
