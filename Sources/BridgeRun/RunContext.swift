import DQTModel
import FeedMapping
import FileSources
import Foundation
import Ledger
import Logging

/// What the stages of one pass share: the environment they were given, the run's row in the ledger, the lock it holds,
/// the sources it opened and the tally it builds. One context per pass; the runner makes it and closes it.
///
/// Invariant: while a stage runs, `runID` names the run's own row in the ledger and `lock` is held; every ledger write a
/// stage makes names `runID`.
final class RunContext {
    let environment: RunEnvironment
    var logger: Logger
    /// The run's row in the ledger (0 until it is started).
    var runID: Int64 = 0
    var tally = RunTally()
    /// The feeds this pass handles.
    var polledFeeds: [FeedDefinition] = []
    /// The feeds the pass was limited to (`--feed`), inbound or outbound; nil when it takes them all.
    var requestedFeeds: Set<String>?
    /// How the checker judges dates (today, unless the run says otherwise).
    var checkContext: CheckContext
    var lock: (any RunLock)?
    /// False once the API failed in this run: files still to publish are left for the next run instead of being tried
    /// against an API that is down.
    var apiAvailable = true
    private var sources: [SourceKind: any FileSource] = [:]

    init(environment: RunEnvironment, today: LocalDate? = nil) {
        self.environment = environment
        self.logger = environment.logger
        self.checkContext = CheckContext(today: today ?? LocalDate.today())
    }

    var configuration: RunConfiguration { environment.configuration }
    var catalog: FeedCatalog { environment.catalog }
    var ledger: any LedgerStore { environment.ledger }
    var metrics: RunMetrics { environment.metrics }
    var progress: ProgressDisplay { environment.progress }
    var stop: StopFlag { environment.stop }

    /// The polled feeds whose files arrive by email.
    var emailFeeds: [FeedDefinition] { polledFeeds.filter { $0.email != nil } }

    /// Whether a feed's accepted records are sent to the API (live and writing), rather than only checked.
    static func publishes(_ feed: FeedDefinition) -> Bool {
        feed.status.publishes && feed.operation.method != "GET"
    }

    /// Throws ``RunLockLost`` when another run could have taken the lock.
    func verifyLock() async throws {
        try await lock?.verify()
    }

    /// The source of a kind, opened on first use and kept for the rest of the pass.
    func source(_ kind: SourceKind) throws -> any FileSource {
        if let existing = sources[kind] { return existing }
        do {
            let made = try environment.makeSource(kind)
            sources[kind] = made
            return made
        } catch {
            throw FatalRunError(description: "the \(kind.rawValue) source cannot be set up: \(error)")
        }
    }

    func closeSources() async {
        for source in sources.values { await source.close() }
    }

    // MARK: The work folder

    var workFolder: String { configuration.workFolder }

    /// A file's work copy: fetched into place, kept until the file is archived.
    func localPath(fileID: Int64) -> String { joinPath(workFolder, "files", "\(fileID).dat") }

    /// Where the checker unpacks a file (an email's attachments) while it checks it.
    func partsFolder(fileID: Int64) -> String { joinPath(workFolder, "files", "\(fileID).parts") }

    func removeWorkCopy(fileID: Int64) {
        try? FileManager.default.removeItem(atPath: localPath(fileID: fileID))
        try? FileManager.default.removeItem(atPath: partsFolder(fileID: fileID))
    }

    /// Partial downloads and scratch files of a run that was killed: never used (a download is renamed into place
    /// only when complete), removed at the start of the next run, which holds the lock.
    func removeLeftovers() {
        let folder = joinPath(workFolder, "files")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name.hasPrefix(".") {
            try? FileManager.default.removeItem(atPath: joinPath(folder, name))
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: workFolder)) ?? [] where name.hasPrefix("replay-") {
            try? FileManager.default.removeItem(atPath: joinPath(workFolder, name))
        }
    }
}
