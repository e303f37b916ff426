import AsyncHTTPClient
import BridgeRun
import ChangeFeed
import DQTAPI
import DQTAPITesting
import DQTTesting
import Delivery
import FeedMapping
import FileSources
import Foundation
import JSONLogging
import Ledger
import LibPQ
import Logging
import Publisher
import SFTP

/// Everything an end-to-end test of the unattended run needs, all real: the OpenSSH SFTP server and PostgreSQL from
/// scripts/services.sh, and dqt-api served in-process on loopback over its own fresh database (`InProcessAPI`: migrated,
/// seeded with fixtures/api/persons.ndjson; one all-roles key). The ledger gets a fresh database too; the SFTP files live in a
/// fresh folder below the SFTP user's home. All of it is dropped afterwards.
struct BridgeHarness: Sendable {
    let apiBaseURL: URL
    let apiKey: String
    let apiPool: PGPool
    /// The API's database, for a `dqt-api` process serving the same data.
    let apiDatabaseURL: String
    var ledgerURL: String
    /// The test's folder on the local disk (the SFTP home's `folder`).
    let localRoot: String
    /// The same folder as the SFTP server names it (relative to the login folder).
    let remoteRoot: String
    let scratch: String
    let logs: LogLines
    let httpClient: HTTPClient

    static var repository: String { repositoryRoot.path }

    static var servicesAvailable: Bool {
        TestServices.shouldRun(
            TestServices.databaseURL, TestServices.sftpHost, TestServices.sftpPort, TestServices.sftpUser,
            TestServices.sftpEd25519Key, TestServices.sftpKnownHosts, TestServices.sftpRoot)
    }

    /// Whether the suites that run the `dqt-bridge` binary against the services run here (always in CI).
    static var binaryAndServicesAvailable: Bool {
        TestServices.isCI || (servicesAvailable && (try? bridgeBinary()) != nil)
    }

    /// `apiAdminURL`: the PostgreSQL the API's database is made on (the shared test server by default).
    static func with(apiAdminURL: String? = nil, _ body: @Sendable (BridgeHarness) async throws -> Void) async throws {
        let sftpHome = try TestServices.require(TestServices.sftpRoot)
        try await TemporaryDatabase.with(prefix: "bridge_ledger_test") { ledgerDatabase in
            try await InProcessAPI.with(
                databasePrefix: "bridge_api_test", adminURL: apiAdminURL,
                keys: { connection in
                    try APIKeys.create(connection, name: "bridge-test", roles: Role.allCases, expiresAt: nil, rateLimit: 1_000_000).key
                }
            ) { api, key in
                let suffix = "\(UInt64.random(in: 0...UInt64.max) % 1_000_000_000_000)"
                let remoteRoot = "bridge-tests/\(suffix)"
                let localRoot = joinPath(sftpHome, remoteRoot)
                let scratch = NSTemporaryDirectory() + "bridge-test-\(suffix)"
                try makeSharedFolder(localRoot)
                // Every feed's pickup folder exists, as a partner's does: a missing one fails its feed's poll.
                for folder in try FeedCatalog.load(directory: joinPath(repository, "mappings")).feeds.compactMap(\.source.folder) {
                    try makeSharedFolder(joinPath(localRoot, folder))
                }
                try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
                let httpClient = makeBridgeHTTPClient(timeoutSeconds: 30, connections: PublisherSettings().concurrency)
                func cleanUp() async {
                    try? await httpClient.shutdown()
                    try? FileManager.default.removeItem(atPath: localRoot)
                    try? FileManager.default.removeItem(atPath: scratch)
                }
                let harness = BridgeHarness(
                    apiBaseURL: URL(string: api.baseURL)!, apiKey: key, apiPool: api.pool, apiDatabaseURL: api.databaseURL,
                    ledgerURL: ledgerDatabase.url, localRoot: localRoot, remoteRoot: remoteRoot, scratch: scratch, logs: LogLines(),
                    httpClient: httpClient)
                do {
                    try await body(harness)
                } catch {
                    await cleanUp()
                    throw error
                }
                await cleanUp()
            }
        }
    }

    /// A folder both root (the tests) and the SFTP user can create and rename entries in.
    static func makeSharedFolder(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        var current = path
        while current.count > 1 {
            chmod(current, 0o777)
            if current.hasSuffix("bridge-tests") { break }
            current = (current as NSString).deletingLastPathComponent
        }
    }

    // MARK: Configuration and runs

    /// A configuration for this test: the SFTP server (feed folders below the test's folder), this API, quick
    /// stability (0 s) unless `adjust` says otherwise.
    func configuration(_ adjust: (inout RunConfiguration) -> Void = { _ in }) throws -> RunConfiguration {
        let keyFile = joinPath(scratch, "api-key")
        try Data(apiKey.utf8).write(to: URL(fileURLWithPath: keyFile))
        var api = RunConfiguration.APISettings(baseURL: apiBaseURL.absoluteString)
        api.keyFile = keyFile
        api.batchSize = 3
        api.concurrency = 2
        api.baseDelaySeconds = 0.01
        api.maxDelaySeconds = 0.05
        api.maxAttempts = 3
        var configuration = RunConfiguration(api: api)
        configuration.mappings = joinPath(Self.repository, "mappings")
        configuration.workFolder = joinPath(scratch, "work")
        configuration.metricsFile = joinPath(scratch, "metrics/dqt_bridge.prom")
        configuration.reportsFolder = joinPath(scratch, "reports")
        configuration.sftp = RunConfiguration.SFTPSettings(
            host: try TestServices.require(TestServices.sftpHost), port: Int(try TestServices.require(TestServices.sftpPort)),
            user: try TestServices.require(TestServices.sftpUser), keyFile: try TestServices.require(TestServices.sftpEd25519Key),
            knownHosts: try TestServices.require(TestServices.sftpKnownHosts), root: remoteRoot)
        configuration.folder = RunConfiguration.FolderSettings(root: localRoot)
        configuration.defaultSource = .sftp
        for feed in ["ewc-induction", "ewc-qts", "prohibition-notices", "ab-induction", "tps-workforce", "capita-import", "capita-register"] {
            configuration.feeds[feed] = RunConfiguration.FeedOverride(stableSeconds: 0, minimumAgeSeconds: 0)
        }
        adjust(&configuration)
        return configuration
    }

    func environment(
        _ configuration: RunConfiguration, transport: (any BatchTransport)? = nil, catalog: FeedCatalog? = nil,
        stop: StopFlag = StopFlag()
    ) throws -> RunEnvironment {
        let logs = self.logs
        let logger = Logger(label: "dqt-bridge-test") { label in JSONLogHandler(label: label, level: .debug) { logs.append($0) } }
        let sftp = try configuration.sftpConfiguration()
        let root = configuration.sftp?.root ?? ""
        let folderRoot = configuration.folder?.root ?? localRoot
        let imap = try configuration.imapSettings()
        let scratchLogger = logger
        return RunEnvironment(
            configuration: configuration, catalog: try catalog ?? FeedCatalog.load(directory: configuration.mappings),
            ledger: PostgresLedger(conninfo: ledgerURL, maximumConnections: 4, reconnectAttempts: 2),
            transport: transport ?? GeneratedClientTransport(baseURL: apiBaseURL, apiKey: apiKey, httpClient: httpClient),
            logger: logger, stop: stop, changeFeed: HTTPChangeFeed(baseURL: apiBaseURL, apiKey: apiKey, httpClient: httpClient),
            makeSFTPDelivery: { folder, scratch in
                SFTPDelivery(configuration: sftp!, folder: joinPath(root, folder), scratchFolder: scratch, logger: scratchLogger)
            },
            sourceAlerts: HTTPSourceAlerts(baseURL: apiBaseURL, apiKey: apiKey, httpClient: httpClient),
            makeSource: { kind in
                if kind == .sftp { return SFTPSource(configuration: sftp!, root: root, logger: logger) }
                if kind == .imap, let imap { return IMAPSource(endpoint: imap.endpoint, processed: imap.processed, quarantine: imap.quarantine) }
                return FolderSource(root: folderRoot)
            })
    }

    /// One pass with this configuration.
    func run(
        _ configuration: RunConfiguration, feeds: [String]? = nil, transport: (any BatchTransport)? = nil, catalog: FeedCatalog? = nil
    ) async throws -> RunOutcome {
        let environment = try environment(configuration, transport: transport, catalog: catalog)
        defer { environment.ledger.close() }
        return await BridgeRunner(environment: environment).run(options: RunOptions(feeds: feeds))
    }

    func replay(_ configuration: RunConfiguration, _ request: ReplayRequest) async throws -> RunOutcome {
        let environment = try environment(configuration)
        defer { environment.ledger.close() }
        return await BridgeRunner(environment: environment).replay(request)
    }

    /// The configuration as a YAML file, for runs of the `dqt-bridge` binary.
    func writeConfigurationFile(_ configuration: RunConfiguration) throws -> String {
        var yaml = """
            mappings: \(configuration.mappings)
            workFolder: \(configuration.workFolder)
            metricsFile: \(configuration.metricsFile ?? joinPath(scratch, "metrics.prom"))
            reportsFolder: \(configuration.reportsFolder ?? joinPath(scratch, "reports"))
            databaseURLEnv: DQT_BRIDGE_DATABASE_URL
            api:
              baseURL: \(configuration.api.baseURL)
              keyFile: \(configuration.api.keyFile!)
              batchSize: \(configuration.api.batchSize ?? 500)
              concurrency: \(configuration.api.concurrency ?? 4)
              maxAttempts: \(configuration.api.maxAttempts ?? 8)
              baseDelaySeconds: \(configuration.api.baseDelaySeconds ?? 0.5)
              maxDelaySeconds: \(configuration.api.maxDelaySeconds ?? 30)
            sftp:
              host: \(configuration.sftp!.host)
              port: \(configuration.sftp!.port ?? 22)
              user: \(configuration.sftp!.user)
              keyFile: \(configuration.sftp!.keyFile)
              knownHosts: \(configuration.sftp!.knownHosts)
              root: \(configuration.sftp!.root ?? "")
            feeds:

            """
        for (feed, override) in configuration.feeds.sorted(by: { $0.key < $1.key }) {
            yaml += "  \(feed): {stableSeconds: \(override.stableSeconds ?? 30), minimumAgeSeconds: \(override.minimumAgeSeconds ?? 60)}\n"
        }
        let path = joinPath(scratch, "bridge.yaml")
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Runs the `dqt-bridge` binary with this test's ledger; its exit status (negative: killed by that signal) and
    /// standard output.
    func runBinary(_ arguments: [String], environment extra: [String: String] = [:]) async throws -> (status: Int32, output: String) {
        var environment = ProcessInfo.processInfo.environment
        environment["DQT_BRIDGE_DATABASE_URL"] = ledgerURL
        environment["DQT_BRIDGE_LOG_LEVEL"] = "warning"
        environment.merge(extra) { $1 }
        let run = try await ChildProcess.run(try bridgeBinary(), arguments, environment: environment)
        return (run.status, run.stdout)
    }

    // MARK: Files

    /// Writes `content` as `folder/name` below the test's folder (as a partner's upload would appear).
    @discardableResult
    func place(_ content: String, in folder: String, as name: String, modified: Date? = nil) throws -> String {
        try place(Data(content.utf8), in: folder, as: name, modified: modified)
    }

    @discardableResult
    func place(_ content: Data, in folder: String, as name: String, modified: Date? = nil) throws -> String {
        let directory = joinPath(localRoot, folder)
        try Self.makeSharedFolder(directory)
        let path = joinPath(directory, name)
        try content.write(to: URL(fileURLWithPath: path))
        chmod(path, 0o666)
        if let modified {
            try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: path)
        }
        return path
    }

    func files(in folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: joinPath(localRoot, folder))) ?? []).sorted()
    }

    // MARK: Looking inside

    func ledgerQuery<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) throws -> T {
        let connection = try PGConnection(ledgerURL)
        return try body(connection)
    }

    func ledgerInt(_ sql: String, _ params: [PGValue?] = []) throws -> Int {
        try ledgerQuery { try $0.query(sql, params).int(0, 0) ?? 0 }
    }

    func apiInt(_ sql: String, _ params: [PGValue?] = []) async throws -> Int {
        try await apiPool.withConnection { try $0.query(sql, params).int(0, 0) ?? 0 }
    }

    /// Writes the API stored (one row per applied idempotency key).
    func appliedWrites() async throws -> Int {
        try await apiInt("SELECT count(*) FROM idempotency_keys")
    }
}

/// Synthetic files (made-up people who exist in fixtures/api/persons.ndjson).
enum Synthetic {
    static let inductionHeader =
        "REFERENCE_NO,FIRST_NAME,LAST_NAME,DATE_OF_BIRTH,START_DATE,PASS_DATE,FAIL_DATE,EMPLOYER_NAME,EMPLOYER_CODE,IND_STATUS_NAME\r\n"

    /// An EWC induction file with `good` valid rows (TRNs 1000002...) and `bad` rows refused by the mapping.
    static func induction(good: Int = 3, bad: Int = 0, salt: String = "") -> String {
        let people = [
            ("1000002", "Siâneg", "Llŷnffug", "07/03/1974"), ("1000003", "Dŵrwen", "Ap Ffugiŵr", "10/04/1981"),
            ("1000004", "Gwenllâf", "Prŷsample", "13/05/1988"), ("1000005", "Ŷfory", "Tŵtest", "16/06/1960"),
            ("1000006", "Mâbffug", "Ffugiâd", "19/07/1967"),
        ]
        var text = inductionHeader
        for index in 0..<good {
            let person = people[index % people.count]
            text += "\(person.0),\(person.1),\(person.2),\(person.3),01/09/2024,18/07/2025,,Ysgol Ffug\(salt),6612001,Pass\r\n"
        }
        for _ in 0..<bad {
            text += "10000X2,Bad,Row,31/02/1974,01/09/2024,18/07/2025,,Ysgol,6612001,Maybe\r\n"
        }
        return text
    }

    /// An EWC induction file passing the induction of these persons (TRN 1000001... with their dates of birth from
    /// fixtures/api/persons.ndjson; the first 10 have QTS and an induction still to complete).
    static func induction(persons: ClosedRange<Int>) -> String {
        let births = [
            "04/02/1967", "07/03/1974", "10/04/1981", "13/05/1988", "16/06/1960", "19/07/1967", "22/08/1974",
            "25/09/1981", "28/10/1988", "03/11/1960",
        ]
        var text = inductionHeader
        for number in persons {
            text += "\(1_000_000 + number),Ffug,Enw,\(births[(number - 1) % births.count]),01/09/2024,18/07/2025,,Ysgol Ffug,6612001,Pass\r\n"
        }
        return text
    }

    /// An email with a prohibition-notices CSV attachment, DKIM-signed for the sender's domain as our receiving MTA
    /// records it.
    static func notices(from sender: String, rows: Int = 2) -> String {
        var csv = "TRN,Date of birth,Full name,Prohibition code,Details,Alert start date,Alert end date,Reference\r\n"
        for index in 0..<rows {
            csv += "100000\(index + 2),07/03/1974,Ffug Person,T\(index % 2 + 1),Synthetic notice,01/10/2026,,NOTICE-\(index + 1)\r\n"
        }
        let encoded = Data(csv.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        let domain = sender.split(separator: "@").last.map(String.init) ?? ""
        return """
            Authentication-Results: mx.tq.education.gov.example; dkim=pass header.d=\(domain)\r
            From: "Alerts" <\(sender)>\r
            To: tq-unit@education.gov.example\r
            Subject: Prohibition notices\r
            Date: Fri, 20 Nov 2026 09:15:00 +0000\r
            MIME-Version: 1.0\r
            Content-Type: multipart/mixed; boundary="b1"\r
            \r
            --b1\r
            Content-Type: text/plain; charset=utf-8\r
            \r
            Notices attached.\r
            --b1\r
            Content-Type: text/csv; name="notices.csv"\r
            Content-Disposition: attachment; filename="notices.csv"\r
            Content-Transfer-Encoding: base64\r
            \r
            \(encoded)\r
            --b1--\r

            """
    }
}
