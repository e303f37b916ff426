import DQTModel
import FeedMapping
import Foundation
import Ledger
import Logging

/// One pass of the unattended run. The runner chooses the feeds, takes the lock, starts the run's row in the ledger
/// (marking runs that died as interrupted, so their files are resumed), runs its ``RunStage``s in order with one shared
/// ``RunContext``, then finishes: the run row, the metrics file, the reports, the lock released.
///
/// The stages do the work: today the ``InboundStage``, which composes the ``Poller`` (listing and stability), the
/// ``FileStateMachine`` (fetch, dedup, check and stage, publish) and the ``Archiver``; then the ``ExportStage``
/// (outbound feeds) and the ``RetentionStage`` (what the bridge finished with long enough ago), each added to
/// `stages` with no change to the others (see ``RunStage``).
///
/// Every state is written to the ledger before the step that leaves it, so a crash anywhere leaves a state the next
/// pass resumes from without anyone's help.
public final class BridgeRunner {
    let environment: RunEnvironment
    /// The stages of a pass, in order.
    let stages: [any RunStage]

    public init(environment: RunEnvironment) {
        self.environment = environment
        self.stages = [InboundStage(), ExportStage(), NoticeStage(), RetentionStage()]
    }

    public func run(options: RunOptions = RunOptions(), command: String = "run") async -> RunOutcome {
        let started = ContinuousClock.now
        let context = RunContext(environment: environment, today: options.today)
        let catalog = environment.catalog
        // Which feeds.
        var feeds = catalog.feeds.filter { $0.status.isPolled }
        // A mapping that does not load holds back its own feed only: the run reports it and fails (exit 2).
        for broken in catalog.broken where options.feeds.map({ $0.isEmpty || $0.contains(broken.feed) }) ?? true {
            context.tally.failures.append(broken.summary)
            context.tally.heldBack.append(broken.feed)
            context.logger.error(
                "a mapping does not load; its feed is held back",
                metadata: ["feed": "\(broken.feed)", "error": "\(broken.errors.map(\.description).joined(separator: "; "))"])
        }
        if let wanted = options.feeds, !wanted.isEmpty {
            let unknown = wanted.filter { id in
                catalog.feed(id: id) == nil && catalog.outboundFeed(id: id) == nil && !catalog.broken.contains { $0.feed == id }
            }
            if !unknown.isEmpty {
                let message = "no feed \(unknown.joined(separator: ", ")); feeds: \(catalog.feeds.map(\.id).joined(separator: ", "))"
                return RunOutcome(
                    runID: nil, exitStatus: 2, summary: "dqt-bridge \(command): \(message)", tally: context.tally, lockHeldElsewhere: false)
            }
            for id in wanted {
                if let feed = catalog.feed(id: id), !feed.status.isPolled {
                    context.logger.warning(
                        "feed is not polled in its lifecycle status", metadata: ["feed": "\(id)", "status": "\(feed.status.rawValue)"])
                }
            }
            feeds = feeds.filter { wanted.contains($0.id) }
            context.requestedFeeds = Set(wanted)
        }
        context.polledFeeds = feeds
        return await pass(context, command: command, feedNames: feeds.map(\.id), stages: stages, started: started)
    }

    /// Takes the lock, starts the run's row, runs `stages` in order, then finishes the row, the metrics and the reports
    /// and releases the lock.
    func pass(
        _ context: RunContext, command: String, feedNames: [String], stages: [any RunStage], started: ContinuousClock.Instant
    ) async -> RunOutcome {
        let ledger = environment.ledger
        do {
            try await ledger.migrate()
            guard let lock = try await ledger.acquireRunLock() else {
                let holder = try? await ledger.runningRun()
                let who = holder.map { "run \($0.id) (\($0.command) on \($0.host), pid \($0.pid), started \($0.startedAt))" } ?? "another run"
                let message = "dqt-bridge \(command): \(who) holds the lock; nothing to do"
                context.logger.info("another run holds the lock", metadata: ["holder": "\(holder.map { String($0.id) } ?? "unknown")"])
                return RunOutcome(runID: nil, exitStatus: 0, summary: message, tally: context.tally, lockHeldElsewhere: true)
            }
            context.lock = lock
        } catch {
            let message = "dqt-bridge \(command): the ledger database cannot be used: \(error)"
            context.logger.error("ledger unavailable", metadata: ["error": "\(error)"])
            return RunOutcome(runID: nil, exitStatus: 2, summary: message, tally: context.tally, lockHeldElsewhere: false)
        }

        do {
            context.runID = try await ledger.startRun(
                command: command, host: ProcessInfo.processInfo.hostName, pid: Int(getpid()), feeds: feedNames)
            context.logger[metadataKey: "run"] = "\(context.runID)"
            context.tally.interruptedRuns = try await ledger.markInterruptedRuns(exceptRun: context.runID)
            context.logger.info(
                "run started",
                metadata: [
                    "feeds": .array(feedNames.map { .string($0) }),
                    "resuming_after": .array(context.tally.interruptedRuns.map { .string(String($0)) }),
                ])
            // A work folder that cannot be written fails the run with the reason, before any file is fetched into it.
            if let problem = FileProblem.writing(folder: context.workFolder) {
                throw FatalRunError(description: "workFolder \(context.workFolder): \(problem)")
            }
            context.removeLeftovers()
            for stage in stages where !context.tally.stoppedBySignal {
                try await stage.run(in: context)
            }
        } catch let error as FatalRunError {
            context.tally.fatal = error.description
            context.logger.error("run stopped", metadata: ["error": "\(error.description)"])
        } catch {
            context.tally.fatal = "\(error)"
            context.logger.error("run stopped", metadata: ["error": "\(error)"])
        }

        await context.closeSources()
        let seconds = Self.seconds(since: started)
        let runID = context.runID
        let tally = context.tally
        let summary =
            runID > 0 ? tally.summary(runID: runID, seconds: seconds, command: command) : "dqt-bridge \(command): \(tally.fatal ?? "failed")"
        if runID > 0 {
            FailPoint.hit("run-finishing")
            do {
                try await ledger.finishRun(
                    id: runID, status: tally.status, exitStatus: tally.exitStatus, countsJSON: tally.json, summary: summary,
                    error: tally.fatal ?? tally.failures.first)
            } catch {
                context.logger.error("cannot record the run's end in the ledger", metadata: ["error": "\(error)"])
            }
        }
        await writeMetrics(context, seconds: seconds)
        await writeReports(context)
        await context.lock?.release()
        context.logger.info("run finished", metadata: ["exit_status": "\(tally.exitStatus)", "seconds": "\(String(format: "%.2f", seconds))"])
        return RunOutcome(runID: runID > 0 ? runID : nil, exitStatus: tally.exitStatus, summary: summary, tally: tally, lockHeldElsewhere: false)
    }

    static func seconds(since started: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - started
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    // MARK: End of run

    func writeMetrics(_ context: RunContext, seconds: Double) async {
        let metrics = context.metrics
        let tally = context.tally
        metrics.set("dqt_bridge_run_duration_seconds", [:], seconds)
        metrics.set("dqt_bridge_run_exit_status", [:], Double(tally.exitStatus))
        metrics.set("dqt_bridge_run_finished_timestamp_seconds", [:], Date().timeIntervalSince1970.rounded())
        metrics.set("dqt_bridge_files_unfinished", [:], Double(tally.feeds.values.map(\.unfinished).reduce(0, +)))
        do {
            ExpectedArrivals.record(try await ExpectedArrivals.check(catalog: context.catalog, ledger: context.ledger, at: Date()), in: metrics)
        } catch {
            context.logger.error("cannot judge the expected arrivals", metadata: ["error": "\(error)"])
        }
        for summary in (try? await context.ledger.exportSummaries()) ?? [] {
            metrics.set("dqt_bridge_exports_pending", ["feed": summary.feed], Double(summary.pending))
            metrics.set("dqt_bridge_exports_delivered", ["feed": summary.feed], Double(summary.delivered))
            if let last = summary.lastDelivered?.deliveredAt {
                metrics.set("dqt_bridge_export_last_delivered_timestamp_seconds", ["feed": summary.feed], last.timeIntervalSince1970.rounded())
            }
        }
        if let last = try? await context.ledger.recentRuns(limit: 50).first(where: { ($0.exitStatus ?? 2) <= 1 && $0.finishedAt != nil }) {
            metrics.set("dqt_bridge_last_success_timestamp_seconds", [:], last.finishedAt!.timeIntervalSince1970.rounded())
        }
        guard let path = context.configuration.metricsFile else { return }
        do {
            try metrics.write(to: path)
        } catch {
            context.logger.error("cannot write the metrics file", metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }

    func writeReports(_ context: RunContext) async {
        guard let folder = context.configuration.reportsFolder, context.runID > 0 else { return }
        do {
            var builder = RunReportBuilder(ledger: context.ledger, catalog: context.catalog)
            builder.reportsFolder = folder
            let report = try await builder.build(runID: context.runID)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try report.write(folder: folder)
        } catch {
            context.logger.error("cannot write the run report", metadata: ["folder": "\(folder)", "error": "\(error)"])
        }
    }
}
