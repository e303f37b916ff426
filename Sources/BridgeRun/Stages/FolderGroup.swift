import FeedMapping
import FileSources
import Logging

/// A folder on a source that a pass lists once: the pickup folder of the flat-file feeds that share it, or a mail drop
/// with the email feeds it routes to.
struct FolderGroup {
    let source: SourceKind
    let folder: String
    /// Feeds whose files are picked up here (flat-file feeds), or the email feeds a mail drop routes to.
    let feeds: [FeedDefinition]
    /// Set for a mail drop: its emails are filed under the drop's name until they are routed.
    let mailDrop: MailDropRoute?

    /// The groups of a pass, in a stable order: flat-file folders in the order of their first feed, then each mail drop
    /// once (every email feed's own folder and the configuration's `mailDrops`).
    static func groups(feeds: [FeedDefinition], configuration: RunConfiguration, logger: Logger) -> [FolderGroup] {
        var groups: [FolderGroup] = []
        var index: [String: Int] = [:]
        for feed in feeds where feed.email == nil {
            guard let folder = configuration.folder(for: feed) else {
                logger.warning("feed has no pickup folder; not polled", metadata: ["feed": "\(feed.id)"])
                continue
            }
            let source = configuration.source(for: feed)
            guard source != .imap else {
                logger.error("feed's source is imap, which holds only emails; not polled", metadata: ["feed": "\(feed.id)"])
                continue
            }
            let key = "\(source.rawValue)|\(folder)"
            if let at = index[key] {
                groups[at] = FolderGroup(source: source, folder: folder, feeds: groups[at].feeds + [feed], mailDrop: nil)
            } else {
                index[key] = groups.count
                groups.append(FolderGroup(source: source, folder: folder, feeds: [feed], mailDrop: nil))
            }
        }
        let mail = feeds.filter { $0.email != nil }
        guard !mail.isEmpty else { return groups }
        var drops: [MailDropRoute] = []
        for feed in mail {
            if let folder = configuration.folder(for: feed) {
                drops.append(MailDropRoute(source: configuration.source(for: feed.id), folder: folder))
            }
        }
        for drop in configuration.mailDrops {
            drops.append(MailDropRoute(source: drop.source ?? configuration.defaultSourceKind, folder: drop.folder))
        }
        var seen = Set<MailDropRoute>()
        for drop in drops where seen.insert(drop).inserted {
            groups.append(FolderGroup(source: drop.source, folder: drop.folder, feeds: mail, mailDrop: drop))
        }
        return groups
    }
}
