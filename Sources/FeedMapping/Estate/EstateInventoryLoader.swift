import DQTModel
import Foundation
import Yams

/// Reads `mappings/estate/inventory.yaml`. Its form is checked here (every key known, every field of the right
/// kind, each entry saying what replaces it); what it names is checked against the mappings by ``EstateLint``.
public enum EstateInventoryLoader {
    public static func load(path: String) throws(MappingError) -> EstateInventory {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            let reason = FileProblem.reading(file: path) ?? "not UTF-8 text"
            throw MappingError(file: path, line: 0, message: "cannot read the estate inventory: \(reason)")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws(MappingError) -> EstateInventory {
        let root = try MappingError.composeYAML(text, file: file, what: "the inventory")
        let r = NodeReader(file: file)
        let top = try r.entries(root, allowed: ["servers", "entries", "notes"], what: "the inventory")
        let serversNode = try r.required(top, "servers", in: "the inventory", at: root)
        guard let serverMapping = serversNode.mapping else { throw r.fail(serversNode, "servers must map server ids to servers") }
        var servers: [EstateServer] = []
        for (key, value) in serverMapping {
            let id = try r.string(key, "a server id")
            let values = try r.entries(value, allowed: ["title", "notes"], what: "server \(id)")
            servers.append(
                EstateServer(
                    id: id, title: try r.string(r.required(values, "title", in: "server \(id)", at: value), "title"),
                    notes: try values["notes"].map { node throws(MappingError) in try r.string(node, "notes") }, line: key.mark?.line ?? 0))
        }
        let entriesNode = try r.required(top, "entries", in: "the inventory", at: root)
        guard let entryMapping = entriesNode.mapping else { throw r.fail(entriesNode, "entries must map entry ids to entries") }
        var entries: [EstateEntry] = []
        for (key, value) in entryMapping {
            entries.append(try entry(key, value, reader: r, serverIDs: Set(servers.map(\.id))))
        }
        return EstateInventory(servers: servers, entries: entries, file: file)
    }

    static let entryKeys: Set<String> = [
        "kind", "title", "servers", "legacy", "feeds", "planned", "capability", "decision", "layoutUnknown", "notes",
    ]

    static func entry(_ key: Node, _ node: Node, reader r: NodeReader, serverIDs: Set<String>) throws(MappingError) -> EstateEntry {
        let id = try r.string(key, "an entry id")
        guard InventoryID.isValid(id) else { throw r.fail(key, "entry id '\(id)' must be lower kebab case (a-z, 0-9, single '-')") }
        let what = "entry \(id)"
        let values = try r.entries(node, allowed: entryKeys, what: what)
        let kindNode = try r.required(values, "kind", in: what, at: node)
        guard let kind = EstateEntry.Kind(rawValue: try r.string(kindNode, "kind")) else {
            throw r.fail(kindNode, "\(what): kind must be one of \(EstateEntry.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let legacyNode = try r.required(values, "legacy", in: what, at: node)
        guard let legacy = EstateEntry.Legacy(rawValue: try r.string(legacyNode, "legacy")) else {
            throw r.fail(legacyNode, "\(what): legacy must be one of \(EstateEntry.Legacy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let serversNode = try r.required(values, "servers", in: what, at: node)
        let servers = try r.strings(serversNode, "servers")
        guard !servers.isEmpty else { throw r.fail(serversNode, "\(what): servers must name at least one server") }
        for server in servers where !serverIDs.contains(server) {
            throw r.fail(
                serversNode,
                "\(what): unknown server '\(server)'\(NearestName.hint(for: server, among: serverIDs)) (known: \(serverIDs.sorted().joined(separator: ", ")))"
            )
        }
        func text(_ name: String) throws(MappingError) -> String? {
            try values[name].map { node throws(MappingError) in try r.string(node, name) }
        }
        let feeds = try r.strings(values["feeds"], "feeds")
        let planned = try r.strings(values["planned"], "planned")
        var capability: EstateEntry.Capability?
        if let node = values["capability"] {
            let fields = try r.entries(node, allowed: ["name", "available"], what: "\(what) capability")
            capability = EstateEntry.Capability(
                name: try r.string(r.required(fields, "name", in: "capability", at: node), "capability.name"),
                available: try r.bool(r.required(fields, "available", in: "capability", at: node), "capability.available"))
        }
        var decision: EstateEntry.Decision?
        if let node = values["decision"] {
            let fields = try r.entries(node, allowed: ["outcome", "reason", "agreed"], what: "\(what) decision")
            let outcomeNode = try r.required(fields, "outcome", in: "decision", at: node)
            guard let outcome = EstateEntry.Decision.Outcome(rawValue: try r.string(outcomeNode, "decision.outcome")) else {
                throw r.fail(
                    outcomeNode,
                    "\(what): decision.outcome must be one of \(EstateEntry.Decision.Outcome.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            decision = EstateEntry.Decision(
                outcome: outcome, reason: try r.string(r.required(fields, "reason", in: "decision", at: node), "decision.reason"),
                agreed: try r.bool(r.required(fields, "agreed", in: "decision", at: node), "decision.agreed"))
        }
        let layoutUnknown = try text("layoutUnknown")
        // Each entry says how it goes: feeds (built or planned), a capability, a decision, or what is missing to know.
        guard !feeds.isEmpty || !planned.isEmpty || capability != nil || decision != nil || layoutUnknown != nil else {
            throw r.fail(key, "\(what) needs its replacement: feeds, planned, capability, decision or layoutUnknown (what is needed)")
        }
        if let layoutUnknown, !layoutUnknown.lowercased().hasPrefix("needs") {
            throw r.fail(values["layoutUnknown"], "\(what): layoutUnknown says what is needed, starting with 'needs'")
        }
        return EstateEntry(
            id: id, kind: kind, title: try r.string(r.required(values, "title", in: what, at: node), "title"), servers: servers,
            legacy: legacy, feeds: feeds, planned: planned, capability: capability, decision: decision, layoutUnknown: layoutUnknown,
            notes: try text("notes"), line: key.mark?.line ?? 0)
    }
}
