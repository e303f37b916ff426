import ArgumentParser
import BridgeReport
import BridgeRun
import DQTModel
import FeedMapping
import FileSources
import Foundation

/// `dqt-bridge reconcile FEED FILE`: a partner's reconciliation file compared with the API's alerts of its source.
struct ReconcileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Compare a partner's reconciliation file with the API's alerts of its source: only in theirs, only in ours, different.",
        discussion: """
            FEED is a mapping with a reconcile: section (dbs-reconciliations); FILE its email (.eml) or the CSV itself.
            The API is read (api.baseURL and its key from the run's configuration), never written. The file's name says
            whether it is weekly (only its references compared) or monthly (full). TRNs are masked unless --unmask.
            Exit status: 0 the two sides agree, 1 differences found, 2 the file refused (each problem with line, field
            and code) or the call wrong.
            """)

    @OptionGroup var options: RunConfigOptions

    @Argument(help: "The reconciliation feed.")
    var feed: String

    @Argument(help: "The partner's file: an .eml, or the CSV attachment itself.")
    var file: String

    @Option(help: "Write the report as JSON here.")
    var json: String?

    @Option(help: "Write the report as a self-contained HTML page here.")
    var html: String?

    @Flag(help: "Show TRNs in full.")
    var unmask = false

    @Option(help: "Judge dates as of this day (yyyy-MM-dd), for reproducible results (default: today).")
    var today: String?

    func validate() throws {
        if let today, LocalDate(iso: today) == nil { throw ValidationError("--today must be a date written yyyy-MM-dd") }
    }

    func run() async throws {
        try await runReportingFailures {
            let configuration = try options.load()
            let definition: FeedDefinition
            do {
                guard let found = try FeedCatalog.loadFeed(id: feed, directory: configuration.mappings) else {
                    throw CommandFailure(message: "no feed \(feed) in \(configuration.mappings)", status: 2)
                }
                definition = found
            } catch let failure as CommandFailure {
                throw failure
            } catch {
                throw CommandFailure(message: "the mapping does not load:\n\(error)", status: 2)
            }
            if let problem = FileProblem.reading(file: file) {
                throw CommandFailure(message: "cannot read \(printable(file)): \(problem)", status: 2)
            }
            let alerts: HTTPSourceAlerts
            do {
                guard let baseURL = URL(string: configuration.api.baseURL) else {
                    throw CommandFailure(message: "api.baseURL is not a URL", status: 2)
                }
                alerts = HTTPSourceAlerts(baseURL: baseURL, apiKey: try configuration.apiKey())
            } catch let failure as CommandFailure {
                throw failure
            } catch {
                throw CommandFailure(message: "\(error)", status: 2)
            }
            guard let reconciliation = Reconciliation(feed: definition, alerts: alerts) else {
                throw CommandFailure(message: "\(feed) is not a reconciliation feed (its mapping has no reconcile: section)", status: 2)
            }
            let attachments = FileManager.default.temporaryDirectory.appendingPathComponent("dqt-bridge-reconcile-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: attachments) }
            let input: CheckInput =
                file.lowercased().hasSuffix(".eml") ? .email(Result { try MailIntake.read(emlPath: file, into: attachments) }) : .file(path: file)
            let sha256 = try FileDigest.sha256(path: file)
            let day = today.flatMap { LocalDate(iso: $0) } ?? LocalDate.today()
            let outcome = try await reconciliation.run(
                input, name: (file as NSString).lastPathComponent, sha256: sha256, today: day, unmasked: unmask)
            switch outcome {
            case .refused(let result):
                throw CommandFailure(message: Self.refusalText(result), status: 2)
            case .reconciled(let report, _):
                if let json {
                    let output = try OutputFile(path: json)
                    var bytes: [UInt8] = []
                    report.json.write(to: &bytes)
                    bytes.append(0x0A)
                    try output.write(bytes)
                    try output.close()
                }
                if let html {
                    let output = try OutputFile(path: html)
                    try output.write(report.html)
                    try output.close()
                }
                let c = report.counts
                print(
                    "\(definition.id) \(report.file) (\(report.scope)): theirs \(c.theirs), ours \(c.ours), matched \(c.matched), only in theirs \(c.onlyInTheirs), only in ours \(c.onlyInOurs), different \(c.different)"
                )
                if !report.agrees { throw ExitCode(1) }
            }
        }
    }

    /// Every problem located: file, line, field and code.
    static func refusalText(_ result: CheckResult) -> String {
        var lines = ["\(result.file): refused"]
        if let refusal = result.refusal {
            lines.append("  \(refusal.line.map { "line \($0)" } ?? "file"): \(refusal.code): \(refusal.message)")
        }
        for problem in result.errors.prefix(20) {
            lines.append(
                "  line \(problem.line.map(String.init) ?? "-")\(problem.field.map { " field \($0)" } ?? ""): \(problem.code): \(problem.message)")
        }
        if result.errorCount > 20 { lines.append("  ... \(result.errorCount - 20) more") }
        return lines.joined(separator: "\n")
    }
}
