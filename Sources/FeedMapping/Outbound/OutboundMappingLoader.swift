import DQTModel
import FlatFile
import Foundation
public import Yams

/// Reads and checks outbound mappings (`direction: outbound`). Every name a mapping uses (kinds, document fields,
/// lookups, columns, destinations, schedules) is checked when it loads; a mistake fails at once, located by file,
/// line and key.
public enum OutboundMappingLoader {
    static let topKeys: Set<String> = [
        "id", "direction", "title", "partner", "replaces", "status", "notes", "input", "filter", "layout", "lookups", "fileName",
        "destination", "schedule", "emptyFile",
    ]

    public static func parse(_ root: Node, file: String) throws(MappingError) -> OutboundFeedDefinition {
        let r = OutboundNodeReader(file: file)
        let top = try r.entries(root, allowed: topKeys, what: "the mapping")
        let id = try r.string(r.required(top, "id", in: "the mapping", at: root), "id")
        let expectedID = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        guard id == expectedID else { throw r.fail(top["id"], "id: '\(id)' must equal the file's name '\(expectedID)'") }
        guard id.utf8.allSatisfy({ ASCII.isLower($0) || ASCII.isDigit($0) || $0 == UInt8(ascii: "-") }) else {
            throw r.fail(top["id"], "id: use a-z, 0-9 and '-' only")
        }
        let statusNode = try r.required(top, "status", in: "the mapping", at: root)
        guard let status = FeedStatus(rawValue: try r.string(statusNode, "status")) else {
            throw r.fail(statusNode, "status: must be one of \(FeedStatus.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let lookups = try r.lookups(top["lookups"])
        let inputNode = try r.required(top, "input", in: "the mapping", at: root)
        let inputShape = try r.input(inputNode)
        let layoutNode = try r.required(top, "layout", in: "the mapping", at: root)
        let layout = try r.layout(layoutNode, lookups: lookups)
        let filter = try r.filter(top["filter"])

        // Every field the filter and layout read must exist in what the input carries.
        var used: [(path: FieldPath, node: Node?, key: String)] = filter.conditions.flatMap { condition in
            paths(of: condition).map { ($0, top["filter"], "filter") }
        }
        used += layout.columns.flatMap { column in column.paths.map { ($0, column.node, column.key) } }
        used += layout.conditions.flatMap { condition, node, key in paths(of: condition).map { ($0, node, key) } }
        var fields: Set<String> = []
        for (path, node, key) in used {
            try r.check(path, against: inputShape, at: node, key: key)
            if case .item = path {} else { fields.insert(path.name) }
        }
        if case .problems = inputShape, !filter.excludeKeys.isEmpty {
            throw r.fail(top["filter"], "filter.excludeKeys: problems have no API key to exclude")
        }
        // A flag column tells only whether a value is there, so it shows no personal data.
        for column in layout.columns {
            if case .flag = column.column.value.source { continue }
            let personal = column.paths.contains { path in
                if case .item = path { return false }
                return ChangeVocabulary.personalData.contains(path.name)
            }
            if personal && !column.pii { throw r.fail(column.node, "\(column.key): shows personal data, so it needs pii: true") }
        }
        let input: OutboundInput
        switch inputShape {
        case .changes(let kinds, _): input = .changes(kinds: kinds, fields: fields)
        case .problems: input = inputShape
        }

        let fileNameNode = try r.required(top, "fileName", in: "the mapping", at: root)
        let fileName = try r.string(fileNameNode, "fileName")
        let bad = TimestampPattern.badTokens(in: fileName)
        guard bad.isEmpty, !fileName.contains("/"), !fileName.isEmpty else {
            throw r.fail(
                fileNameNode,
                "fileName: \(bad.isEmpty ? "a name, not a path" : "unknown token \(bad.joined(separator: ", ")) (known: yyyy yy MM dd HH mm ss)")")
        }
        let destination = try r.destination(r.required(top, "destination", in: "the mapping", at: root))
        let schedule = try r.schedule(r.required(top, "schedule", in: "the mapping", at: root))
        if case .afterEachFile = schedule, case .changes = input {
            throw r.fail(top["schedule"], "schedule.afterEachFile: only a problems feed follows an inbound file; changes run daily")
        }
        var emptyFile = EmptyFilePolicy.skip
        if let node = top["emptyFile"] {
            guard let policy = EmptyFilePolicy(rawValue: try r.string(node, "emptyFile")) else {
                throw r.fail(node, "emptyFile: must be skip or write")
            }
            emptyFile = policy
        }
        return OutboundFeedDefinition(
            id: id, title: try r.string(r.required(top, "title", in: "the mapping", at: root), "title"),
            partner: try r.string(r.required(top, "partner", in: "the mapping", at: root), "partner"),
            replaces: try InventoryID.replaces(top["replaces"], at: root, file: file), status: status, input: input,
            filter: filter, layout: layout.layout, fileNamePattern: fileName, destination: destination, schedule: schedule,
            emptyFile: emptyFile, mappingFile: file)
    }

    static func paths(of condition: OutboundCondition) -> [FieldPath] {
        switch condition {
        case .oneOf(let path, _), .present(let path): [path]
        case .changed(let names): names.flatMap { [FieldPath.before($0), .after($0)] }
        }
    }
}
