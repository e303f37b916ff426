import FlatFile
import Yams

/// A column as read, with how to make its fixed-width column once its character columns are known.
struct ParsedColumn {
    let loaded: LoadedColumn
    let fixedWidth: ((ColumnRange) -> FixedWidthColumn)?
}

extension OutboundNodeReader {
    func layout(_ node: Node, lookups: [String: [String: String]]) throws(MappingError) -> LoadedLayout {
        let e = try entries(
            node,
            allowed: ["kind", "encoding", "lineEnd", "finalNewline", "lineLength", "records", "header", "delimiter", "quoting", "columns"],
            what: "layout")
        let kind = try string(required(e, "kind", in: "layout", at: node), "layout.kind")
        let encodingNode = try required(e, "encoding", in: "layout", at: node)
        guard let encoding = TextEncoding(rawValue: try string(encodingNode, "layout.encoding")) else {
            throw fail(encodingNode, "layout.encoding: must be one of \(TextEncoding.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let lineEndNode = try required(e, "lineEnd", in: "layout", at: node)
        guard let lineEnd = LineEnd(rawValue: try string(lineEndNode, "layout.lineEnd")) else {
            throw fail(lineEndNode, "layout.lineEnd: must be crlf or lf")
        }
        let finalNewline = try e["finalNewline"].map { (n) throws(MappingError) in try bool(n, "layout.finalNewline") } ?? true
        var columns: [LoadedColumn] = []
        var conditions: [(OutboundCondition, Node, String)] = []
        let shape: OutboundLayout.Shape
        switch kind {
        case "fixed-width":
            for key in ["header", "delimiter", "quoting", "columns"] where e[key] != nil {
                throw fail(e[key], "layout.\(key): a fixed-width layout declares its columns under records")
            }
            let lengthNode = try required(e, "lineLength", in: "layout", at: node)
            guard let lineLength = Int(try string(lengthNode, "layout.lineLength")), lineLength > 0 else {
                throw fail(lengthNode, "layout.lineLength: must be a whole number of characters")
            }
            let recordsNode = try required(e, "records", in: "layout", at: node)
            guard let sequence = recordsNode.sequence, !sequence.isEmpty else { throw fail(recordsNode, "layout.records: must be a list") }
            var records: [OutboundRecordType] = []
            for (index, recordNode) in sequence.enumerated() {
                let what = "layout.records[\(index)]"
                let r = try entries(recordNode, allowed: ["name", "when", "columns"], what: what)
                let name = try string(required(r, "name", in: what, at: recordNode), "\(what).name")
                var when: OutboundCondition?
                if let whenNode = r["when"] {
                    let w = try ordered(whenNode, allowed: ["in", "present", "changed"], what: "\(what).when")
                    var found: [OutboundCondition] = []
                    for entry in w { found += try self.conditions(entry.key, entry.value, what: "\(what).when") }
                    guard found.count == 1 else { throw fail(whenNode, "\(what).when: needs exactly one condition") }
                    when = found[0]
                    conditions.append((found[0], whenNode, "\(what).when"))
                }
                let columnsNode = try required(r, "columns", in: what, at: recordNode)
                var loaded: [(range: ColumnRange, parsed: ParsedColumn)] = []
                for entry in try ordered(columnsNode, allowed: nil, what: "\(what).columns") {
                    guard let range = ColumnRange(parsing: entry.key) else {
                        throw fail(entry.keyNode, "\(what).columns: '\(entry.key)' must be 1-based columns like 1-7 or 42")
                    }
                    let parsed = try column(entry.key, entry.value, lookups: lookups, what: "\(what).columns.\(entry.key)", fixedWidth: true)
                    loaded.append((range, ParsedColumn(loaded: parsed.loaded.at(entry.keyNode), fixedWidth: parsed.fixedWidth)))
                }
                if let problem = FixedWidthLineFormat.problems(lineLength: lineLength, columns: loaded.map(\.range)).first {
                    let column = loaded[problem.column].parsed.loaded
                    throw fail(column.keyNode, "\(column.key): \(problem.message)")
                }
                loaded.sort { $0.range.first < $1.range.first }
                let format: FixedWidthLineFormat
                do {
                    format = try FixedWidthLineFormat(lineLength: lineLength, columns: loaded.map { $0.parsed.fixedWidth!($0.range) })
                } catch {
                    throw fail(columnsNode, "\(what).columns: \(error)")
                }
                records.append(OutboundRecordType(name: name, when: when, format: format, columns: loaded.map(\.parsed.loaded.column)))
                columns += loaded.map(\.parsed.loaded)
            }
            shape = .fixedWidth(lineLength: lineLength, records: records)
        case "delimited":
            for key in ["lineLength", "records"] where e[key] != nil {
                throw fail(e[key], "layout.\(key): a delimited layout declares its columns under columns")
            }
            let header = try e["header"].map { (n) throws(MappingError) in try bool(n, "layout.header") } ?? true
            let delimiterText = try e["delimiter"].map { (n) throws(MappingError) in try string(n, "layout.delimiter") } ?? ","
            guard delimiterText.unicodeScalars.count == 1, let delimiter = delimiterText.unicodeScalars.first,
                !"\"\r\n".unicodeScalars.contains(delimiter)
            else { throw fail(e["delimiter"], "layout.delimiter: must be one character other than a quote or a line break") }
            let quotingText = try e["quoting"].map { (n) throws(MappingError) in try string(n, "layout.quoting") } ?? "minimal"
            guard let quoting = Quoting(rawValue: quotingText) else { throw fail(e["quoting"], "layout.quoting: must be minimal or all") }
            let columnsNode = try required(e, "columns", in: "layout", at: node)
            for entry in try ordered(columnsNode, allowed: nil, what: "layout.columns") {
                columns.append(try column(entry.key, entry.value, lookups: lookups, what: "layout.columns.\(entry.key)", fixedWidth: false).loaded)
            }
            guard !columns.isEmpty else { throw fail(columnsNode, "layout.columns: name at least one column") }
            shape = .delimited(columns: columns.map(\.column), header: header, delimiter: delimiter, quoting: quoting)
        default:
            throw fail(e["kind"], "layout.kind: must be fixed-width or delimited")
        }
        return LoadedLayout(
            layout: OutboundLayout(shape: shape, encoding: encoding, lineEnd: lineEnd, finalNewline: finalNewline), columns: columns,
            conditions: conditions)
    }

    /// A column: `blank` (spaces), or a mapping with one source (`field`, `value`, `join`, `flag` + `value`) and
    /// options (`lookup`, `date`, `default`, `pii`; fixed width: `align`, `pad`, `truncate`).
    func column(
        _ key: String, _ node: Node, lookups: [String: [String: String]], what: String, fixedWidth: Bool
    ) throws(MappingError) -> ParsedColumn {
        let name = key
        if fixedWidth, node.scalar?.string == "blank" {
            let column = OutboundColumn(name: name, value: OutboundValue(source: .constant(""), lookup: nil, date: nil, defaultText: nil), pii: false)
            return ParsedColumn(loaded: LoadedColumn(key: what, node: node, column: column)) { FixedWidthColumn(name: name, columns: $0) }
        }
        var allowed: Set<String> = ["field", "value", "join", "flag", "lookup", "date", "default", "pii"]
        if fixedWidth { allowed.formUnion(["align", "pad", "truncate"]) }
        let e = try entries(node, allowed: allowed, what: what)
        let source: OutboundValue.Source
        let sources = ["field", "join", "flag"].filter { e[$0] != nil }
        if sources.count > 1 { throw fail(node, "\(what): use one of field, join or flag") }
        if let flag = e["flag"] {
            source = .flag(FieldPath(try string(flag, "\(what).flag")), text: try string(required(e, "value", in: what, at: node), "\(what).value"))
        } else if e["value"] != nil && !sources.isEmpty {
            throw fail(e["value"], "\(what).value: a constant column has no field (value goes with flag or alone)")
        } else if let field = e["field"] {
            source = .field(FieldPath(try string(field, "\(what).field")))
        } else if let join = e["join"] {
            source = .join(try strings(join, "\(what).join").map(FieldPath.init))
        } else if let value = e["value"] {
            source = .constant(try string(value, "\(what).value"))
        } else {
            throw fail(node, "\(what): needs field, join, flag or value (or `blank`)")
        }
        var lookup: [String: String]?
        if let lookupNode = e["lookup"] {
            let lookupName = try string(lookupNode, "\(what).lookup")
            guard let table = lookups[lookupName] else { throw fail(lookupNode, "\(what).lookup: unknown lookup '\(lookupName)'") }
            lookup = table
        }
        var date: TimestampPattern?
        if let dateNode = e["date"] {
            guard let pattern = TimestampPattern(try string(dateNode, "\(what).date")) else {
                throw fail(dateNode, "\(what).date: unknown date layout (tokens: yyyy yy MM dd HH mm ss)")
            }
            date = pattern
        }
        let defaultText = try e["default"].map { (n) throws(MappingError) in try string(n, "\(what).default") }
        let pii = try e["pii"].map { (n) throws(MappingError) in try bool(n, "\(what).pii") } ?? false
        let column = OutboundColumn(name: name, value: OutboundValue(source: source, lookup: lookup, date: date, defaultText: defaultText), pii: pii)
        let loaded = LoadedColumn(key: what, node: node, column: column)
        guard fixedWidth else { return ParsedColumn(loaded: loaded, fixedWidth: nil) }
        let alignText = try e["align"].map { (n) throws(MappingError) in try string(n, "\(what).align") } ?? "left"
        guard let alignment = FixedWidthColumn.Alignment(rawValue: alignText) else { throw fail(e["align"], "\(what).align: must be left or right") }
        let padText = try e["pad"].map { (n) throws(MappingError) in try string(n, "\(what).pad") } ?? " "
        guard padText.unicodeScalars.count == 1, let pad = padText.unicodeScalars.first else {
            throw fail(e["pad"], "\(what).pad: must be one character")
        }
        let truncate = try e["truncate"].map { (n) throws(MappingError) in try bool(n, "\(what).truncate") } ?? false
        return ParsedColumn(loaded: loaded) { FixedWidthColumn(name: name, columns: $0, alignment: alignment, pad: pad, truncate: truncate) }
    }

    func destination(_ node: Node) throws(MappingError) -> OutboundDestination {
        let e = try entries(node, allowed: ["sftp", "folder", "mailOutbox"], what: "destination")
        guard e.count == 1 else { throw fail(node, "destination: needs exactly one of sftp, folder or mailOutbox") }
        if let sftp = e["sftp"] { return .sftp(folder: try string(sftp, "destination.sftp")) }
        if let folder = e["folder"] { return .folder(path: try string(folder, "destination.folder")) }
        let mail = e["mailOutbox"]!
        let m = try entries(mail, allowed: ["to", "subject"], what: "destination.mailOutbox")
        let toNode = try required(m, "to", in: "destination.mailOutbox", at: mail)
        let to = try strings(toNode, "destination.mailOutbox.to")
        for address in to where !address.contains("@") || address.contains(" ") {
            throw fail(toNode, "destination.mailOutbox.to: '\(address)' is not an email address")
        }
        guard !to.isEmpty else { throw fail(toNode, "destination.mailOutbox.to: name at least one address") }
        return .mailOutbox(to: to, subject: try m["subject"].map { (n) throws(MappingError) in try string(n, "destination.mailOutbox.subject") })
    }

    func schedule(_ node: Node) throws(MappingError) -> OutboundSchedule {
        let e = try entries(node, allowed: ["daily", "afterEachFile"], what: "schedule")
        guard e.count == 1 else { throw fail(node, "schedule: needs exactly one of daily or afterEachFile") }
        if let feed = e["afterEachFile"] { return .afterEachFile(feed: try string(feed, "schedule.afterEachFile")) }
        let text = try string(e["daily"], "schedule.daily")
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 }), let hour = Int(parts[0]), let minute = Int(parts[1]), (0..<24).contains(hour),
            (0..<60).contains(minute)
        else { throw fail(e["daily"], "schedule.daily: must be a time of day HH:mm") }
        return .daily(hour: hour, minute: minute)
    }
}
