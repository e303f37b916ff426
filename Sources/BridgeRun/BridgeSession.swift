import AsyncHTTPClient
import ChangeFeed
import Delivery
public import FeedMapping
import FileSources
public import Foundation
public import Ledger
public import Logging
import Publisher

/// Everything one command needs, made from the configuration: the catalog, the ledger, the API transport and the
/// sources. `shutdown()` releases them.
public final class BridgeSession: Sendable {
    public let configuration: RunConfiguration
    public let catalog: FeedCatalog
    public let ledger: PostgresLedger
    public let environment: RunEnvironment
    /// The API's state for parity's read-back (nil without the API).
    public let stateReader: (any StateReader)?
    let httpClient: HTTPClient?

    public struct SetupError: Error, CustomStringConvertible {
        public let description: String
    }

    /// - Parameter needsAPI: false for commands that never publish (dry runs, status): no API key is read.
    public init(
        configuration: RunConfiguration, logger: Logger, progress: ProgressDisplay, stop: StopFlag = StopFlag(),
        metrics: RunMetrics = RunMetrics(), needsAPI: Bool = true,
        environmentVariables: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        self.configuration = configuration
        do {
            catalog = try FeedCatalog.load(directory: configuration.mappings, isolatingBroken: true)
        } catch {
            throw SetupError(description: "the mappings in \(configuration.mappings) do not load:\n\(error)")
        }
        ledger = PostgresLedger(conninfo: try configuration.databaseURL(environment: environmentVariables))
        let transport: any BatchTransport
        var changeFeed: (any ChangeFeed)?
        var sourceAlerts: (any SourceAlerts)?
        if needsAPI {
            let key = try configuration.apiKey(environment: environmentVariables)
            guard let baseURL = URL(string: configuration.api.baseURL) else {
                throw SetupError(description: "api.baseURL is not a URL")
            }
            let timeout = configuration.api.timeoutSeconds ?? 60
            let client = makeBridgeHTTPClient(timeoutSeconds: timeout, connections: configuration.publisherSettings.concurrency)
            httpClient = client
            transport = GeneratedClientTransport(baseURL: baseURL, apiKey: key, httpClient: client)
            changeFeed = HTTPChangeFeed(baseURL: baseURL, apiKey: key, httpClient: client)
            sourceAlerts = HTTPSourceAlerts(baseURL: baseURL, apiKey: key, httpClient: client)
            stateReader = HTTPStateReader(baseURL: configuration.api.baseURL, apiKey: key, client: client, timeoutSeconds: timeout)
        } else {
            httpClient = nil
            stateReader = nil
            transport = UnavailableTransport()
        }
        let sftp = try configuration.sftpConfiguration(environment: environmentVariables)
        let sftpRoot = configuration.sftp?.root ?? ""
        let folderRoot = configuration.folder?.root
        let imap = try configuration.imapSettings(environment: environmentVariables)
        let sourceLogger = logger
        environment = RunEnvironment(
            configuration: configuration, catalog: catalog, ledger: ledger, transport: transport, logger: logger, metrics: metrics,
            progress: progress, stop: stop, changeFeed: changeFeed,
            makeSFTPDelivery: sftp.map { sftp in
                { @Sendable folder, scratch in
                    SFTPDelivery(configuration: sftp, folder: joinPath(sftpRoot, folder), scratchFolder: scratch, logger: sourceLogger)
                }
            },
            sourceAlerts: sourceAlerts,
            makeSource: { kind in
                switch kind {
                case .sftp:
                    guard let sftp else { throw SetupError(description: "no sftp section in the configuration") }
                    return SFTPSource(configuration: sftp, root: sftpRoot, logger: sourceLogger)
                case .folder:
                    guard let folderRoot else { throw SetupError(description: "no folder section in the configuration") }
                    return FolderSource(root: folderRoot)
                case .imap:
                    guard let imap else { throw SetupError(description: "no imap section in the configuration") }
                    return IMAPSource(endpoint: imap.endpoint, processed: imap.processed, quarantine: imap.quarantine)
                }
            })
    }

    public func shutdown() async {
        ledger.close()
        try? await httpClient?.shutdown()
    }
}

/// The transport of commands that must not publish.
struct UnavailableTransport: BatchTransport {
    func send(_ operations: [BatchOperation]) async throws -> BatchReply {
        throw PublishError.refused(status: 0, message: "this command does not publish")
    }
}
