import DQTModel
import FlatFile
import Foundation
import Yams

/// Walks the YAML tree with the file name at hand for located errors.
struct NodeReader {
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
                throw fail(
                    key,
                    "unknown key '\(name)' in \(what)\(NearestName.hint(for: name, among: allowed)) (known: \(allowed.sorted().joined(separator: ", ")))"
                )
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
}
