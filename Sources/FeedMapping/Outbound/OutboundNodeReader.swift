import DQTModel
import FlatFile
import Yams

/// A column as loaded, with where it was written for later checks.
struct LoadedColumn {
    let key: String
    let node: Node
    let column: OutboundColumn
    /// The line the column's key is written on (a fixed-width column's character columns), when known.
    var keyNode: Node? = nil

    func at(_ keyNode: Node) -> LoadedColumn {
        var copy = self
        copy.keyNode = keyNode
        return copy
    }
    var paths: [FieldPath] { column.value.paths }
    var pii: Bool { column.pii }
}

/// A layout as loaded: the layout, and its columns and record conditions with their nodes for located checks.
struct LoadedLayout {
    let layout: OutboundLayout
    let columns: [LoadedColumn]
    let conditions: [(OutboundCondition, Node, String)]
}

/// Walks an outbound mapping's YAML with the file name at hand; every error names the line and the key.
struct OutboundNodeReader {
    let file: String

    func fail(_ node: Node?, _ message: String) -> MappingError {
        MappingError(file: file, line: node?.mark?.line ?? 0, message: message)
    }

    /// A mapping node's entries in written order, refusing keys outside `allowed` (nil: any key).
    func ordered(_ node: Node, allowed: Set<String>?, what: String) throws(MappingError) -> [(key: String, keyNode: Node, value: Node)] {
        guard let mapping = node.mapping else { throw fail(node, "\(what): must be a mapping of keys to values") }
        var result: [(key: String, keyNode: Node, value: Node)] = []
        for (key, value) in mapping {
            guard let name = key.string else { throw fail(key, "\(what): keys must be text") }
            if let allowed, !allowed.contains(name) {
                throw fail(key, "\(what): unknown key '\(name)' (known: \(allowed.sorted().joined(separator: ", ")))")
            }
            guard !result.contains(where: { $0.key == name }) else { throw fail(key, "\(what): key '\(name)' appears twice") }
            result.append((name, key, value))
        }
        return result
    }

    func entries(_ node: Node, allowed: Set<String>, what: String) throws(MappingError) -> [String: Node] {
        var result: [String: Node] = [:]
        for entry in try ordered(node, allowed: allowed, what: what) { result[entry.key] = entry.value }
        return result
    }

    func string(_ node: Node?, _ what: String) throws(MappingError) -> String {
        guard let node, let value = node.scalar?.string else { throw fail(node, "\(what): must be text") }
        return value
    }

    func required(_ entries: [String: Node], _ key: String, in what: String, at node: Node) throws(MappingError) -> Node {
        guard let value = entries[key] else { throw fail(node, "\(what): needs '\(key)'") }
        return value
    }

    func strings(_ node: Node?, _ what: String) throws(MappingError) -> [String] {
        guard let node else { return [] }
        if let scalar = node.scalar { return [scalar.string] }
        guard let sequence = node.sequence else { throw fail(node, "\(what): must be a list") }
        var result: [String] = []
        for item in sequence { result.append(try string(item, what)) }
        return result
    }

    func bool(_ node: Node, _ what: String) throws(MappingError) -> Bool {
        switch node.scalar?.string.lowercased() {
        case "true", "yes": return true
        case "false", "no": return false
        default: throw fail(node, "\(what): must be true or false")
        }
    }

    func lookups(_ node: Node?) throws(MappingError) -> [String: [String: String]] {
        guard let node else { return [:] }
        var result: [String: [String: String]] = [:]
        for table in try ordered(node, allowed: nil, what: "lookups") {
            var entries: [String: String] = [:]
            for entry in try ordered(table.value, allowed: nil, what: "lookups.\(table.key)") {
                entries[entry.key] = try string(entry.value, "lookups.\(table.key).\(entry.key)")
            }
            result[table.key] = entries
        }
        return result
    }

    func input(_ node: Node) throws(MappingError) -> OutboundInput {
        let top = try entries(node, allowed: ["changes", "problems"], what: "input")
        guard top.count == 1 else { throw fail(node, "input: needs exactly one of changes or problems") }
        if let changes = top["changes"] {
            let entries = try entries(changes, allowed: ["kinds"], what: "input.changes")
            let kindsNode = try required(entries, "kinds", in: "input.changes", at: changes)
            let kinds = try strings(kindsNode, "input.changes.kinds")
            guard !kinds.isEmpty else { throw fail(kindsNode, "input.changes.kinds: name at least one kind") }
            for kind in kinds where ChangeVocabulary.kinds[kind] == nil {
                throw fail(
                    kindsNode, "input.changes.kinds: unknown kind '\(kind)' (known: \(ChangeVocabulary.kinds.keys.sorted().joined(separator: ", ")))")
            }
            return .changes(kinds: kinds, fields: [])
        }
        let problems = top["problems"]!
        let entries = try entries(problems, allowed: ["feed"], what: "input.problems")
        return .problems(feed: try string(required(entries, "feed", in: "input.problems", at: problems), "input.problems.feed"))
    }

    /// Refuses a field the input does not carry: a document field no wanted kind has, or an unknown item field.
    func check(_ path: FieldPath, against input: OutboundInput, at node: Node?, key: String) throws(MappingError) {
        switch (input, path) {
        case (.problems, .item(let name)):
            guard ChangeVocabulary.problemFields.contains(name) else {
                throw fail(
                    node, "\(key): unknown field '\(name)' (a problem row has: \(ChangeVocabulary.problemFields.sorted().joined(separator: ", ")))")
            }
        case (.problems, _):
            throw fail(node, "\(key): '\(path)': a problem row has no before or after document")
        case (.changes, .item(let name)):
            guard ChangeVocabulary.itemFields.contains(name) else {
                throw fail(
                    node,
                    "\(key): unknown field '\(name)' (a change has: \(ChangeVocabulary.itemFields.sorted().joined(separator: ", ")), before.*, after.*)"
                )
            }
        case (.changes(let kinds, _), _):
            for kind in kinds {
                guard let known = ChangeVocabulary.kinds[kind] ?? nil, known.contains(path.name) else {
                    throw fail(node, "\(key): unknown field '\(path)' for kind \(kind)")
                }
            }
        }
    }

    /// `excludeKeys`, `in`, `present` and `changed`: every one must hold for an item to be kept.
    func filter(_ node: Node?) throws(MappingError) -> OutboundFilter {
        var filter = OutboundFilter()
        guard let node else { return filter }
        var conditionEntries: [(key: String, keyNode: Node, value: Node)] = []
        for entry in try ordered(node, allowed: ["excludeKeys", "in", "present", "changed"], what: "filter") {
            if entry.key == "excludeKeys" {
                filter.excludeKeys = try strings(entry.value, "filter.excludeKeys")
            } else {
                conditionEntries.append(entry)
            }
        }
        for entry in conditionEntries { filter.conditions += try conditions(entry.key, entry.value, what: "filter") }
        return filter
    }

    func conditions(_ key: String, _ value: Node, what: String) throws(MappingError) -> [OutboundCondition] {
        switch key {
        case "in":
            var result: [OutboundCondition] = []
            for entry in try ordered(value, allowed: nil, what: "\(what).in") {
                result.append(.oneOf(FieldPath(entry.key), try strings(entry.value, "\(what).in.\(entry.key)")))
            }
            return result
        case "present": return [.present(FieldPath(try string(value, "\(what).present")))]
        default: return [.changed(try strings(value, "\(what).changed"))]
        }
    }
}
