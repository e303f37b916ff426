import DQTModel
import FeedMapping
import FileSources
import Foundation

extension CheckCommand {
    /// The email feed that takes this `.eml`, chosen as a run's mail drop chooses it (``MailRouting``): by the
    /// sender's allow-lists and the attachments' names, once the sender is proved. An email whose sender is refused
    /// is still checked with the one feed whose allow-list names it, so its report says why; one that no feed's
    /// allow-list names (or several) is refused here with the run's code, exit 2.
    func routedEmailFeed(among candidates: [FeedDefinition]) -> FeedDefinition {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dqt-bridge-route-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let read = Result { try MailIntake.read(emlPath: file, into: folder) }
        let routes = candidates.compactMap { feed in feed.email.map { MailRoute(feed: feed.id, rules: $0) } }
        let routed = MailRouting.route(read, routes: routes)
        switch routed.decision {
        case .feed(let id):
            if let feed = candidates.first(where: { $0.id == id }) { return feed }
        case .refused(let code, let message):
            let allowing = candidates.filter { $0.email?.allows(sender: routed.sender) ?? false }
            if allowing.count == 1 { return allowing[0] }
            Self.fail(CommandFailure(message: "refused: \(code): \(message); name a feed with --feed to see its report", status: 2))
        }
        Self.fail(CommandFailure(message: "no email feed takes \(printable((file as NSString).lastPathComponent))", status: 2))
    }
}
