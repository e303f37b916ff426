import AsyncHTTPClient
public import Foundation
public import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// Where and how a feed's file is downloaded over HTTPS.
public struct HTTPSDownloadSettings: Sendable, Hashable {
    /// The URL, `https` only; `{yyyyMMdd}` (any of the tokens `yyyy`, `MM`, `dd` in braces) is the day's date.
    public var urlTemplate: String
    /// A larger file is refused (announced by `Content-Length` or counted as it arrives).
    public var maxBytes: Int64
    /// A PEM file of extra certificate authorities to trust (a private CA) besides the system's; verification of the
    /// server's certificate and name is always on.
    public var caFile: String?
    /// Attempts after a connection failure, 5xx or 429 before giving up; waits grow exponentially from `baseDelay`.
    public var attempts: Int
    public var baseDelaySeconds: Double
    public var timeoutSeconds: Int64

    public init(
        urlTemplate: String, maxBytes: Int64, caFile: String? = nil, attempts: Int = 5, baseDelaySeconds: Double = 1,
        timeoutSeconds: Int64 = 300
    ) {
        self.urlTemplate = urlTemplate
        self.maxBytes = maxBytes
        self.caFile = caFile
        self.attempts = attempts
        self.baseDelaySeconds = baseDelaySeconds
        self.timeoutSeconds = timeoutSeconds
    }

    /// The URL for `date`, its tokens filled in (`yyyy`, `MM`, `dd` in braces, in Europe/London, as partners date
    /// their files).
    public func url(on date: Date) throws(FileSourceError) -> URL {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/London") ?? .gmt
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        var text = ""
        var rest = Substring(urlTemplate)
        while let open = rest.firstIndex(of: "{") {
            guard let close = rest[open...].firstIndex(of: "}") else { break }
            text += rest[..<open]
            text += String(rest[rest.index(after: open)..<close])
                .replacingOccurrences(of: "yyyy", with: String(format: "%04d", parts.year ?? 0))
                .replacingOccurrences(of: "MM", with: String(format: "%02d", parts.month ?? 0))
                .replacingOccurrences(of: "dd", with: String(format: "%02d", parts.day ?? 0))
            rest = rest[rest.index(after: close)...]
        }
        text += rest
        guard let url = URL(string: text), url.scheme?.lowercased() == "https", url.host != nil, !url.lastPathComponent.isEmpty,
            url.lastPathComponent != "/"
        else { throw FileSourceError.fatal("the download URL \(text) is not an https URL naming a file") }
        return url
    }
}

/// What a conditional download found.
public enum HTTPSDownloadOutcome: Sendable, Equatable {
    /// The server said the file is unchanged since the last download (304): nothing was written.
    case notModified
    /// A new file, complete, at `localPath` in the folder (never over an existing name).
    case downloaded(localPath: String, bytes: Int64, sha256: String)
}

/// Downloads a feed's file over HTTPS into a local pickup folder, where it is taken like any other file (the same
/// ledger, stability rule and duplicate check).
///
/// Invariants: the body is streamed to a hidden `.part` file (never whole in memory) and only renamed to its final
/// name once complete and within `maxBytes`; a final name is never overwritten; the validators (`ETag`,
/// `Last-Modified`) of a download are recorded only after its file has its final name, so a crash in between costs
/// one more download, never a lost file.
public struct HTTPSDownloader: Sendable {
    public let settings: HTTPSDownloadSettings
    /// The pickup folder the file lands in; it also holds the hidden validators file.
    public let folder: String
    let logger: Logger

    public init(settings: HTTPSDownloadSettings, folder: String, logger: Logger) {
        self.settings = settings
        self.folder = folder
        self.logger = logger
    }

    /// Downloads the file for `date` unless the server says it has not changed since the last download.
    public func download(on date: Date = Date()) async throws -> HTTPSDownloadOutcome {
        let url = try settings.url(on: date)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let store = HTTPValidatorStore(folder: folder)
        let previous = store.load().flatMap { $0.url == url.absoluteString ? $0 : nil }
        let client = try makeClient()
        do {
            let outcome = try await withRetries(url) { try await fetch(url, client: client, previous: previous, store: store) }
            try await client.shutdown()
            return outcome
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    func makeClient() throws(FileSourceError) -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        if let caFile = settings.caFile {
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                throw FileSourceError.fatal("the CA file \(caFile) cannot be read")
            }
            tls.additionalTrustRoots = [.file(caFile)]
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.redirectConfiguration = .disallow  // followed here, https only
        configuration.timeout = .init(connect: .seconds(15), read: .seconds(60))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Runs `attempt` until it succeeds, retrying what is worth retrying (``RetryableDownloadFailure``) with
    /// exponential backoff and full jitter, or the server's `Retry-After` when it sent one.
    func withRetries(_ url: URL, _ attempt: () async throws -> HTTPSDownloadOutcome) async throws -> HTTPSDownloadOutcome {
        var tries = 0
        while true {
            tries += 1
            do {
                return try await attempt()
            } catch let failure as RetryableDownloadFailure {
                guard tries < max(1, settings.attempts) else {
                    throw FileSourceError.transient("\(url.absoluteString): \(failure.reason), \(tries) attempts")
                }
                let backoff = Double.random(in: 0...(settings.baseDelaySeconds * pow(2, Double(tries - 1))))
                let delay = min(failure.retryAfter ?? backoff, 300)
                logger.info(
                    "retrying a download",
                    metadata: ["url": "\(url.absoluteString)", "why": "\(failure.reason)", "delay_s": "\(String(format: "%.2f", delay))"])
                try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            }
        }
    }
}

/// A failure worth another attempt: the connection failed, or the server answered 5xx or 429.
struct RetryableDownloadFailure: Error {
    let reason: String
    let retryAfter: Double?
}
