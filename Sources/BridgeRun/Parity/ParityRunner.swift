public import BridgeReport
import DQTModel
import FeedMapping
import FileSources
public import Foundation
import Ledger
import Logging

/// What `dqt-bridge parity` compares.
public struct ParityRequest: Sendable {
    public var feed: String
    /// The shadow file (default: the feed's newest shadow file).
    public var fileID: Int64?
    /// A local copy of the legacy job's outcome file (default: the one beside the input, `<name>.outcome.csv`).
    public var legacyPath: String?
    /// Where the JSON and HTML go (default: `<reportsFolder>/parity`, else `<workFolder>/parity`).
    public var outputFolder: String?
    public var unmask: Bool
    public var readBack: Bool

    public init(
        feed: String, fileID: Int64? = nil, legacyPath: String? = nil, outputFolder: String? = nil, unmask: Bool = false, readBack: Bool = true
    ) {
        self.feed = feed
        self.fileID = fileID
        self.legacyPath = legacyPath
        self.outputFolder = outputFolder
        self.unmask = unmask
        self.readBack = readBack
    }
}

public struct ParityOutcome: Sendable {
    /// 0 full agreement, 1 disagreements, 2 nothing compared (the reason in `summary`).
    public let exitStatus: Int32
    public let summary: String
    public let report: ParityReport?
    public let jsonPath: String?
}

/// Compares one shadow file with its legacy job's outcome and the API's state, writes the report (JSON and HTML) and
/// records the file's parity in the ledger, where promotion reads it.
public struct ParityRunner: Sendable {
    let environment: RunEnvironment
    let stateReader: (any StateReader)?

    public init(environment: RunEnvironment, stateReader: (any StateReader)?) {
        self.environment = environment
        self.stateReader = stateReader
    }

    public func run(_ request: ParityRequest, now: Date = Date()) async -> ParityOutcome {
        func failed(_ message: String) -> ParityOutcome {
            ParityOutcome(exitStatus: 2, summary: "dqt-bridge parity: \(message)", report: nil, jsonPath: nil)
        }
        let ledger = environment.ledger
        guard environment.catalog.feed(id: request.feed) != nil else { return failed("no inbound feed \(request.feed) in the mappings") }
        do {
            try await ledger.migrate()
            guard let file = try await shadowFile(request) else {
                return failed("feed \(request.feed) has no shadow file\(request.fileID.map { " with id \($0)" } ?? "") to compare")
            }
            let (legacyPath, legacySource) = try await legacyOutcome(for: file, request: request)
            var legacy = try LegacyOutcomeReader(path: legacyPath)
            var report = ParityReport(
                feed: file.feed, fileID: file.id, fileName: file.name, sha256: file.sha256, comparedAt: now, legacySource: legacySource,
                unmasked: request.unmask)
            let readBack = request.readBack ? stateReader.map(ReadBack.init(reader:)) : nil
            try await ParityComparison(ledger: ledger, readBack: readBack).compare(file: file, legacy: &legacy, into: &report)

            let folder = absolute(
                request.outputFolder ?? joinPath(environment.configuration.reportsFolder ?? environment.configuration.workFolder, "parity"))
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let base = joinPath(folder, "\(file.feed)-file-\(file.id)-parity")
            try write(report.json.serialized + "\n", to: base + ".json")
            try write(report.html, to: base + ".html")
            let summary = ParitySummary(
                feed: file.feed, fileID: file.id, fileName: file.name, comparedAt: now, rowsCompared: report.matrix.compared,
                rowsAgreed: report.matrix.agreed)
            let counts = Dictionary(uniqueKeysWithValues: ParityReport.ReadBackClass.allCases.map { ($0.rawValue, report.readBack[$0] ?? 0) })
            try await ledger.recordParity(ParityResult(summary: summary, readBack: counts, reportPath: base + ".json"))
            await rewriteRunReport(runID: file.lastRunID)
            environment.logger.info(
                "parity compared",
                metadata: [
                    "feed": "\(file.feed)", "file_id": "\(file.id)", "rows": "\(summary.rowsCompared)", "agreed": "\(summary.rowsAgreed)",
                ])
            let percent = String(format: "%.3f", report.agreementPercent)
            let readBackText =
                readBack == nil
                ? "not read back"
                : ParityReport.ReadBackClass.allCases.map { "\($0.rawValue) \(report.readBack[$0] ?? 0)" }.joined(separator: ", ")
            let text = """
                dqt-bridge parity: \(file.feed) file \(file.id) (\(file.name)): \(summary.rowsAgreed) of \(summary.rowsCompared) rows agree (\(percent) %); \
                \(report.matrix.onlyBridgeAccepted) accepted only by the bridge, \(report.matrix.onlyLegacyAccepted) only by the legacy job, \
                \(report.matrix.missingInLegacy) missing in the legacy outcome, \(report.matrix.missingInBridge) missing in the bridge
                  planned writes: \(readBackText)
                  report: \(base).html
                """
            return ParityOutcome(
                exitStatus: summary.rowsAgreed == summary.rowsCompared ? 0 : 1, summary: text, report: report, jsonPath: base + ".json")
        } catch {
            return failed("\(error)")
        }
    }

    /// The requested file, which must be one of the feed's shadow files, or the feed's newest shadow file.
    func shadowFile(_ request: ParityRequest) async throws -> FileRow? {
        let ledger = environment.ledger
        if let id = request.fileID {
            guard let file = try await ledger.file(id: id), file.feed == request.feed else { return nil }
            guard file.state == .shadowed else {
                throw ParityError("file \(id) is \(file.state.rawValue): parity compares a shadow feed's files (state shadowed)")
            }
            return file
        }
        return try await ledger.newestFile(feed: request.feed, state: .shadowed)
    }

    /// The legacy outcome's local path and how to name its origin: the given file, or the one beside the input on its
    /// source, fetched into the work folder.
    func legacyOutcome(for file: FileRow, request: ParityRequest) async throws -> (String, String) {
        if let path = request.legacyPath { return (path, path) }
        guard let kind = SourceKind(rawValue: file.transport) else {
            throw ParityError("file \(file.id) came by \(file.transport): give its legacy outcome with --legacy FILE")
        }
        let source = try environment.makeSource(kind)
        do {
            let remote = file.sourcePath + LegacyOutcomeReader.suffix
            guard try await source.stat(remote) != nil else {
                throw ParityError("no legacy outcome beside the file: \(kind.rawValue):\(remote) does not exist (or give --legacy FILE)")
            }
            let folder = joinPath(environment.configuration.workFolder, "parity")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let local = joinPath(folder, "\(file.id)\(LegacyOutcomeReader.suffix)")
            _ = try await source.fetch(remote, to: local, progress: nil)
            await source.close()
            return (local, "\(kind.rawValue):\(remote)")
        } catch {
            await source.close()
            throw error
        }
    }

    /// The run that shadowed the file links its parity: its report is written again when the run wrote one.
    func rewriteRunReport(runID: Int64) async {
        guard let folder = environment.configuration.reportsFolder else { return }
        do {
            let report = try await RunReportBuilder(ledger: environment.ledger, catalog: environment.catalog).build(runID: runID)
            try report.write(folder: folder)
        } catch {
            environment.logger.error("cannot write the run report again", metadata: ["run": "\(runID)", "error": "\(error)"])
        }
    }

    private func write(_ text: String, to path: String) throws {
        let output = try OutputFile(path: path)
        try output.write(text)
        try output.close()
    }

    private func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : joinPath(FileManager.default.currentDirectoryPath, path)
    }
}

struct ParityError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
