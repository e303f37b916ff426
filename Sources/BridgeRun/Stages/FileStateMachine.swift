import FeedMapping
import FileSources
import Foundation
import Ledger
import Logging
import Publisher

/// One file's way through a run, over the ledger's states:
///
///     discovered --fetch--> downloaded --route, dedup, check and stage--> parsed --> publishing --publish--> published
///                                                     \--> duplicate, quarantined      \--> shadowed (shadow feeds)
///     (fetch may end in left or gone; every terminal state is then archived)
///
/// Invariant: each state is written to the ledger before the step that leaves it begins, and every step can be
/// repeated from its starting state, so a run that dies anywhere leaves a file the next run's ``advance(_:rawPath:)``
/// finishes from where it stopped. The fail points (`fetching`, `fetched`, `staged`, `published` here; `archive-planned`
/// and `archived` in the ``Archiver``) name those moments for the crash suite.
struct FileStateMachine {
    let context: RunContext
    let archiver: Archiver

    init(context: RunContext) {
        self.context = context
        self.archiver = Archiver(context: context)
    }

    /// Moves a file through its states until it is done (terminal and archived) or must wait for a later run.
    /// Only fatal errors are thrown; anything else is recorded on the file and the run goes on.
    /// - Parameter rawPath: the path exactly as the server names it, when the file was just listed (nil on resume:
    ///   the ledger's path is used).
    func advance(_ initial: FileRow, rawPath: String?) async throws {
        var file = initial
        var fileLogger = context.logger
        fileLogger[metadataKey: "file_id"] = "\(file.id)"
        fileLogger[metadataKey: "feed"] = "\(file.feed)"
        do {
            steps: while true {
                switch file.state {
                case .left:
                    return
                case .discovered:
                    file = try await fetch(file, rawPath: rawPath, logger: fileLogger)
                case .downloaded:
                    file = try await check(file, logger: fileLogger)
                    fileLogger[metadataKey: "feed"] = "\(file.feed)"
                case .parsed:
                    file = try await choosePublishing(file)
                case .publishing:
                    file = try await publish(file, logger: fileLogger)
                    if file.state == .publishing { break steps }
                case .published, .shadowed, .quarantined, .duplicate, .gone:
                    try await archiver.archive(file, rawPath: rawPath, logger: fileLogger)
                    context.removeWorkCopy(fileID: file.id)
                    break steps
                }
            }
        } catch let error as FatalRunError {
            throw error
        } catch let error as FileSourceError where error.isFatal {
            throw FatalRunError(description: error.description)
        } catch let error as RunLockLost {
            throw FatalRunError(description: error.description)
        } catch is CancellationError {
            throw FatalRunError(description: "cancelled")
        } catch {
            let code: String
            switch error {
            case is FileSourceError: code = "source-error"
            case is PublishError: code = "publish-error"
            default: code = "error"
            }
            context.tally.failures.append("file \(file.id) (\(file.feed) \(file.name)): \(error)")
            fileLogger.error(
                "the file could not be finished in this run; the next run resumes it",
                metadata: [
                    "state": "\(file.state.rawValue)", "error": "\(error)",
                ])
            try? await context.ledger.recordError(id: file.id, runID: context.runID, code: code, message: "\(error)")
        }
        note(file)
    }

    /// A checked file of a live feed goes on to be published; a shadow feed's stops here, reported but not sent.
    func choosePublishing(_ file: FileRow) async throws -> FileRow {
        var file = file
        if let feed = context.catalog.feed(id: file.feed), RunContext.publishes(feed) {
            try await context.ledger.setState(id: file.id, runID: context.runID, state: .publishing)
            file.state = .publishing
        } else {
            try await context.ledger.setState(
                id: file.id, runID: context.runID, state: .shadowed, reason: "shadow feed: validated and reported, not published")
            file.state = .shadowed
        }
        return file
    }

    /// Counts a file's end state in the tally and the metrics.
    func note(_ file: FileRow) {
        context.metrics.increment("dqt_bridge_files_total", ["feed": file.feed, "state": file.state.rawValue])
        context.tally.update(file.feed) { counts in
            counts.filesTaken += 1
            switch file.state {
            case .duplicate: counts.duplicates += 1
            case .quarantined: counts.quarantined += 1
            case .published: counts.published += 1
            case .shadowed: counts.shadowed += 1
            case .gone: counts.gone += 1
            case .discovered, .downloaded, .parsed, .publishing: counts.unfinished += 1
            case .left: break
            }
        }
        let note: String =
            switch file.state {
            case .duplicate: "same content as file \(file.duplicateOf.map(String.init) ?? "?"); not published again"
            case .quarantined: file.reason ?? "refused"
            case .gone: file.reason ?? "gone"
            case .published: "published"
            case .shadowed: "shadow feed: validated, not published"
            default: "unfinished (\(file.state.rawValue)): the next run resumes it"
            }
        context.tally.files.append(RunTally.FileNote(id: file.id, feed: file.feed, name: file.name, state: file.state, note: note))
    }
}
