import DQTModel
import FlatFile
import Foundation
import Yams

extension NodeReader {
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
}
