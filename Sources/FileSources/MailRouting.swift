import Dispatch
import FeedMapping
import Foundation
import MIMEMail

/// Routes an email from a mail drop to the feed that takes it: the feed whose email settings allow the sender and
/// whose attachment patterns match one of its attachments.
public enum MailRouting {
    public enum Decision: Sendable {
        case feed(FeedDefinition)
        /// No feed takes the email: the code and a message without personal data.
        case refused(code: String, message: String)
    }

    public struct Routed: Sendable {
        public let decision: Decision
        /// The envelope sender address (organisation addresses; kept in the ledger, never logged).
        public let sender: String?
        public let attachments: [String]
    }

    /// ``route(emlPath:workDirectory:feeds:)`` on a dispatch thread (reading the email blocks).
    public static func routeOffPool(emlPath: String, workDirectory: String, feeds: [FeedDefinition]) async -> Routed {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: route(emlPath: emlPath, workDirectory: workDirectory, feeds: feeds))
            }
        }
    }

    /// Reads `emlPath` (attachments extracted into a scratch folder below `workDirectory`, removed afterwards).
    public static func route(emlPath: String, workDirectory: String, feeds: [FeedDefinition]) -> Routed {
        let scratch = joinPath(workDirectory, "route-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let message: MailMessage
        do {
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            message = try MailReader.read(path: emlPath, extractingAttachmentsTo: scratch)
        } catch {
            return Routed(decision: .refused(code: "mail-error", message: "the email cannot be read: \(error)"), sender: nil, attachments: [])
        }
        let names = message.attachments.map(\.filename)
        let emailFeeds = feeds.filter { $0.email != nil }
        let allowing = emailFeeds.filter { $0.email!.allows(sender: message.from) }
        guard !allowing.isEmpty else {
            return Routed(
                decision: .refused(code: "sender-not-allowed", message: "no email feed allows this sender"),
                sender: message.from, attachments: names)
        }
        let taking = allowing.filter { feed in
            names.contains { name in feed.email!.attachments.contains { FeedCatalog.matches(pattern: $0, name: name) } }
        }
        switch taking.count {
        case 1:
            return Routed(decision: .feed(taking[0]), sender: message.from, attachments: names)
        case 0:
            let patterns = Set(allowing.flatMap { $0.email!.attachments }).sorted().joined(separator: ", ")
            return Routed(
                decision: .refused(code: "no-attachment", message: "the email has no attachment matching \(patterns)"),
                sender: message.from, attachments: names)
        default:
            return Routed(
                decision: .refused(
                    code: "ambiguous-feed",
                    message: "several feeds take this email (\(taking.map(\.id).joined(separator: ", "))): narrow their sender or attachment settings"),
                sender: message.from, attachments: names)
        }
    }
}
