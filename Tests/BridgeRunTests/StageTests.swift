import DQTModel
import DQTTesting
import FeedMapping
import FileSources
import Foundation
import Ledger
import Logging
import Publisher
import Synchronization
import Testing

@testable import BridgeRun

/// The run's stages one at a time, without SFTP, an API or PostgreSQL: a folder source over a scratch folder, a
/// scripted API and the in-memory ledger (the PostgreSQL ledger's own tests prove the two stores agree).
struct StageBench {
    let root: String
    let ledger: MemoryLedger
    let environment: RunEnvironment
    let context: RunContext

    static let catalog = Result { try FeedCatalog.load(directory: joinPath(repositoryRoot.path, "mappings")) }

    /// A bench whose context has started a run over `feeds`, holding no lock (the stages only verify one they hold).
    static func with(
        feeds: [String] = ["ewc-induction", "ewc-qts"], stableSeconds: Int = 0, transport: (any BatchTransport)? = nil,
        adjust: (inout RunConfiguration) -> Void = { _ in }, clock: @escaping @Sendable () -> Date = { Date() },
        _ body: (StageBench) async throws -> Void
    ) async throws {
        let root = NSTemporaryDirectory() + "bridge-stage-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        do {
            var configuration = RunConfiguration(api: .init(baseURL: "http://127.0.0.1:1"))
            configuration.folder = .init(root: joinPath(root, "pickup"))
            configuration.workFolder = joinPath(root, "work")
            for feed in try catalog.get().feeds.map(\.id) {
                configuration.feeds[feed] = .init(stableSeconds: stableSeconds, minimumAgeSeconds: stableSeconds)
            }
            adjust(&configuration)
            let ledger = MemoryLedger()
            let pickup = joinPath(root, "pickup")
            let environment = RunEnvironment(
                configuration: configuration, catalog: try catalog.get(), ledger: ledger,
                transport: transport ?? StageTransport { operations in .results(operations.map { _ in OperationResult(status: 204) }) },
                logger: Logger(label: "stage-test") { _ in SwiftLogNoOpLogHandler() }, clock: clock,
                makeSource: { _ in FolderSource(root: pickup) })
            let context = RunContext(environment: environment, today: LocalDate(iso: BridgeHarness.today))
            context.polledFeeds = try catalog.get().feeds.filter { feeds.contains($0.id) }
            context.runID = try await ledger.startRun(command: "test", host: "test", pid: 1, feeds: feeds)
            try await body(StageBench(root: root, ledger: ledger, environment: environment, context: context))
            await context.closeSources()
        }
    }

    @discardableResult
    func place(_ content: String, in folder: String, as name: String) throws -> String {
        let directory = joinPath(root, "pickup", folder)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(content.utf8).write(to: URL(fileURLWithPath: joinPath(directory, name)))
        return joinPath(folder, name)
    }

    func files(in folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: joinPath(root, "pickup", folder))) ?? []).sorted()
    }

    func group(_ folder: String) -> FolderGroup? {
        FolderGroup.groups(feeds: context.polledFeeds, configuration: context.configuration, logger: context.logger).first { $0.folder == folder }
    }

    /// Polls `folder` and returns what the poller handed on.
    func poll(_ folder: String) async throws -> [(row: FileRow, rawPath: String)] {
        var taken: [(row: FileRow, rawPath: String)] = []
        let poller = Poller(context: context) { row, rawPath in taken.append((row, rawPath)) }
        try await poller.poll(try #require(group(folder)))
        return taken
    }

    /// Places a file and takes it through the poller, without advancing it.
    func discover(_ content: String, in folder: String, as name: String) async throws -> FileRow {
        try place(content, in: folder, as: name)
        let taken = try await poll(folder).filter { $0.row.name == name }
        return try #require(taken.first).row
    }
}

/// An API stand-in that answers every batch with `reply` and counts the batches.
final class StageTransport: BatchTransport {
    private let sent = Atomic(0)
    let reply: @Sendable ([BatchOperation]) -> BatchReply

    init(reply: @escaping @Sendable ([BatchOperation]) -> BatchReply) { self.reply = reply }

    var calls: Int { sent.load(ordering: .relaxed) }

    func send(_ operations: [BatchOperation]) async throws -> BatchReply {
        sent.add(1, ordering: .relaxed)
        return reply(operations)
    }
}

@Suite("Identifiers: source kinds and mail-drop routes")
struct IdentifierTests {
    @Test("A mail drop's ledger name is built and parsed back; a feed's name is not a mail drop")
    func mailDropRoute() {
        let route = MailDropRoute(source: .sftp, folder: "mail/inbox")
        #expect(route.ledgerFeedName == "mail:sftp:mail/inbox")
        #expect(MailDropRoute(ledgerFeedName: "mail:sftp:mail/inbox") == route)
        #expect(MailDropRoute(ledgerFeedName: "mail:folder:a:b") == MailDropRoute(source: .folder, folder: "a:b"))
        for name in ["ewc-induction", "mail:ftp:inbox", "mail:sftp", "post:sftp:inbox"] {
            #expect(MailDropRoute(ledgerFeedName: name) == nil, "\(name)")
        }
        #expect(RunTally.display("mail:folder:mail/inbox") == "mail drop mail/inbox")
        #expect(RunTally.display("ewc-induction") == "ewc-induction")
    }

    @Test("The configuration reads source words as kinds; an unknown word is named in the message")
    func sourceWords() throws {
        let folder = NSTemporaryDirectory() + "bridge-kinds-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/bridge.yaml"
        try """
        api: {baseURL: "http://x", keyEnv: K}
        folder: {root: /x}
        defaultSource: folder
        mailDrops: [{folder: mail/extra}]
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let configuration = try RunConfiguration.load(path: path, environment: [:])
        #expect(configuration.defaultSource == .folder)
        #expect(configuration.source(for: "ewc-induction") == .folder)
        #expect(configuration.mailDrops == [RunConfiguration.MailDrop(folder: "mail/extra")])

        try "api: {baseURL: \"http://x\"}\nfolder: {root: /x}\nfeeds:\n  ewc-induction: {source: ftp}\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: RunConfiguration.ConfigurationError.self) { try RunConfiguration.load(path: path, environment: [:]) }
        do {
            _ = try RunConfiguration.load(path: path, environment: [:])
        } catch {
            #expect("\(error)" == "\(path): source ftp is not one of sftp, folder, imap")
        }
        try "api: {baseURL: \"http://x\"}\nfolder: {root: /x}\ndefaultSource: sftp\n".write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try RunConfiguration.load(path: path, environment: [:])
            Issue.record("the sftp source was accepted without an sftp section")
        } catch {
            #expect("\(error)" == "\(path): a feed uses the sftp source but there is no sftp section")
        }
    }

    @Test("Folder groups: feeds sharing a folder are listed once; each mail drop once, on its source")
    func folderGroups() throws {
        let catalog = try StageBench.catalog.get()
        var configuration = RunConfiguration(api: .init(baseURL: "http://x"))
        configuration.sftp = .init(host: "h", user: "u", keyFile: "k", knownHosts: "n")
        configuration.folder = .init(root: "/x")
        configuration.feeds["tps-workforce"] = .init(source: .folder)
        configuration.mailDrops = [.init(folder: "mail/inbox"), .init(source: .folder, folder: "mail/inbox")]
        let feeds = catalog.feeds.filter { ["ewc-induction", "ewc-qts", "tps-workforce", "prohibition-notices"].contains($0.id) }
        let groups = FolderGroup.groups(feeds: feeds, configuration: configuration, logger: Logger(label: "test"))
        let summary = groups.map {
            "\($0.source.rawValue) \($0.folder) \($0.feeds.map(\.id).sorted().joined(separator: "+")) \($0.mailDrop?.ledgerFeedName ?? "-")"
        }
        #expect(
            summary == [
                "sftp ewc/pickup ewc-induction+ewc-qts -",
                "folder tps/workforce tps-workforce -",
                "sftp mail/inbox prohibition-notices mail:sftp:mail/inbox",
                "folder mail/inbox prohibition-notices mail:folder:mail/inbox",
            ])
    }

    @Test("Archive folders sit beside the pickup folder")
    func archiveFolders() {
        #expect(Archiver.archiveFolder(forPickup: "ewc/pickup", kind: "processed") == "ewc/processed")
        #expect(Archiver.archiveFolder(forPickup: "inbox", kind: "quarantine") == "inbox/quarantine")
    }
}

@Suite("Stages alone: poller, file state machine, archiver", .serialized)
struct StageTests {
    @Test("The poller leaves a file not yet stable, skips other names, and takes a stable file once")
    func pollerStability() async throws {
        try await StageBench.with(stableSeconds: 30) { bench in
            try bench.place(Synthetic.induction(), in: "ewc/pickup", as: "IND_1.csv")
            try bench.place("x", in: "ewc/pickup", as: "notes.txt")
            try bench.place("x", in: "ewc/pickup", as: ".upload.tmp")
            #expect(try await bench.poll("ewc/pickup").isEmpty)
            #expect(bench.context.tally.left.keys.sorted() == ["ewc/pickup/IND_1.csv"])
            let left = try await bench.ledger.takenFile(feeds: ["ewc-induction"], path: "ewc/pickup/IND_1.csv", size: 1, mtime: Date())
            #expect(left == nil)  // left, not taken
        }
        try await StageBench.with { bench in
            try bench.place(Synthetic.induction(), in: "ewc/pickup", as: "IND_1.csv")
            let taken = try await bench.poll("ewc/pickup")
            #expect(taken.map(\.row.feed) == ["ewc-induction"])
            #expect(taken.map(\.rawPath) == ["ewc/pickup/IND_1.csv"])
            #expect(taken.first?.row.state == .discovered)
            #expect(taken.first?.row.transport == "folder")
            #expect(taken.first?.row.origin == .folder)
            #expect(bench.context.tally.left.isEmpty)
        }
    }

    @Test("The poller quarantines an unsafe name without fetching it, and files a mail drop's email under the drop")
    func pollerUnsafeAndMail() async throws {
        try await StageBench.with(feeds: ["ewc-induction", "prohibition-notices"]) { bench in
            try bench.place("x", in: "ewc/pickup", as: "IND\u{1B}[2J.csv")
            let unsafe = try await bench.poll("ewc/pickup")
            #expect(unsafe.map(\.row.state) == [.quarantined])
            #expect(unsafe.first?.row.name == "IND\\u{1b}[2J.csv")

            try bench.place(Synthetic.notices(from: "alerts@ewc.wales.example"), in: "mail/inbox", as: "notice.eml")
            let mail = try await bench.poll("mail/inbox")
            #expect(mail.map(\.row.feed) == ["mail:folder:mail/inbox"])
            #expect(mail.first?.row.origin == .mail)
        }
    }

    @Test("The state machine takes a live feed's file to published and archives it; the same content again is a duplicate")
    func liveFileAndDuplicate() async throws {
        try await StageBench.with { bench in
            let machine = FileStateMachine(context: bench.context)
            let first = try await bench.discover(Synthetic.induction(good: 3), in: "ewc/pickup", as: "IND_1.csv")
            try await machine.advance(first, rawPath: first.sourcePath)
            let published = try #require(try await bench.ledger.file(id: first.id))
            #expect(published.state == .published)
            #expect(published.published == 3)
            #expect(published.archivedAt != nil)
            #expect(bench.files(in: "ewc/pickup").isEmpty)
            #expect(bench.files(in: "ewc/processed").count == 1)
            #expect(!FileManager.default.fileExists(atPath: bench.context.localPath(fileID: first.id)))

            let second = try await bench.discover(Synthetic.induction(good: 3), in: "ewc/pickup", as: "IND_2.csv")
            try await machine.advance(second, rawPath: second.sourcePath)
            let duplicate = try #require(try await bench.ledger.file(id: second.id))
            #expect(duplicate.state == .duplicate)
            #expect(duplicate.duplicateOf == first.id)
            #expect(bench.files(in: "ewc/processed").count == 2)
            let counts = bench.context.tally.feeds["ewc-induction"]
            #expect(counts?.published == 1)
            #expect(counts?.duplicates == 1)
            #expect(counts?.recordsPublished == 3)
            #expect(bench.context.tally.exitStatus == 0)
        }
    }

    @Test("A shadow feed's file is checked, not published, and left where it is")
    func shadowFile() async throws {
        let transport = StageTransport { _ in .refused(status: 500, retryAfter: nil, problem: nil) }
        try await StageBench.with(transport: transport) { bench in
            let qts = "REFERENCE_NO,FIRST_NAME,LAST_NAME,DATE_OF_BIRTH,CODE,QTS_DATE\r\n1000002,Siâneg,Llŷnffug,07/03/1974,49,01/09/2024\r\n"
            let file = try await bench.discover(qts, in: "ewc/pickup", as: "QTS_1.csv")
            try await FileStateMachine(context: bench.context).advance(file, rawPath: file.sourcePath)
            let row = try #require(try await bench.ledger.file(id: file.id))
            #expect(row.state == .shadowed)
            #expect(row.accepted == 1)
            #expect(bench.context.tally.feeds["ewc-qts"]?.shadowed == 1)
            #expect(bench.files(in: "ewc/pickup") == ["QTS_1.csv"])
            #expect(transport.calls == 0)
        }
    }

    @Test("When the API fails the file stays publishing, in place, and is not sent again in the same run")
    func apiDownThenResume() async throws {
        let transport = StageTransport { _ in .refused(status: 503, retryAfter: nil, problem: nil) }
        try await StageBench.with(transport: transport, adjust: { $0.api.maxAttempts = 1 }) { bench in
            let machine = FileStateMachine(context: bench.context)
            let file = try await bench.discover(Synthetic.induction(good: 2), in: "ewc/pickup", as: "IND_1.csv")
            try await machine.advance(file, rawPath: file.sourcePath)
            let row = try #require(try await bench.ledger.file(id: file.id))
            #expect(row.state == .publishing)
            #expect(!bench.context.apiAvailable)
            #expect(bench.context.tally.exitStatus == 2)
            #expect(bench.files(in: "ewc/pickup") == ["IND_1.csv"])
            let callsAfterFailure = transport.calls
            try await machine.advance(row, rawPath: nil)
            #expect(transport.calls == callsAfterFailure)  // the API failed earlier in this run: not tried again
        }
    }

    @Test("The archiver finishes a move a crash interrupted, and notes a file gone before it could be moved")
    func archiverResumes() async throws {
        try await StageBench.with { bench in
            let machine = FileStateMachine(context: bench.context)
            let archiver = Archiver(context: bench.context)
            let file = try await bench.discover(Synthetic.induction(good: 1), in: "ewc/pickup", as: "IND_1.csv")
            try await bench.ledger.setState(id: file.id, runID: bench.context.runID, state: .quarantined, reason: "test")
            // A crash after the move, before it was recorded: the planned target already holds the file.
            let target = "ewc/quarantine/planned-IND_1.csv"
            try await bench.ledger.planArchive(id: file.id, path: target)
            try FileManager.default.createDirectory(atPath: joinPath(bench.root, "pickup", "ewc/quarantine"), withIntermediateDirectories: true)
            try FileManager.default.moveItem(
                atPath: joinPath(bench.root, "pickup", file.sourcePath), toPath: joinPath(bench.root, "pickup", target))
            try await archiver.archive(try #require(try await bench.ledger.file(id: file.id)), rawPath: nil, logger: bench.context.logger)
            #expect(try await bench.ledger.file(id: file.id)?.archivedAt != nil)
            #expect(bench.files(in: "ewc/quarantine") == ["planned-IND_1.csv"])

            let gone = try await bench.discover(Synthetic.induction(good: 1, salt: "2"), in: "ewc/pickup", as: "IND_2.csv")
            try FileManager.default.removeItem(atPath: joinPath(bench.root, "pickup", gone.sourcePath))
            try await machine.advance(gone, rawPath: nil)
            let row = try #require(try await bench.ledger.file(id: gone.id))
            #expect(row.state == .gone)
            #expect(bench.context.tally.feeds["ewc-induction"]?.gone == 1)
        }
    }
}
