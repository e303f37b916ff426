public import ChangeFeed
public import DQTModel
public import Delivery
public import FeedMapping
public import FileSources
public import Foundation
public import Ledger
public import Logging
public import Publisher

/// Options of one pass.
public struct RunOptions: Sendable {
    /// Only these feeds (nil: every polled feed).
    public var feeds: [String]?
    /// Judge dates as of this day (default: today).
    public var today: LocalDate?
    public init(feeds: [String]? = nil, today: LocalDate? = nil) {
        self.feeds = feeds
        self.today = today
    }
}

/// The result of one pass.
public struct RunOutcome: Sendable {
    public let runID: Int64?
    public let exitStatus: Int32
    public let summary: String
    public let tally: RunTally
    /// True when another run held the lock and this one did nothing.
    public let lockHeldElsewhere: Bool
}

/// What the runner needs from outside: configuration, catalog, ledger, how to reach the API and the sources.
public struct RunEnvironment: Sendable {
    public let configuration: RunConfiguration
    public let catalog: FeedCatalog
    public let ledger: any LedgerStore
    public let transport: any BatchTransport
    public let logger: Logger
    public let metrics: RunMetrics
    public let progress: ProgressDisplay
    public let stop: StopFlag
    /// Makes the source of a kind; called at most once per kind and run.
    public let makeSource: @Sendable (SourceKind) throws -> any FileSource
    /// The API's change feed, which outbound feeds read (nil: feeds that read it fail with a clear message).
    public let changeFeed: (any ChangeFeed)?
    /// An SFTP delivery into a folder below the configured SFTP root, with a local scratch folder for its read-back
    /// (nil: no sftp section).
    public let makeSFTPDelivery: (@Sendable (_ folder: String, _ scratchFolder: String) throws -> any Delivery)?
    /// Now, for what judges ages (retention): the system clock unless a test sets another.
    public let clock: @Sendable () -> Date
    /// The API's alerts by source, which a reconciliation feed's files are compared with (nil: no report is made).
    public let sourceAlerts: (any SourceAlerts)?

    public init(
        configuration: RunConfiguration, catalog: FeedCatalog, ledger: any LedgerStore, transport: any BatchTransport, logger: Logger,
        metrics: RunMetrics = RunMetrics(), progress: ProgressDisplay = ProgressDisplay(mode: .silent), stop: StopFlag = StopFlag(),
        changeFeed: (any ChangeFeed)? = nil, makeSFTPDelivery: (@Sendable (String, String) throws -> any Delivery)? = nil,
        clock: @escaping @Sendable () -> Date = { Date() }, sourceAlerts: (any SourceAlerts)? = nil,
        makeSource: @escaping @Sendable (SourceKind) throws -> any FileSource
    ) {
        self.configuration = configuration
        self.catalog = catalog
        self.ledger = ledger
        self.transport = transport
        self.logger = logger
        self.metrics = metrics
        self.progress = progress
        self.stop = stop
        self.makeSource = makeSource
        self.changeFeed = changeFeed
        self.makeSFTPDelivery = makeSFTPDelivery
        self.clock = clock
        self.sourceAlerts = sourceAlerts
    }
}

/// An error that stops the whole run (a refused host key, the lock lost, the ledger gone).
struct FatalRunError: Error, CustomStringConvertible {
    let description: String
}
