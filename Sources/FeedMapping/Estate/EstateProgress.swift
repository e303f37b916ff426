/// How far the retirement has got, from the inventory and the feeds' lifecycle states.
///
/// An entry is done when its legacy job is off (`disabled` or `removed`) and its replacement is complete: every
/// feed `live` or `retired`, no feed still planned, its capability available, its decision agreed, its layout known.
/// A server can be switched off when every entry still on it (legacy `running` or `disabled`) is done; an entry whose
/// legacy side is `removed` is no longer on any server, and when it is not done it shows as a gap, not as a blocker.
public struct EstateProgress: Sendable {
    public struct Entry: Sendable {
        public let entry: EstateEntry
        public let done: Bool
        /// What is missing before it is done, one plain sentence each.
        public let missing: [String]
    }

    public struct Server: Sendable {
        public let server: EstateServer
        /// The entries still on the server, in inventory order.
        public let entries: [Entry]
        public var blocking: [Entry] { entries.filter { !$0.done } }
        public var canSwitchOff: Bool { blocking.isEmpty }
    }

    public let entries: [Entry]
    public let servers: [Server]

    /// `statuses` gives each feed's lifecycle state; a feed absent from it does not load (or does not exist).
    public init(inventory: EstateInventory, statuses: [String: FeedStatus]) {
        entries = inventory.entries.map { Self.judge($0, statuses: statuses) }
        let judged = entries
        servers = inventory.servers.map { server in
            Server(server: server, entries: judged.filter { $0.entry.servers.contains(server.id) && $0.entry.legacy != .removed })
        }
    }

    static func judge(_ entry: EstateEntry, statuses: [String: FeedStatus]) -> Entry {
        var missing: [String] = []
        for feed in entry.feeds {
            switch statuses[feed] {
            case nil: missing.append("feed \(feed) does not load: fix its mapping (dqt-bridge mappings lint)")
            case .legacy?: missing.append("feed \(feed) is not polled yet (status legacy): move it to shadow and compare")
            case .shadow?: missing.append("feed \(feed) is in shadow: compare it with the legacy job, then go live (runbooks/feed-lifecycle.md)")
            case .live?, .retired?: break
            }
        }
        for feed in entry.planned { missing.append("feed \(feed) is planned and not in the mappings yet") }
        if let capability = entry.capability, !capability.available { missing.append("\(capability.name) is not available yet") }
        if let decision = entry.decision, !decision.agreed {
            missing.append("the decision (\(decision.outcome.rawValue)) is proposed, not agreed with the service owner yet")
        }
        if let layoutUnknown = entry.layoutUnknown { missing.append("layout unknown: \(layoutUnknown)") }
        switch entry.legacy {
        case .running:
            let carried = !entry.feeds.isEmpty && missing.isEmpty
            missing.append(
                carried
                    ? "the legacy job still runs although its feeds are live: switch it off and set legacy: disabled"
                    : "the legacy job still runs")
        case .disabled, .removed: break
        }
        return Entry(entry: entry, done: missing.isEmpty, missing: missing)
    }
}
