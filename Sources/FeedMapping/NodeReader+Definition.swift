import DQTModel
import FlatFile
import Foundation
import Yams

extension NodeReader {
    mutating func definition(_ root: Node) throws(MappingError) -> FeedDefinition {
        let top = try entries(
            root,
            allowed: [
                "id", "title", "partner", "replaces", "status", "record", "files", "source", "email", "format", "fields",
                "lookups", "rules", "unique", "operation", "notes", "direction", "due", "promotion", "retirement",
                "reconcile",
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
        var record: RecordTypeName?
        if let recordNode = top["record"] {
            guard let name = RecordTypeName(rawValue: try string(recordNode, "record")) else {
                throw fail(recordNode, "unknown record type (known: \(RecordTypeName.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            record = name
        }
        var schema = record?.schema ?? RecordSchema.declaredFields
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
        if record == nil { schema = RecordSchema(declaring: fields) }
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
        let operationEntries = try entries(operationNode, allowed: ["method", "path", "body"], what: "operation")
        let method = try string(required(operationEntries, "method", in: "operation", at: operationNode), "operation.method")
        let path = try string(required(operationEntries, "path", in: "operation", at: operationNode), "operation.path")
        guard let operation = OperationTemplate(method: method, path: path) else {
            throw fail(operationNode, "operation needs a method (GET, PUT, POST, PATCH, DELETE) and a path starting with /")
        }
        for placeholder in operation.placeholders where !schema.pathParameters.contains(placeholder) {
            let filler = record == nil ? "no mapped field is named" : "record \(schema.name) cannot fill"
            throw fail(
                operationEntries["path"],
                "\(filler) '{\(placeholder)}' (\(record == nil ? "mapped" : "it fills"): \(schema.pathParameters.sorted().joined(separator: ", ")))")
        }
        let body = try declaredBody(
            operationEntries, operation: operation, at: operationNode, record: record, fields: fields, lookups: lookups)

        let emailSettings = try email(top["email"])
        if emailSettings == nil, let field = fields.first(where: { if case .email = $0.source { true } else { false } }) {
            throw MappingError(
                file: file, line: field.line, message: "field \(field.name): only an email feed (with email:) can read \(field.source)")
        }
        try checkPartnerLookups(fields, senders: emailSettings?.senders ?? [])

        let filesNode = try required(top, "files", in: "the mapping", at: root)
        let filePatterns = try strings(filesNode, "files")
        guard !filePatterns.isEmpty else { throw fail(filesNode, "files needs at least one file name pattern") }

        return FeedDefinition(
            id: id,
            title: try string(required(top, "title", in: "the mapping", at: root), "title"),
            partner: try string(required(top, "partner", in: "the mapping", at: root), "partner"),
            replaces: try InventoryID.replaces(top["replaces"], at: root, file: file),
            status: status,
            record: record,
            body: body,
            slotNames: schema.fieldNames,
            filePatterns: filePatterns,
            source: try source(top["source"]),
            email: emailSettings,
            format: format,
            fields: fields,
            rules: rules,
            uniqueKey: uniqueKey,
            operation: operation,
            due: try due(top["due"]),
            lifecycle: try lifecycle(promotion: top["promotion"], retirement: top["retirement"]),
            mappingFile: file,
            reconcile: try reconcile(top["reconcile"], record: record, operation: operation)
        )
    }

    /// A partner worked out from the sender's domain through a lookup: every domain the feed allows must give one, or
    /// every row of that partner's notices would be rejected.
    private func checkPartnerLookups(_ fields: [FieldSpec], senders: [String]) throws(MappingError) {
        for field in fields {
            guard case .email(.senderDomain) = field.source, case .lookup(let table) = field.type else { continue }
            for entry in senders {
                let domain = String(entry.split(separator: "@", omittingEmptySubsequences: false).last ?? "").lowercased()
                guard table.resolve(domain) == nil else { continue }
                throw MappingError(
                    file: file, line: field.line,
                    message: "field \(field.name): email.senders allows \(domain), which lookup \(table.name) does not map")
            }
        }
    }
}
