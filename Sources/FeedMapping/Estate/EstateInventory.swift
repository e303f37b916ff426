/// The legacy estate the bridge retires, as `mappings/estate/inventory.yaml` records it: the servers, and every job
/// and exchange on them with what replaces it. Checked against the mappings by `dqt-bridge mappings lint`
/// (``EstateLint``) and shown by `dqt-bridge estate` (``EstateProgress``).
public struct EstateInventory: Sendable {
    public let servers: [EstateServer]
    public let entries: [EstateEntry]
    /// The file it was loaded from.
    public let file: String

    public func server(id: String) -> EstateServer? { servers.first { $0.id == id } }
    public func entry(id: String) -> EstateEntry? { entries.first { $0.id == id } }

    /// The inventory's place in a mappings folder.
    public static func path(inMappings folder: String) -> String {
        folder.hasSuffix("/") ? folder + "estate/inventory.yaml" : folder + "/estate/inventory.yaml"
    }
}

/// A legacy server to switch off: the SFTP server, the SSIS server or the TQ unit's mailbox.
public struct EstateServer: Sendable, Hashable {
    public let id: String
    public let title: String
    public let notes: String?
    public let line: Int
}

/// One legacy job or exchange.
public struct EstateEntry: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// One of the SSIS server's scheduled jobs.
        case ssisJob = "ssis-job"
        /// An exchange through the TQ unit's secure mailbox.
        case email
        /// A file exchange through Capita's (TPS's) file portal.
        case portal
        /// Any other legacy exchange a feed replaces.
        case other
    }

    /// Whether the legacy job or exchange still runs where it ran.
    public enum Legacy: String, Sendable, CaseIterable {
        /// It still runs on its servers.
        case running
        /// Switched off but kept on its servers for rollback.
        case disabled
        /// Gone from its servers (or never ran there).
        case removed

        public var isOff: Bool { self != .running }
    }

    /// A decision that no feed replaces the entry.
    public struct Decision: Sendable {
        public enum Outcome: String, Sendable, CaseIterable {
            /// Switched off with nothing in its place.
            case retire
            /// Another service takes it over (the reason names it).
            case anotherService = "another-service"
        }
        public let outcome: Outcome
        public let reason: String
        /// Agreed with the service owner (a proposal until then).
        public let agreed: Bool
    }

    /// A capability that replaces the entry (an API endpoint, a bridge command).
    public struct Capability: Sendable {
        public let name: String
        public let available: Bool
    }

    public let id: String
    public let kind: Kind
    public let title: String
    public let servers: [String]
    public let legacy: Legacy
    /// Feeds (inbound or outbound) that replace it; each names this entry in its `replaces:`.
    public let feeds: [String]
    /// Feeds that will replace it and are not in the mappings yet.
    public let planned: [String]
    public let capability: Capability?
    public let decision: Decision?
    /// What is needed before a feed can be written: the layout is not known yet.
    public let layoutUnknown: String?
    public let notes: String?
    /// Its line in the inventory.
    public let line: Int
}
