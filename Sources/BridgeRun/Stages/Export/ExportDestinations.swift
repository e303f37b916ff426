import Delivery
import FeedMapping
import FileSources
import Foundation

extension RunContext {
    /// Where a feed's files go in this run: `folder` when the command names one (`--out`), the report folder for a
    /// `shadow` feed (`<reports>/exports/<feed>`, or the work folder's `shadow-exports` without one), else the feed's
    /// own destination.
    ///
    /// `resend` (a resend's own export id) makes a mailed resend a new email rather than the original's entry.
    func delivery(for feed: OutboundFeedDefinition, folder: String?, resend: Int64? = nil) throws -> any Delivery {
        if let folder { return try FolderDelivery(creating: folder) }
        if feed.status == .shadow {
            let base = configuration.reportsFolder.map { joinPath($0, "exports") } ?? joinPath(workFolder, "shadow-exports")
            return try FolderDelivery(creating: joinPath(base, feed.id))
        }
        switch feed.destination {
        case .folder(let path):
            return try FolderDelivery(creating: path)
        case .mailOutbox(let to, let subject):
            try FileManager.default.createDirectory(atPath: configuration.mailOutbox, withIntermediateDirectories: true)
            return MailOutboxDelivery(
                outbox: configuration.mailOutbox, to: to, subject: subject ?? feed.title, tag: resend.map { "resend-\($0)" })
        case .sftp(let folder):
            guard let makeSFTPDelivery = environment.makeSFTPDelivery else {
                throw ExportFailure("feed \(feed.id) delivers over SFTP, but the configuration has no sftp section")
            }
            let scratch = joinPath(workFolder, "exports")
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            return try makeSFTPDelivery(folder, scratch)
        }
    }
}

extension FolderDelivery {
    /// A delivery into `folder`, created when missing.
    init(creating folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        self.init(folder: folder)
    }
}
