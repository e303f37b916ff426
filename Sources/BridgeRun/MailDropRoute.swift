public import FileSources
import Ledger

/// A mail drop: a folder of `.eml` files on one source. Until an email is routed to the feed that takes it, the
/// ledger files it under the drop's own name, which an email no feed takes keeps for good.
public struct MailDropRoute: Hashable, Sendable {
    public let source: SourceKind
    public let folder: String

    public init(source: SourceKind, folder: String) {
        self.source = source
        self.folder = folder
    }

    /// The ledger's feed name for this drop's emails: `mail:<source>:<folder>`.
    public var ledgerFeedName: String { "mail:\(source.rawValue):\(folder)" }

    /// The drop a ledger feed name stands for; nil for the name of a feed.
    public init?(ledgerFeedName: String) {
        let parts = ledgerFeedName.split(separator: ":", maxSplits: 2)
        guard parts.count == 3, parts[0] == "mail", let source = SourceKind(rawValue: String(parts[1])) else { return nil }
        self.init(source: source, folder: String(parts[2]))
    }
}

extension FileRow {
    /// The kind of source that reaches this file; the ledger stores the kind's raw value as `transport` (a replay of a
    /// local file says `folder`).
    var sourceKind: SourceKind { SourceKind(rawValue: transport) ?? .folder }
}

extension FileOrigin {
    /// The origin of a file picked up from a feed's folder on a source of this kind.
    init(pickedUpFrom kind: SourceKind) {
        switch kind {
        case .sftp: self = .sftp
        case .folder: self = .folder
        case .imap: self = .mail
        }
    }
}
