import FeedMapping
import FileSources
import Foundation
import Logging

/// Before the pickup folders are polled: each polled feed with an HTTPS source downloads the day's file into its
/// pickup folder on the folder source (unless the server says it is unchanged since the last download), where the poll
/// takes it like any other file there: the same ledger, stability rule and duplicate check.
///
/// A feed whose download fails is named in the run's failures and its folder is still polled (an earlier download may
/// be waiting there); the other feeds go on.
struct HTTPSIntake {
    let context: RunContext

    func run() async {
        for feed in context.polledFeeds {
            guard let https = feed.source.https, !context.stop.isSet else { continue }
            do {
                let downloader = try downloader(feed, https)
                let outcome = try await context.metrics.time("download") { try await downloader.download() }
                switch outcome {
                case .notModified:
                    context.logger.info("the download is unchanged since the last one", metadata: ["feed": "\(feed.id)"])
                case .downloaded(let path, let bytes, _):
                    context.logger.info(
                        "downloaded a file into the pickup folder",
                        metadata: ["feed": "\(feed.id)", "file": "\((path as NSString).lastPathComponent)", "bytes": "\(bytes)"])
                }
            } catch {
                context.tally.failures.append("https \(feed.id): \(error)")
                context.logger.error("cannot download a feed's file", metadata: ["feed": "\(feed.id)", "error": "\(error)"])
            }
        }
    }

    /// The feed's downloader: its mapping's settings with the configuration's overrides, into its pickup folder.
    func downloader(_ feed: FeedDefinition, _ https: HTTPSSourceSettings) throws -> HTTPSDownloader {
        let configuration = context.configuration
        guard let root = configuration.folder?.root else {
            throw FileSourceError.fatal("an HTTPS feed's file lands on the folder source, and there is no folder section")
        }
        guard let folder = configuration.folder(for: feed) else { throw FileSourceError.fatal("the feed has no pickup folder") }
        let override = configuration.feeds[feed.id]
        let settings = HTTPSDownloadSettings(
            urlTemplate: override?.httpsURL ?? https.url, maxBytes: https.maxBytes, caFile: override?.httpsCAFile ?? https.caFile)
        return HTTPSDownloader(settings: settings, folder: joinPath(root, folder), logger: context.logger)
    }
}
