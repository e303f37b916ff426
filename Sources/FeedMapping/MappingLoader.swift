import DQTModel
import FlatFile
import Foundation
import Yams

/// A mistake in a mapping file, located by file and line.
public struct MappingError: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let message: String
    public var description: String { "\(file):\(line): \(message)" }
}

/// Reads and checks mapping files. Everything a mapping names (fields, types, lookups, rules, path placeholders)
/// is checked against the feed's record type when the file is loaded, so a mistake fails at once, located.
public enum MappingLoader {
    /// Loads one mapping file.
    public static func load(path: String) throws(MappingError) -> FeedDefinition {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw MappingError(file: path, line: 0, message: "cannot read the file: \(error.localizedDescription)")
        }
        return try parse(text, file: path)
    }

    /// Parses mapping text; `file` names it in errors.
    public static func parse(_ text: String, file: String) throws(MappingError) -> FeedDefinition {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw MappingError(file: file, line: 1, message: "the mapping is empty")
            }
            root = node
        } catch let error as MappingError {
            throw error
        } catch let error as YamlError {
            throw MappingError(file: file, line: error.line(in: text) ?? 0, message: "not valid YAML: \(error)")
        } catch {
            throw MappingError(file: file, line: 0, message: "not valid YAML: \(error)")
        }
        var reader = NodeReader(file: file)
        return try reader.definition(root)
    }
}

extension YamlError {
    /// The line the error is about; for a duplicated key, the line where it is written the second time.
    func line(in text: String) -> Int? {
        switch self {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return mark.line
        case .duplicatedKeysInMapping(let duplicates, let context):
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            for key in duplicates {
                let written = lines.enumerated().filter { index, line in
                    guard index + 1 >= context.mark.line else { return false }
                    let trimmed = line.drop { $0 == " " || $0 == "-" }
                    return [key + ":", "\"\(key)\":", "'\(key)':"].contains { trimmed.hasPrefix($0) }
                }
                if written.count >= 2 { return written[1].offset + 1 }
            }
            return context.mark.line
        default:
            return nil
        }
    }
}

/// Walks the YAML tree with the file name at hand for located errors.
private struct NodeReader {
    let file: String

    func fail(_ node: Node?, _ message: String) -> MappingError {
        MappingError(file: file, line: node?.mark?.line ?? 0, message: message)
    }

    /// A mapping node's entries by key, refusing keys outside `allowed`.
    func entries(_ node: Node, allowed: Set<String>, what: String) throws(MappingError) -> [String: Node] {
        guard let mapping = node.mapping else { throw fail(node, "\(what) must be a mapping of keys to values") }
        var result: [String: Node] = [:]
        for (key, value) in mapping {
            guard let name = key.string else { throw fail(key, "\(what): keys must be text") }
            guard allowed.contains(name) else {
                throw fail(key, "unknown key '\(name)' in \(what) (known: \(allowed.sorted().joined(separator: ", ")))")
            }
            guard result[name] == nil else { throw fail(key, "key '\(name)' appears twice in \(what)") }
            result[name] = value
        }
        return result
    }

    func string(_ node: Node?, _ what: String) throws(MappingError) -> String {
        guard let node, let value = node.scalar?.string else { throw fail(node, "\(what) must be text") }
        return value
    }

    func required(_ entries: [String: Node], _ key: String, in what: String, at node: Node) throws(MappingError) -> Node {
        guard let value = entries[key] else { throw fail(node, "\(what) needs '\(key)'") }
        return value
    }

    func int(_ node: Node?, _ what: String) throws(MappingError) -> Int {
        guard let text = node?.scalar?.string, let value = Int(text) else { throw fail(node, "\(what) must be a whole number") }
        return value
    }

    func bool(_ node: Node?, _ what: String) throws(MappingError) -> Bool {
        switch node?.scalar?.string.lowercased() {
        case "true", "yes": return true
        case "false", "no": return false
        default: throw fail(node, "\(what) must be true or false")
        }
    }

    func strings(_ node: Node?, _ what: String) throws(MappingError) -> [String] {
        guard let node else { return [] }
        if let scalar = node.scalar { return [scalar.string] }
        guard let sequence = node.sequence else { throw fail(node, "\(what) must be a list") }
        var result: [String] = []
        for item in sequence { result.append(try string(item, what)) }
        return result
    }

    func date(_ node: Node?, _ what: String) throws(MappingError) -> LocalDate {
        guard let text = node?.scalar?.string, let date = LocalDate(iso: text) else {
            throw fail(node, "\(what) must be a date written yyyy-MM-dd")
        }
        return date
    }

    func columns(_ node: Node?, _ what: String) throws(MappingError) -> ColumnRange {
        guard let text = node?.scalar?.string, let range = ColumnRange(parsing: text), range.first >= 1, range.last >= range.first else {
            throw fail(node, "\(what) must be 1-based columns like 1-7 or 42")
        }
        return range
    }

    mutating func definition(_ root: Node) throws(MappingError) -> FeedDefinition {
        let top = try entries(
            root,
            allowed: [
                "id", "title", "partner", "replaces", "status", "record", "files", "source", "email", "format", "fields",
                "lookups", "rules", "unique", "operation", "notes", "direction",
            ], what: "the mapping")

        let id = try string(required(top, "id", in: "the mapping", at: root), "id")
        let expectedID = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        guard id == expectedID else { throw fail(top["id"], "id '\(id)' must equal the file's name '\(expectedID)'") }
        guard id.utf8.allSatisfy({ ASCII.isLower($0) || ASCII.isDigit($0) || $0 == UInt8(ascii: "-") }) else {
            throw fail(top["id"], "id must use a-z, 0-9 and '-' only (it becomes part of idempotency keys)")
        }
        let statusNode = try required(top, "status", in: "the mapping", at: root)
        guard let status = FeedStatus(rawValue: try string(statusNode, "status")) else {
            throw fail(statusNode, "status must be one of \(FeedStatus.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let recordNode = try required(top, "record", in: "the mapping", at: root)
        guard let record = RecordTypeName(rawValue: try string(recordNode, "record")) else {
            throw fail(recordNode, "unknown record type (known: \(RecordTypeName.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let schema = record.schema
        let lookups = try lookupTables(top["lookups"])

        let formatNode = try required(top, "format", in: "the mapping", at: root)
        var fields: [FieldSpec] = []
        let format = try self.format(formatNode, schema: schema, lookups: lookups, fields: &fields)
        if case .delimited(let layout, _) = format {
            let fieldsNode = try required(top, "fields", in: "the mapping", at: root)
            fields = try fieldSpecs(
                fieldsNode, schema: schema, lookups: lookups, recordType: nil, sourceKind: layout.hasHeader ? .headerOrPosition : .position)
        } else if top["fields"] != nil {
            throw fail(top["fields"], "a fixed-width mapping declares its fields under each of format.recordTypes")
        }
        let mapped = Set(fields.map(\.name))
        for name in schema.mandatory where !mapped.contains(name) {
            throw fail(root, "record \(schema.name) needs the field '\(name)' mapped")
        }

        let rules = try self.rules(top["rules"], schema: schema, mapped: mapped)
        var uniqueKey: [String]?
        if let uniqueNode = top["unique"] {
            let names = try strings(uniqueNode, "unique")
            for name in names where !mapped.contains(name) { throw fail(uniqueNode, "unique names '\(name)', which is not a mapped field") }
            uniqueKey = names
        }

        let operationNode = try required(top, "operation", in: "the mapping", at: root)
        let operationEntries = try entries(operationNode, allowed: ["method", "path"], what: "operation")
        let method = try string(required(operationEntries, "method", in: "operation", at: operationNode), "operation.method")
        let path = try string(required(operationEntries, "path", in: "operation", at: operationNode), "operation.path")
        guard let operation = OperationTemplate(method: method, path: path) else {
            throw fail(operationNode, "operation needs a method (GET, PUT, POST, PATCH, DELETE) and a path starting with /")
        }
        for placeholder in operation.placeholders where !schema.pathParameters.contains(placeholder) {
            throw fail(
                operationEntries["path"],
                "record \(schema.name) cannot fill '{\(placeholder)}' (it fills: \(schema.pathParameters.sorted().joined(separator: ", ")))")
        }

        let filesNode = try required(top, "files", in: "the mapping", at: root)
        let filePatterns = try strings(filesNode, "files")
        guard !filePatterns.isEmpty else { throw fail(filesNode, "files needs at least one file name pattern") }

        return FeedDefinition(
            id: id,
            title: try string(required(top, "title", in: "the mapping", at: root), "title"),
            partner: try string(required(top, "partner", in: "the mapping", at: root), "partner"),
            replaces: try string(required(top, "replaces", in: "the mapping", at: root), "replaces"),
            status: status,
            record: record,
            filePatterns: filePatterns,
            source: try source(top["source"]),
            email: try email(top["email"]),
            format: format,
            fields: fields,
            rules: rules,
            uniqueKey: uniqueKey,
            operation: operation,
            mappingFile: file
        )
    }

    func source(_ node: Node?) throws(MappingError) -> SourceSettings {
        var settings = SourceSettings()
        guard let node else { return settings }
        let values = try entries(node, allowed: ["folder", "stableSeconds", "minimumAgeSeconds", "doneMarker"], what: "source")
        if let folder = values["folder"] { settings.folder = try string(folder, "source.folder") }
        if let stable = values["stableSeconds"] { settings.stableSeconds = try int(stable, "source.stableSeconds") }
        if let age = values["minimumAgeSeconds"] { settings.minimumAgeSeconds = try int(age, "source.minimumAgeSeconds") }
        if let marker = values["doneMarker"] { settings.doneMarkerSuffix = try string(marker, "source.doneMarker") }
        return settings
    }

    func email(_ node: Node?) throws(MappingError) -> EmailSettings? {
        guard let node else { return nil }
        let values = try entries(node, allowed: ["senders", "attachments"], what: "email")
        let senders = try strings(required(values, "senders", in: "email", at: node), "email.senders")
        let attachments = try strings(required(values, "attachments", in: "email", at: node), "email.attachments")
        guard !senders.isEmpty, !attachments.isEmpty else { throw fail(node, "email needs senders and attachments") }
        return EmailSettings(senders: senders, attachments: attachments)
    }

    func lookupTables(_ node: Node?) throws(MappingError) -> [String: (table: LookupTable, line: Int)] {
        guard let node else { return [:] }
        guard let mapping = node.mapping else { throw fail(node, "lookups must map names to tables") }
        var tables: [String: (LookupTable, Int)] = [:]
        for (key, value) in mapping {
            let name = try string(key, "a lookup's name")
            var caseInsensitive = false
            var entriesNode = value
            if let spec = value.mapping, spec["entries"] != nil {
                let options = try entries(value, allowed: ["entries", "caseInsensitive"], what: "lookup \(name)")
                caseInsensitive = try options["caseInsensitive"].map { node throws(MappingError) in try bool(node, "caseInsensitive") } ?? false
                entriesNode = options["entries"]!
            }
            guard let table = entriesNode.mapping else { throw fail(entriesNode, "lookup \(name) must map codes to values") }
            var values: [String: String] = [:]
            for (code, output) in table {
                values[try string(code, "a lookup code")] = try string(output, "a lookup value")
            }
            tables[name] = (LookupTable(name: name, entries: values, caseInsensitive: caseInsensitive), key.mark?.line ?? 0)
        }
        return tables
    }

    enum SourceKind { case headerOrPosition, position, columns }

    func fieldSpecs(
        _ node: Node, schema: RecordSchema, lookups: [String: (table: LookupTable, line: Int)], recordType: String?, sourceKind: SourceKind,
        firstIndex: Int = 0
    ) throws(MappingError) -> [FieldSpec] {
        guard let mapping = node.mapping else { throw fail(node, "fields must map field names to their definitions") }
        var specs: [FieldSpec] = []
        for (key, value) in mapping {
            let name = try string(key, "a field name")
            guard let kind = schema.kinds[name] else {
                throw fail(key, "unknown field '\(name)' for record \(schema.name) (known: \(schema.fieldNames.joined(separator: ", ")))")
            }
            guard !specs.contains(where: { $0.name == name }) else { throw fail(key, "field '\(name)' is mapped twice") }
            let options = try entries(
                value,
                allowed: [
                    "column", "position", "columns", "type", "format", "required", "pii", "onInvalid", "lookup", "genderDigit",
                    "padZeros", "past", "notFuture", "min", "max", "minLength", "maxLength", "length", "charset", "values",
                    "true", "false", "impliedDecimals",
                ], what: "field \(name)")

            let source: FieldSource
            switch sourceKind {
            case .columns:
                guard options["column"] == nil, options["position"] == nil else {
                    throw fail(value, "field \(name): fixed-width fields use 'columns'")
                }
                source = .columns(
                    try columns(required(options, "columns", in: "field \(name)", at: value), "field \(name) columns"),
                    index: firstIndex + specs.count)
            case .headerOrPosition, .position:
                guard options["columns"] == nil else { throw fail(value, "field \(name): delimited fields use 'column' or 'position'") }
                if let column = options["column"] {
                    guard sourceKind == .headerOrPosition else { throw fail(column, "field \(name): a file without a header is read by 'position'") }
                    guard options["position"] == nil else { throw fail(column, "field \(name): give 'column' or 'position', not both") }
                    source = .column(try string(column, "column"))
                } else if let position = options["position"] {
                    let index = try int(position, "position")
                    guard index >= 0 else { throw fail(position, "position counts from 0") }
                    source = .position(index)
                } else {
                    throw fail(value, "field \(name) needs 'column' or 'position'")
                }
            }

            let typeNode = try required(options, "type", in: "field \(name)", at: value)
            let type = try fieldType(try string(typeNode, "type"), node: typeNode, options: options, field: name, lookups: lookups)
            let expected = kind
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

    func encoding(_ node: Node?) throws(MappingError) -> TextEncoding {
        guard let node else { return .utf8 }
        guard let encoding = TextEncoding(rawValue: try string(node, "encoding").lowercased()) else {
            throw fail(node, "encoding must be one of \(TextEncoding.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return encoding
    }

    func byte(_ node: Node?, _ what: String) throws(MappingError) -> UInt8 {
        let text = try string(node, what)
        if text == "\\t" || text.lowercased() == "tab" { return 9 }
        guard text.utf8.count == 1, let byte = text.utf8.first, byte < 0x80, byte != 10, byte != 13 else {
            throw fail(node, "\(what) must be a single ASCII character (or 'tab')")
        }
        return byte
    }

    func blankLines(_ node: Node?) throws(MappingError) -> BlankLines {
        guard let node else { return .skip }
        switch try string(node, "blankLines") {
        case "skip": return .skip
        case "report": return .report
        default: throw fail(node, "blankLines must be skip or report")
        }
    }

    mutating func format(
        _ node: Node, schema: RecordSchema, lookups: [String: (table: LookupTable, line: Int)], fields: inout [FieldSpec]
    ) throws(MappingError) -> FileFormat {
        let kindNode = try required(
            try entries(
                node,
                allowed: [
                    "kind", "encoding", "delimiter", "quote", "header", "preamble", "null", "trim", "blankLines", "fieldCounts", "trailer",
                    "lineLength", "ragged", "discriminator", "recordTypes", "controlTotals",
                ], what: "format"), "kind", in: "format", at: node)
        let options = try entries(
            node,
            allowed: [
                "kind", "encoding", "delimiter", "quote", "header", "preamble", "null", "trim", "blankLines", "fieldCounts", "trailer",
                "lineLength", "ragged", "discriminator", "recordTypes", "controlTotals",
            ], what: "format")
        switch try string(kindNode, "format.kind") {
        case "delimited":
            for key in ["lineLength", "ragged", "discriminator", "recordTypes", "controlTotals"] where options[key] != nil {
                throw fail(options[key], "format.\(key) is for fixed-width files")
            }
            var layout = DelimitedLayout()
            layout.encoding = try encoding(options["encoding"])
            if let delimiter = options["delimiter"] { layout.delimiter = try byte(delimiter, "delimiter") }
            if let quote = options["quote"] { layout.quote = try string(quote, "quote") == "none" ? nil : try byte(quote, "quote") }
            if let header = options["header"] { layout.hasHeader = try bool(header, "header") }
            if let preamble = options["preamble"] {
                let spec = try entries(preamble, allowed: ["lines", "matching"], what: "preamble")
                if let lines = spec["lines"] {
                    layout.preamble = .lines(try int(lines, "preamble.lines"))
                } else if let text = spec["matching"] {
                    layout.preamble = .matching(try string(text, "preamble.matching"))
                } else {
                    throw fail(preamble, "preamble needs lines or matching")
                }
            }
            if let null = options["null"] { layout.nullLiteral = try string(null, "null") }
            if let trim = options["trim"] { layout.trim = try bool(trim, "trim") }
            layout.blankLines = try blankLines(options["blankLines"])
            if let trailer = options["trailer"] {
                let spec = try entries(trailer, allowed: ["prefix", "countField", "sumField", "sumOfField"], what: "trailer")
                layout.trailer = DelimitedTrailer(
                    prefix: try string(required(spec, "prefix", in: "trailer", at: trailer), "trailer.prefix"),
                    countField: try int(required(spec, "countField", in: "trailer", at: trailer), "trailer.countField"),
                    sumField: try spec["sumField"].map { node throws(MappingError) in try int(node, "sumField") },
                    sumOfField: try spec["sumOfField"].map { node throws(MappingError) in try int(node, "sumOfField") }
                )
            }
            var counts: [Int]?
            if let node = options["fieldCounts"] {
                counts = []
                for text in try strings(node, "fieldCounts") {
                    guard let count = Int(text), count > 0 else { throw fail(node, "fieldCounts must be positive whole numbers") }
                    counts?.append(count)
                }
            }
            return .delimited(layout, fieldCounts: counts)
        case "fixed-width":
            for key in ["delimiter", "quote", "header", "preamble", "null", "fieldCounts", "trailer"] where options[key] != nil {
                throw fail(options[key], "format.\(key) is for delimited files")
            }
            var layout = FixedWidthLayout()
            layout.encoding = try encoding(options["encoding"])
            if let length = options["lineLength"] { layout.lineLength = try int(length, "lineLength") }
            if let ragged = options["ragged"] { layout.strictLength = !(try bool(ragged, "ragged")) }
            if let trim = options["trim"] { layout.trim = try bool(trim, "trim") }
            layout.blankLines = try blankLines(options["blankLines"])
            if let discriminator = options["discriminator"] { layout.discriminator = try columns(discriminator, "discriminator") }
            let typesNode = try required(options, "recordTypes", in: "a fixed-width format", at: node)
            guard let sequence = typesNode.sequence, !sequence.isEmpty else { throw fail(typesNode, "recordTypes must be a non-empty list") }
            var types: [FixedWidthRecordType] = []
            var fieldsByType: [String: [FieldSpec]] = [:]
            var continuationOf: [String: (flag: ColumnRange, value: String, type: String, match: [String], node: Node)] = [:]
            for item in sequence {
                let spec = try entries(item, allowed: ["code", "role", "fields", "continuation"], what: "a record type")
                let code = try string(required(spec, "code", in: "a record type", at: item), "code")
                if let discriminator = layout.discriminator, code.count != discriminator.width {
                    throw fail(spec["code"], "record type code '\(code)' must be \(discriminator.width) characters, the discriminator's width")
                }
                let role: FixedWidthRecordType.Role
                switch try spec["role"].map({ node throws(MappingError) in try string(node, "role") }) ?? "data" {
                case "data": role = .data
                case "header": role = .header
                case "trailer": role = .trailer
                case "continuation": role = .continuation
                case let other: throw fail(spec["role"], "unknown role '\(other)' (data, header, trailer, continuation)")
                }
                var typeFields: [FieldSpec] = []
                if let fieldsNode = spec["fields"] {
                    if role == .data || role == .continuation {
                        typeFields = try fieldSpecs(fieldsNode, schema: schema, lookups: lookups, recordType: code, sourceKind: .columns)
                    } else {
                        typeFields = try plainColumns(fieldsNode, recordType: code)
                    }
                }
                for field in typeFields {
                    if case .columns(let range, _) = field.source, let length = layout.lineLength, range.last > length {
                        throw fail(
                            fieldsNode(spec),
                            "field \(field.name) of record type '\(code)' ends at column \(range.last), past the line length \(length)")
                    }
                }
                fieldsByType[code] = typeFields
                if let continuation = spec["continuation"] {
                    let values = try entries(continuation, allowed: ["flag", "value", "type", "match"], what: "continuation")
                    continuationOf[code] = (
                        try columns(required(values, "flag", in: "continuation", at: continuation), "continuation.flag"),
                        try string(required(values, "value", in: "continuation", at: continuation), "continuation.value"),
                        try string(required(values, "type", in: "continuation", at: continuation), "continuation.type"),
                        try strings(values["match"], "continuation.match"),
                        continuation
                    )
                }
                types.append(
                    FixedWidthRecordType(
                        code: code, role: role,
                        fields: typeFields.map { field in
                            guard case .columns(let range, _) = field.source else { preconditionFailure("fixed-width fields have columns") }
                            return FixedWidthField(name: field.name, columns: range)
                        }, continuation: nil))
            }
            // Continuations: a data type's record is its own fields followed by its continuation type's.
            for index in types.indices {
                let code = types[index].code
                guard let link = continuationOf[code] else { continue }
                guard let target = types.first(where: { $0.code == link.type }), target.role == .continuation else {
                    throw fail(link.node, "record type '\(code)' continues with '\(link.type)', which is not a record type with role continuation")
                }
                for name in link.match
                where !types[index].fields.contains(where: { $0.name == name }) || !target.fields.contains(where: { $0.name == name }) {
                    throw fail(link.node, "continuation match field '\(name)' must be a field of both '\(code)' and '\(link.type)'")
                }
                types[index].continuation = Continuation(flag: link.flag, flagValue: link.value, typeCode: link.type, matchFields: link.match)
                let own = fieldsByType[code] ?? []
                let joined = (fieldsByType[link.type] ?? []).enumerated().compactMap { offset, field -> FieldSpec? in
                    guard !own.contains(where: { $0.name == field.name }), case .columns(let range, _) = field.source else { return nil }
                    var joinedField = FieldSpec(
                        name: field.name, source: .columns(range, index: own.count + offset), recordType: code,
                        type: field.type, required: field.required, pii: field.pii, onInvalid: field.onInvalid, line: field.line)
                    joinedField.fromContinuation = true
                    return joinedField
                }
                fieldsByType[code] = own + joined
            }
            layout.recordTypes = types
            fields = types.filter { $0.role == .data }.flatMap { fieldsByType[$0.code] ?? [] }
            if let totals = options["controlTotals"] {
                let spec = try entries(totals, allowed: ["count", "sum", "sumOf"], what: "controlTotals")
                layout.controlTotals = ControlTotals(
                    countField: try string(required(spec, "count", in: "controlTotals", at: totals), "controlTotals.count"),
                    sumField: try spec["sum"].map { node throws(MappingError) in try string(node, "sum") },
                    sumOfField: try spec["sumOf"].map { node throws(MappingError) in try string(node, "sumOf") }
                )
            }
            return .fixedWidth(layout)
        case let other:
            throw fail(kindNode, "format.kind '\(other)' is not delimited or fixed-width")
        }
    }

    func fieldsNode(_ spec: [String: Node]) -> Node? { spec["fields"] }

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
