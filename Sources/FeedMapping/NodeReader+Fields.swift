import DQTModel
import FlatFile
import Foundation
import Yams

extension NodeReader {
    enum SourceKind { case headerOrPosition, position, columns }

    func fieldSpecs(
        _ node: Node, schema: RecordSchema, lookups: [String: (table: LookupTable, line: Int)], recordType: String?, sourceKind: SourceKind,
        firstIndex: Int = 0
    ) throws(MappingError) -> [FieldSpec] {
        guard let mapping = node.mapping else { throw fail(node, "fields must map field names to their definitions") }
        var specs: [FieldSpec] = []
        for (key, value) in mapping {
            let name = try string(key, "a field name")
            if schema.declared, !Self.isFieldName(name) {
                throw fail(key, "field name '\(name)' must start with a letter and use letters and digits only")
            }
            guard let kind = schema.kinds[name] ?? (schema.declared ? .text : nil) else {
                throw fail(
                    key,
                    "unknown field '\(name)' for record \(schema.name)\(NearestName.hint(for: name, among: schema.fieldNames)) (known: \(schema.fieldNames.joined(separator: ", ")))"
                )
            }
            guard !specs.contains(where: { $0.name == name }) else { throw fail(key, "field '\(name)' is mapped twice") }
            let options = try entries(
                value,
                allowed: [
                    "column", "position", "columns", "type", "format", "required", "pii", "onInvalid", "lookup", "genderDigit",
                    "padZeros", "past", "notFuture", "min", "max", "minLength", "maxLength", "length", "charset", "values",
                    "true", "false", "impliedDecimals", "multiline", "from", "pattern",
                ], what: "field \(name)")

            let source: FieldSource
            if let from = options["from"] {
                for other in ["column", "position", "columns"] where options[other] != nil {
                    throw fail(options[other], "field \(name): give 'from' or '\(other)', not both")
                }
                let text = try string(from, "from")
                guard let value = EmailValue(rawValue: text) else {
                    throw fail(from, "field \(name): from must be one of \(EmailValue.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                source = .email(value)
            } else {
                source = try fileSource(name, options: options, at: value, sourceKind: sourceKind, index: firstIndex + specs.count)
            }

            let typeNode = try required(options, "type", in: "field \(name)", at: value)
            let type = try fieldType(try string(typeNode, "type"), node: typeNode, options: options, field: name, lookups: lookups)
            let expected = schema.declared ? type.kind : kind
            guard type.kind == expected else {
                throw fail(
                    typeNode,
                    "field \(name) of record \(schema.name) holds a \(expected.rawValue) value, which type '\(try string(typeNode, "type"))' does not give"
                )
            }
            if case .lookup(let table) = type, let allowed = schema.allowedCodes[name] {
                let unknown = table.outputs.subtracting(allowed)
                guard unknown.isEmpty else {
                    throw fail(
                        options["lookup"],
                        "lookup \(table.name) gives \(unknown.sorted().joined(separator: ", ")), which field \(name) does not accept (it accepts: \(allowed.sorted().joined(separator: ", ")))"
                    )
                }
            }
            let onInvalid: Severity
            if let node = options["onInvalid"] {
                guard let severity = Severity(rawValue: try string(node, "onInvalid")) else { throw fail(node, "onInvalid must be error or warning") }
                onInvalid = severity
            } else {
                onInvalid = .error
            }
            specs.append(
                FieldSpec(
                    name: name, source: source, recordType: recordType, type: type,
                    required: try options["required"].map { node throws(MappingError) in try bool(node, "required") } ?? false,
                    pii: try options["pii"].map { node throws(MappingError) in try bool(node, "pii") } ?? false,
                    onInvalid: onInvalid, line: key.mark?.line ?? 0
                ))
        }
        return specs
    }

    /// Where a field's value is in the file: `columns` (fixed width), else `column` (by header) or `position`.
    private func fileSource(_ name: String, options: [String: Node], at value: Node, sourceKind: SourceKind, index: Int) throws(MappingError)
        -> FieldSource
    {
        switch sourceKind {
        case .columns:
            guard options["column"] == nil, options["position"] == nil else {
                throw fail(value, "field \(name): fixed-width fields use 'columns'")
            }
            return .columns(try columns(required(options, "columns", in: "field \(name)", at: value), "field \(name) columns"), index: index)
        case .headerOrPosition, .position:
            guard options["columns"] == nil else { throw fail(value, "field \(name): delimited fields use 'column' or 'position'") }
            if let column = options["column"] {
                guard sourceKind == .headerOrPosition else { throw fail(column, "field \(name): a file without a header is read by 'position'") }
                guard options["position"] == nil else { throw fail(column, "field \(name): give 'column' or 'position', not both") }
                return .column(try string(column, "column"))
            }
            if let position = options["position"] {
                let index = try int(position, "position")
                guard index >= 0 else { throw fail(position, "position counts from 0") }
                return .position(index)
            }
            throw fail(value, "field \(name) needs 'column', 'position' or 'from'")
        }
    }

    func fieldType(
        _ name: String, node: Node, options: [String: Node], field: String, lookups: [String: (table: LookupTable, line: Int)]
    ) throws(MappingError) -> FieldType {
        func flag(_ key: String) throws(MappingError) -> Bool { try options[key].map { node throws(MappingError) in try bool(node, key) } ?? false }
        func pattern() throws(MappingError) -> DatePattern {
            let formatNode = try required(options, "format", in: "field \(field)", at: node)
            guard let pattern = DatePattern(validating: try string(formatNode, "format")) else {
                throw fail(formatNode, "field \(field): format must use yyyy, yy, MM, M, dd, d, HH, mm, ss, fff and literal characters")
            }
            return pattern
        }
        switch name {
        case "trn":
            return .trn(allowGenderDigit: try flag("genderDigit"), padLeadingZeros: try flag("padZeros"))
        case "nino":
            return .nationalInsuranceNumber
        case "date":
            var bounds = DateBounds()
            bounds.past = try flag("past")
            bounds.notFuture = try flag("notFuture")
            bounds.minimum = try options["min"].map { node throws(MappingError) in try date(node, "min") }
            bounds.maximum = try options["max"].map { node throws(MappingError) in try date(node, "max") }
            return .date(try pattern(), bounds)
        case "timestamp":
            return .timestamp(try pattern())
        case "text":
            var constraints = TextConstraints()
            if let length = options["length"] {
                constraints.minimumLength = try int(length, "length")
                constraints.maximumLength = constraints.minimumLength
            }
            if let minimum = options["minLength"] { constraints.minimumLength = try int(minimum, "minLength") }
            if let maximum = options["maxLength"] { constraints.maximumLength = try int(maximum, "maxLength") }
            if let charset = options["charset"] {
                guard let value = TextConstraints.Charset(rawValue: try string(charset, "charset")) else {
                    throw fail(charset, "charset must be digits, letters or alphanumeric")
                }
                constraints.charset = value
            }
            if let values = options["values"] { constraints.allowed = Set(try strings(values, "values")) }
            if let multiline = options["multiline"] { constraints.multiline = try bool(multiline, "multiline") }
            if let patternNode = options["pattern"] {
                let source = try string(patternNode, "pattern")
                guard let pattern = TextPattern(source) else {
                    throw fail(patternNode, "field \(field): pattern is not a valid regular expression")
                }
                constraints.pattern = pattern
            }
            return .text(constraints)
        case "enum":
            let lookupNode = try required(options, "lookup", in: "field \(field)", at: node)
            let lookupName = try string(lookupNode, "lookup")
            guard let table = lookups[lookupName]?.table else {
                throw fail(lookupNode, "unknown lookup '\(lookupName)' (defined: \(lookups.keys.sorted().joined(separator: ", ")))")
            }
            return .lookup(table)
        case "boolean":
            if options["true"] != nil || options["false"] != nil {
                return .boolean(
                    BooleanWords(trueWords: Set(try strings(options["true"], "true")), falseWords: Set(try strings(options["false"], "false"))))
            }
            return .boolean(.standard)
        case "integer":
            return .integer(
                minimum: try options["min"].map { node throws(MappingError) in try int(node, "min") },
                maximum: try options["max"].map { node throws(MappingError) in try int(node, "max") }
            )
        case "decimal":
            return .decimal(
                impliedDecimals: try options["impliedDecimals"].map { node throws(MappingError) in try int(node, "impliedDecimals") } ?? 0)
        default:
            throw fail(node, "unknown type '\(name)' (known: trn, nino, date, timestamp, text, enum, boolean, integer, decimal)")
        }
    }

    func fieldsNode(_ spec: [String: Node]) -> Node? { spec["fields"] }

    /// A declared mapping's field name: a letter, then letters and digits (it is also a path placeholder's name).
    static func isFieldName(_ name: String) -> Bool {
        guard let first = name.utf8.first, ASCII.isLower(first) || ASCII.isUpper(first) else { return false }
        return name.utf8.allSatisfy { ASCII.isLower($0) || ASCII.isUpper($0) || ASCII.isDigit($0) }
    }

    /// Header and trailer record types: plain named columns (no record field), e.g. a trailer's record count.
    func plainColumns(_ node: Node, recordType: String) throws(MappingError) -> [FieldSpec] {
        guard let mapping = node.mapping else { throw fail(node, "fields must map names to columns") }
        var specs: [FieldSpec] = []
        for (key, value) in mapping {
            let name = try string(key, "a field name")
            let range = try columns(value.mapping?["columns"] ?? value, "field \(name) columns")
            specs.append(
                FieldSpec(
                    name: name, source: .columns(range, index: specs.count), recordType: recordType,
                    type: .text(TextConstraints()), required: false, pii: false, onInvalid: .error, line: key.mark?.line ?? 0))
        }
        return specs
    }
}
