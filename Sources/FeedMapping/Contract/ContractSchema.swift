import Foundation
import Yams

/// One JSON Schema of the API's contract, `$ref` and `allOf` already resolved: what the mapping loader types a
/// declared body against and what ``ContractSchema/violations(of:at:)`` checks a value against.
///
/// Only the keywords the contract's request schemas use are read (`type`, `format`, `enum`, `pattern`,
/// `maxLength`, `properties`, `required`, `items`, `additionalProperties`); a schema without `type` accepts any type.
public final class ContractSchema: Sendable {
    /// The JSON types allowed (`string`, `integer`, `number`, `boolean`, `object`, `array`, `null`); nil: any.
    public let types: Set<String>?
    public let format: String?
    public let enumValues: [String]?
    public let pattern: String?
    public let maxLength: Int?
    public let properties: [String: ContractSchema]
    public let required: [String]
    public let items: ContractSchema?
    /// An object's properties beyond `properties`: nil forbids them (a body sends only what the contract names),
    /// else each is checked against this schema.
    public let additionalProperties: ContractSchema?

    init(
        types: Set<String>?, format: String? = nil, enumValues: [String]? = nil, pattern: String? = nil, maxLength: Int? = nil,
        properties: [String: ContractSchema] = [:], required: [String] = [], items: ContractSchema? = nil,
        additionalProperties: ContractSchema? = nil
    ) {
        self.types = types
        self.format = format
        self.enumValues = enumValues
        self.pattern = pattern
        self.maxLength = maxLength
        self.properties = properties
        self.required = required
        self.items = items
        self.additionalProperties = additionalProperties
    }

    public func allows(_ type: String) -> Bool {
        guard let types else { return true }
        return types.contains(type) || (type == "integer" && types.contains("number"))
    }

    public var allowsNull: Bool { allows("null") }

    /// The types as the contract writes them, for messages.
    public var typeDescription: String {
        guard let types else { return "any type" }
        let written = types.sorted().map { $0 == "string" && format != nil ? "string (\(format!))" : $0 }
        return written.joined(separator: " or ")
    }
}

/// Reads schemas out of the contract's `components.schemas`, resolving `$ref` (local ones) and `allOf`.
struct SchemaResolver {
    let components: Node?
    private(set) var resolved: [String: ContractSchema] = [:]

    init(document: Node) {
        components = document.mapping?["components"]?.mapping?["schemas"]
    }

    mutating func schema(_ node: Node, depth: Int = 0) throws(ContractError) -> ContractSchema {
        guard depth < 32 else { throw ContractError("schemas nest more than 32 deep (a $ref cycle?)") }
        guard let mapping = node.mapping else { throw ContractError("a schema is not a mapping (line \(node.mark?.line ?? 0))") }
        if let reference = mapping["$ref"]?.string {
            let prefix = "#/components/schemas/"
            guard reference.hasPrefix(prefix) else { throw ContractError("unsupported $ref \(reference)") }
            let name = String(reference.dropFirst(prefix.count))
            if let known = resolved[name] { return known }
            guard let target = components?.mapping?[name] else { throw ContractError("$ref to unknown schema \(name)") }
            let schema = try schema(target, depth: depth + 1)
            resolved[name] = schema
            return schema
        }
        if let parts = mapping["allOf"]?.sequence {
            var merged: [ContractSchema] = []
            for part in parts { merged.append(try schema(part, depth: depth + 1)) }
            return Self.merge(merged)
        }
        var types: Set<String>?
        if let type = mapping["type"] {
            if let single = type.string { types = [single] } else { types = Set((type.sequence ?? []).compactMap(\.string)) }
        }
        var properties: [String: ContractSchema] = [:]
        for (key, value) in mapping["properties"]?.mapping ?? [:] {
            guard let name = key.string else { continue }
            properties[name] = try schema(value, depth: depth + 1)
        }
        var additional: ContractSchema?
        if let extra = mapping["additionalProperties"] {
            if extra.mapping != nil {
                additional = try schema(extra, depth: depth + 1)
            } else if extra.string == "true" {
                additional = ContractSchema(types: nil)
            }
        }
        return ContractSchema(
            types: types,
            format: mapping["format"]?.string,
            enumValues: mapping["enum"]?.sequence?.compactMap(\.string),
            pattern: mapping["pattern"]?.string,
            maxLength: mapping["maxLength"]?.string.flatMap { Int($0) },
            properties: properties,
            required: (mapping["required"]?.sequence ?? []).compactMap(\.string),
            items: try mapping["items"].map { node throws(ContractError) in try schema(node, depth: depth + 1) },
            additionalProperties: additional
        )
    }

    /// `allOf`: a value must satisfy every part, so properties and requirements add up and types narrow.
    static func merge(_ parts: [ContractSchema]) -> ContractSchema {
        var types: Set<String>?
        var properties: [String: ContractSchema] = [:]
        var required: [String] = []
        for part in parts {
            if let partTypes = part.types { types = types.map { $0.intersection(partTypes) } ?? partTypes }
            properties.merge(part.properties) { first, _ in first }
            required += part.required.filter { !required.contains($0) }
        }
        return ContractSchema(
            types: types, format: parts.lazy.compactMap(\.format).first, enumValues: parts.lazy.compactMap(\.enumValues).first,
            pattern: parts.lazy.compactMap(\.pattern).first, maxLength: parts.lazy.compactMap(\.maxLength).min(),
            properties: properties, required: required, items: parts.lazy.compactMap(\.items).first,
            additionalProperties: parts.lazy.compactMap(\.additionalProperties).first)
    }
}

/// The contract document itself is not what the bridge expects.
public struct ContractError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
