import Foundation

/// Checks the estate inventory against the mappings, both ways: every legacy job and exchange has an entry
/// (``LegacyEstate``), every feed an entry names exists and names the entry back in its `replaces:`, every id a feed's
/// `replaces:` names is an entry, and a planned feed is not in the mappings yet (when it lands, move it to `feeds`).
public enum EstateLint {
    /// Every mistake, located in the inventory or the mapping. `brokenFeeds` are mappings that do not load: they
    /// exist, but what they replace cannot be read.
    public static func check(_ inventory: EstateInventory, catalog: FeedCatalog, brokenFeeds: Set<String> = []) -> [MappingError] {
        var errors: [MappingError] = []
        func inventoryError(_ line: Int, _ message: String) { errors.append(MappingError(file: inventory.file, line: line, message: message)) }

        for server in LegacyEstate.servers where inventory.server(id: server) == nil {
            inventoryError(1, "servers: the legacy server '\(server)' has no entry")
        }
        for (id, kind) in LegacyEstate.required {
            guard let entry = inventory.entry(id: id) else {
                inventoryError(1, "entries: the legacy \(kind == .ssisJob ? "SSIS job" : "\(kind.rawValue) exchange") '\(id)' has no entry")
                continue
            }
            if entry.kind != kind { inventoryError(entry.line, "entry \(id): kind must be \(kind.rawValue)") }
        }

        var replaces: [String: (ids: [String], file: String, legacy: Bool)] = [:]
        for feed in catalog.feeds { replaces[feed.id] = (feed.replaces, feed.mappingFile, feed.status == .legacy) }
        for feed in catalog.outboundFeeds { replaces[feed.id] = (feed.replaces, feed.mappingFile, feed.status == .legacy) }
        let known = Set(replaces.keys).union(brokenFeeds)

        for entry in inventory.entries {
            for feed in entry.feeds {
                guard known.contains(feed) else {
                    inventoryError(
                        entry.line,
                        "entry \(entry.id): feeds names '\(feed)', which no mapping defines\(NearestName.hint(for: feed, among: known))")
                    continue
                }
                if let named = replaces[feed], !named.ids.contains(entry.id) {
                    inventoryError(
                        entry.line, "entry \(entry.id): feed '\(feed)' does not name it in its replaces (\(named.ids.joined(separator: ", ")))")
                }
            }
            for feed in entry.planned where known.contains(feed) {
                inventoryError(entry.line, "entry \(entry.id): planned feed '\(feed)' is in the mappings now: move it to feeds")
            }
        }

        let entryIDs = Set(inventory.entries.map(\.id))
        for (feed, named) in replaces.sorted(by: { $0.key < $1.key }) {
            let line = replacesLine(in: named.file)
            for id in named.ids {
                guard let entry = inventory.entry(id: id) else {
                    errors.append(
                        MappingError(
                            file: named.file, line: line,
                            message: "replaces: '\(id)' is no entry of the estate inventory\(NearestName.hint(for: id, among: entryIDs))"))
                    continue
                }
                // A legacy feed (a draft, or one not started) may name its entry before the entry names it.
                if !named.legacy && !entry.feeds.contains(feed) && !entry.planned.contains(feed) {
                    errors.append(
                        MappingError(
                            file: named.file, line: line,
                            message:
                                "replaces: entry '\(id)' of the estate inventory does not list feed \(feed) in its feeds (\(inventory.file):\(entry.line))"
                        ))
                }
            }
        }
        return errors
    }

    /// The line of a mapping's top-level `replaces:` (0 when it cannot be read).
    static func replacesLine(in file: String) -> Int {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return 0 }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return (lines.firstIndex { $0.hasPrefix("replaces:") } ?? -1) + 1
    }
}
