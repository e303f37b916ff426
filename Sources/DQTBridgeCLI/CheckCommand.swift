import ArgumentParser
import BridgeReport
import DQTModel
import FeedMapping
import FileSources
import Foundation

/// `dqt-bridge check FILE`: what a legacy file becomes, with no server running.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a legacy file against its feed's mapping: records, rejected rows and a report.",
        discussion: """
            Exit status: 0 every record accepted, 1 some rows rejected, 2 the file refused or the call wrong.
            Without --feed the feed is found from the file's name; with it only that feed's mapping (FEED.yaml, when
            the folder has one) is read.
            """
    )

    @Argument(help: "The file to check (a flat file, or an .eml for emailed exchanges).")
    var file: String

    @Option(help: "The feed's id (default: found from the file name).")
    var feed: String?

    @Option(help: "Write each accepted record's API call as NDJSON to this file.")
    var records: String?

    @Option(help: "Write the mapping report here; .json or .html by extension. Repeat for both.")
    var report: [String] = []

    @Option(help: "Write rejected rows as CSV (spreadsheet-safe) to this file.")
    var rejects: String?

    @Flag(help: "Leave personal data unmasked in the rejected-rows CSV.")
    var unmask = false

    @Option(help: "Judge dates as of this day (yyyy-MM-dd), for reproducible results (default: today).")
    var today: String?

    @OptionGroup var options: MappingOptions

    func validate() throws {
        for path in report where !(path.hasSuffix(".json") || path.hasSuffix(".html")) {
            throw ValidationError("--report \(path): the report's name must end in .json or .html")
        }
        if let today, LocalDate(iso: today) == nil { throw ValidationError("--today must be a date written yyyy-MM-dd") }
    }

    func run() throws {
        let definition: FeedDefinition
        do {
            if let feed, let own = try FeedCatalog.loadFeed(id: feed, directory: options.mappings) {
                definition = own
            } else {
                definition = resolveFeed(in: try FeedCatalog.load(directory: options.mappings))
            }
        } catch {
            Self.fail(CommandFailure(message: "the mappings do not load:\n\(error)", status: 2))
        }
        if let problem = FileProblem.reading(file: file) {
            Self.fail(CommandFailure(message: "cannot read \(printable(file)): \(problem)", status: 2))
        }
        // Record keys need the file's digest before the first record, a report only at the end; the summary
        // does not show it, so a plain check does not hash the file.
        let digest = records != nil || !report.isEmpty ? BackgroundDigest(path: file) : nil
        var sha256 = ""
        if records != nil, let digest { sha256 = digestOrFail(digest) }
        let day = today.flatMap { LocalDate(iso: $0) } ?? LocalDate.today()
        // An emailed exchange's attachments are extracted here, and removed with it.
        let attachmentFolder =
            definition.email == nil
            ? nil : FileManager.default.temporaryDirectory.appendingPathComponent("dqt-bridge-check-\(UUID().uuidString)").path
        defer { if let attachmentFolder { try? FileManager.default.removeItem(atPath: attachmentFolder) } }

        var outputs = try CheckOutputs(recordsPath: records, rejectsPath: rejects, unmasked: unmask)
        let input: CheckInput =
            attachmentFolder.map { folder in .email(Result { try MailIntake.read(emlPath: file, into: folder) }) }
            ?? .file(path: file)
        var result = FeedChecker(feed: definition, context: CheckContext(today: day, countsValues: !report.isEmpty))
            .check(input, name: (file as NSString).lastPathComponent, sha256: sha256, sink: &outputs)
        try outputs.finish()
        if let digest { result.sha256 = digestOrFail(digest) }

        let mappingReport = MappingReport(result: result, feed: definition)
        for path in report {
            let file = try OutputFile(path: path)
            if path.hasSuffix(".json") {
                var bytes: [UInt8] = []
                mappingReport.json.write(to: &bytes)
                bytes.append(0x0A)
                try file.write(bytes)
            } else {
                try file.write(mappingReport.html)
            }
            try file.close()
        }

        var summary =
            "\(definition.id) \(result.file): read \(result.rowsRead), accepted \(result.accepted), rejected \(result.rejected), warnings \(result.rowsWithWarnings)"
        if let refusal = result.refusal {
            summary += "\nrefused: \(refusal.code)\(refusal.line.map { " at line \($0)" } ?? ""): \(refusal.message)"
        }
        for group in result.groups.prefix(10) {
            summary +=
                "\n  \(group.key.severity.rawValue) \(group.key.code) \(group.key.field ?? "(row)"): \(group.count) (lines \(group.lines.prefix(5).map(String.init).joined(separator: ", "))\(group.count > 5 ? ", ..." : ""))"
        }
        print(summary)
        throw ExitCode(result.exitStatus)
    }

    private func digestOrFail(_ digest: BackgroundDigest) -> String {
        do {
            return try digest.wait()
        } catch {
            let reason = FileProblem.reading(file: file) ?? "\(error)"
            Self.fail(CommandFailure(message: "cannot read \(printable(file)): \(reason)", status: 2))
        }
    }

    /// Email feeds all take `.eml` files by name: the one feed whose senders allow this email's sender (and, when
    /// several do, whose attachment patterns take one of its attachments), as a mail drop tells them apart; nil when
    /// that is not exactly one. The sender is only looked up here, not proved: the check proves it.
    static func emailFeed(_ path: String, among candidates: [FeedDefinition]) -> FeedDefinition? {
        guard path.lowercased().hasSuffix(".eml"), candidates.allSatisfy({ $0.email != nil }) else { return nil }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dqt-bridge-route-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        guard let email = try? MailIntake.read(emlPath: path, into: folder) else { return nil }
        let allowing = candidates.filter { $0.email!.allows(sender: email.sender) }
        if allowing.count == 1 { return allowing[0] }
        let taking = allowing.filter { feed in email.attachments.contains { feed.email!.takes(attachmentNamed: $0.name) } }
        return taking.count == 1 ? taking[0] : nil
    }

    private func resolveFeed(in catalog: FeedCatalog) -> FeedDefinition {
        if let feed {
            guard let definition = catalog.feed(id: feed) else {
                Self.fail(CommandFailure(message: "no feed '\(feed)'; feeds: \(catalog.feeds.map(\.id).joined(separator: ", "))", status: 2))
            }
            return definition
        }
        let candidates = catalog.feeds(matching: file)
        switch candidates.count {
        case 1: return candidates[0]
        case 0:
            Self.fail(
                CommandFailure(
                    message:
                        "no feed's file pattern matches \(printable((file as NSString).lastPathComponent)); name one with --feed (\(catalog.feeds.map(\.id).joined(separator: ", ")))",
                    status: 2))
        default:
            if let feed = Self.emailFeed(file, among: candidates) { return feed }
            Self.fail(
                CommandFailure(
                    message:
                        "several feeds match \(printable((file as NSString).lastPathComponent)): \(candidates.map(\.id).joined(separator: ", ")); name one with --feed",
                    status: 2))
        }
    }
}
