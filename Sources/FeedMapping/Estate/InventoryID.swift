import Yams

/// The ids of the estate inventory's entries (`mappings/estate/inventory.yaml`): the legacy job's or exchange's name in
/// lower kebab case (`tp-import`, `email-dbs-notices`), as every mapping's `replaces:` names them.
enum InventoryID {
    static func isValid(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard let first = bytes.first, first >= UInt8(ascii: "a"), first <= UInt8(ascii: "z"), bytes.last != UInt8(ascii: "-") else {
            return false
        }
        return bytes.allSatisfy {
            ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "-")
        }
            && !id.contains("--")
    }

    /// A mapping's `replaces:` (required): one inventory entry id or a list of them, checked for form here and against
    /// the inventory by `mappings lint`.
    static func replaces(_ node: Node?, at root: Node, file: String) throws(MappingError) -> [String] {
        func fail(_ node: Node?, _ message: String) -> MappingError { MappingError(file: file, line: node?.mark?.line ?? 0, message: message) }
        guard let node else { throw fail(root, "the mapping needs 'replaces' (the estate inventory entries it replaces)") }
        var ids: [String] = []
        if let scalar = node.scalar {
            ids = [scalar.string]
        } else if let sequence = node.sequence {
            for item in sequence {
                guard let id = item.scalar?.string else { throw fail(item, "replaces: each item must be an inventory entry id") }
                ids.append(id)
            }
        } else {
            throw fail(node, "replaces: must be an inventory entry id or a list of them")
        }
        guard !ids.isEmpty else { throw fail(node, "replaces: name at least one inventory entry") }
        for id in ids where !isValid(id) {
            throw fail(node, "replaces: '\(id)' is not an inventory entry id (lower kebab case, e.g. tp-import; see mappings/estate/inventory.yaml)")
        }
        return ids
    }
}
