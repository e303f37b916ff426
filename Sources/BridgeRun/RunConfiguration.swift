import DQTModel
public import FeedMapping
public import FileSources
public import Foundation
public import Publisher
public import SFTP
import Yams

/// The run's settings, from one YAML file (`bridge.yaml`). Secrets are never in it: the database URL comes from an
/// environment variable, the API key and the SSH key's passphrase from files or environment variables it names.
/// `${NAME}` anywhere in the file is replaced by that environment variable (an unset one is an error).
///
/// ```yaml
/// databaseURLEnv: DQT_BRIDGE_DATABASE_URL
/// mappings: mappings
/// workFolder: .run/bridge/work
/// metricsFile: .run/bridge/metrics/dqt_bridge.prom
/// reportsFolder: .run/bridge/reports
/// mailOutbox: .run/bridge/outbox        # outbound files sent by email wait here for the mail system
/// api:
///   baseURL: http://127.0.0.1:8080
///   keyFile: .run/bridge/api-key        # or keyEnv: DQT_BRIDGE_API_KEY
///   batchSize: 500
///   concurrency: 4
/// sftp:
///   host: 127.0.0.1
///   port: 2222
///   user: dqtsftp
///   keyFile: .run/keys/id_ed25519
///   passphraseFile: ...                 # or passphraseEnv: ...; omit for an unencrypted key
///   knownHosts: .run/keys/known_hosts
///   root: ""                            # folder that feed folders are relative to ("" = the login folder)
/// folder:
///   root: /srv/dqt-pickup
/// imap:                                 # a mailbox whose messages are mail drops' emails (`source: imap`)
///   url: imaps://mail.example:993       # imaps: implicit TLS; imap: STARTTLS, required
///   user: tq-unit
///   passwordFile: /run/secrets/imap     # or passwordEnv: NAME
///   caFile: /etc/ssl/mail-ca.pem        # omit for the system's CAs
///   processedFolder: processed          # handled messages are moved here, refused ones to quarantineFolder
///   quarantineFolder: quarantine
/// smtp:                                 # sends the mail outbox's notices (see RunConfiguration.SMTPSettings)
///   url: smtp://mail.example:587        # smtp: STARTTLS, required; smtps: implicit TLS
///   from: tq-unit@education.gov.example
///   sentCopy: {address: tq-unit@education.gov.example, folder: INBOX}   # IMAP account: the imap section's
/// defaultSource: sftp                   # sftp or folder (default: sftp when configured)
/// stabilityWaitSeconds: 0               # wait within a run for a second listing of growing files (0: next run)
/// feeds:                                # per-feed overrides of the mapping's source settings
///   ewc-induction: {source: folder, stableSeconds: 0, minimumAgeSeconds: 0}
/// mailDrops:                            # extra folders of .eml files (each email feed's own folder is one too)
///   - {source: sftp, folder: mail/inbox}
/// retention:                            # days each class is kept once finished with (see RetentionSettings)
///   archivedFilesDays: 90
///   recordBodiesDays: 30
///   recordsDays: 365
///   reportsDays: 90
/// ```
public struct RunConfiguration: Sendable {
    public var databaseURLEnvironment = "DQT_BRIDGE_DATABASE_URL"
    public var mappings = "mappings"
    public var workFolder = ".run/bridge/work"
    public var metricsFile: String?
    public var reportsFolder: String?
    /// Where the mail outbox's entries are left for the mail system to send (outbound feeds delivered by email).
    public var mailOutbox = ".run/bridge/outbox"
    public var api: APISettings
    public var sftp: SFTPSettings?
    public var folder: FolderSettings?
    public var imap: IMAPSettings?
    /// How the mail outbox's notices are sent (nil: another mail system sends them).
    public var smtp: SMTPSettings?
    public var defaultSource: SourceKind?
    public var stabilityWaitSeconds: Double = 0
    /// Shadow feeds leave their files where they are (the legacy job owns them) unless this is true.
    public var shadowMovesFiles = false
    public var feeds: [String: FeedOverride] = [:]
    public var mailDrops: [MailDrop] = []
    /// How long what the bridge has finished with is kept.
    public var retention = RetentionSettings()
    /// Where this configuration was read from (for messages).
    public var path: String = "bridge.yaml"

    public struct APISettings: Sendable, Codable {
        public var baseURL: String
        public var keyFile: String?
        public var keyEnv: String?
        public var batchSize: Int?
        public var concurrency: Int?
        public var timeoutSeconds: Double?
        public var maxAttempts: Int?
        public var baseDelaySeconds: Double?
        public var maxDelaySeconds: Double?
        public var maxRetryAfterSeconds: Double?

        public init(baseURL: String, keyFile: String? = nil, keyEnv: String? = nil) {
            self.baseURL = baseURL
            self.keyFile = keyFile
            self.keyEnv = keyEnv
        }
    }

    public struct SFTPSettings: Sendable, Codable {
        public var host: String
        public var port: Int?
        public var user: String
        public var keyFile: String
        public var passphraseFile: String?
        public var passphraseEnv: String?
        public var knownHosts: String
        public var root: String?
        public var connectTimeoutSeconds: Double?
        public var operationTimeoutSeconds: Double?
        public var keepaliveSeconds: Double?
        public var readBufferKiB: Int?
        /// SFTP sessions that download one large file together (default 2; 1 for a server that limits sessions).
        public var downloadStreams: Int?

        public init(
            host: String, port: Int? = nil, user: String, keyFile: String, passphraseFile: String? = nil, passphraseEnv: String? = nil,
            knownHosts: String, root: String? = nil
        ) {
            self.host = host
            self.port = port
            self.user = user
            self.keyFile = keyFile
            self.passphraseFile = passphraseFile
            self.passphraseEnv = passphraseEnv
            self.knownHosts = knownHosts
            self.root = root
        }
    }

    public struct FolderSettings: Sendable, Codable {
        public var root: String
        public init(root: String) { self.root = root }
    }

    public struct FeedOverride: Sendable, Codable {
        public var source: SourceKind?
        public var folder: String?
        public var stableSeconds: Int?
        public var minimumAgeSeconds: Int?
        public var doneMarker: String?
        /// For a feed with an HTTPS source: another URL (same template tokens) and extra CA file than its mapping's.
        public var httpsURL: String?
        public var httpsCAFile: String?

        public init(
            source: SourceKind? = nil, folder: String? = nil, stableSeconds: Int? = nil, minimumAgeSeconds: Int? = nil, doneMarker: String? = nil,
            httpsURL: String? = nil, httpsCAFile: String? = nil
        ) {
            self.source = source
            self.folder = folder
            self.stableSeconds = stableSeconds
            self.minimumAgeSeconds = minimumAgeSeconds
            self.doneMarker = doneMarker
            self.httpsURL = httpsURL
            self.httpsCAFile = httpsCAFile
        }
    }

    public struct MailDrop: Sendable, Codable, Hashable {
        public var source: SourceKind?
        public var folder: String
        public init(source: SourceKind? = nil, folder: String) {
            self.source = source
            self.folder = folder
        }
    }

    private struct File: Codable {
        var databaseURLEnv: String?
        var mappings: String?
        var workFolder: String?
        var metricsFile: String?
        var reportsFolder: String?
        var mailOutbox: String?
        var api: APISettings
        var sftp: SFTPSettings?
        var folder: FolderSettings?
        var imap: IMAPSettings?
        var smtp: SMTPSettings?
        var defaultSource: SourceKind?
        var stabilityWaitSeconds: Double?
        var shadowMovesFiles: Bool?
        var feeds: [String: FeedOverride]?
        var mailDrops: [MailDrop]?
        var retention: RetentionSettings?
    }

    public struct ConfigurationError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// Reads and checks the configuration file.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> RunConfiguration {
        if let problem = FileProblem.reading(file: path) {
            throw ConfigurationError(message: "cannot read the configuration file \(path): \(problem)")
        }
        guard let data = FileManager.default.contents(atPath: path), let raw = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(message: "the configuration file \(path) is not UTF-8 text")
        }
        let text = try expand(raw, environment: environment, path: path)
        try ConfigurationKeys.check(text, path: path)
        let file: File
        do {
            file = try YAMLDecoder().decode(File.self, from: text)
        } catch {
            if let unknown = unknownSourceWord(in: error) { throw ConfigurationError(message: "\(path): \(unknown)") }
            throw ConfigurationError(message: "the configuration file \(path) is not valid: \(error)")
        }
        var configuration = RunConfiguration(api: file.api)
        configuration.path = path
        if let value = file.databaseURLEnv { configuration.databaseURLEnvironment = value }
        if let value = file.mappings { configuration.mappings = value }
        if let value = file.workFolder { configuration.workFolder = value }
        configuration.metricsFile = file.metricsFile
        configuration.reportsFolder = file.reportsFolder
        if let value = file.mailOutbox { configuration.mailOutbox = value }
        configuration.sftp = file.sftp
        configuration.folder = file.folder
        configuration.imap = file.imap
        configuration.smtp = file.smtp
        configuration.defaultSource = file.defaultSource
        configuration.stabilityWaitSeconds = file.stabilityWaitSeconds ?? 0
        configuration.shadowMovesFiles = file.shadowMovesFiles ?? false
        configuration.feeds = file.feeds ?? [:]
        configuration.mailDrops = file.mailDrops ?? []
        configuration.retention = file.retention ?? RetentionSettings()
        try configuration.validate()
        return configuration
    }

    public init(api: APISettings) {
        self.api = api
    }

    func validate() throws {
        for kind in [defaultSource].compactMap({ $0 }) + feeds.values.compactMap(\.source) + mailDrops.compactMap(\.source) {
            if kind == .sftp, sftp == nil { throw ConfigurationError(message: "\(path): a feed uses the sftp source but there is no sftp section") }
            if kind == .folder, folder == nil {
                throw ConfigurationError(message: "\(path): a feed uses the folder source but there is no folder section")
            }
            if kind == .imap, imap == nil {
                throw ConfigurationError(message: "\(path): a mail drop uses the imap source but there is no imap section")
            }
        }
        if sftp == nil && folder == nil && imap == nil { throw ConfigurationError(message: "\(path): configure an sftp, a folder or an imap source") }
        if let imap { try imap.check(path: path) }
        if let smtp { try smtp.check(path: path, imap: imap) }
        if let batch = api.batchSize, !(1...1000).contains(batch) { throw ConfigurationError(message: "\(path): api.batchSize must be 1...1000") }
        if let concurrency = api.concurrency, !(1...64).contains(concurrency) {
            throw ConfigurationError(message: "\(path): api.concurrency must be 1...64")
        }
        if let problem = retention.problem(path: path) { throw ConfigurationError(message: problem) }
        guard URL(string: api.baseURL)?.scheme != nil else { throw ConfigurationError(message: "\(path): api.baseURL is not a URL") }
    }

    /// An unknown source word, which the YAML decoder reports wrapped in the error of the value it was reading.
    private static func unknownSourceWord(in error: any Error) -> SourceKind.UnknownWord? {
        if let unknown = error as? SourceKind.UnknownWord { return unknown }
        if case DecodingError.dataCorrupted(let context) = error, let underlying = context.underlyingError {
            return unknownSourceWord(in: underlying)
        }
        return nil
    }

    /// Replaces `${NAME}` with the environment variable's value.
    static func expand(_ text: String, environment: [String: String], path: String) throws -> String {
        var out = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            out += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw ConfigurationError(message: "\(path): an unclosed ${ in the configuration")
            }
            let name = String(rest[start.upperBound..<end])
            guard let value = environment[name] else {
                throw ConfigurationError(message: "\(path): the environment variable \(name) is not set")
            }
            out += value
            rest = rest[rest.index(after: end)...]
        }
        return out + rest
    }

    // MARK: Derived settings

    /// The database URL from the environment.
    public func databaseURL(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        guard let url = environment[databaseURLEnvironment], !url.isEmpty else {
            throw ConfigurationError(message: "the environment variable \(databaseURLEnvironment) (the ledger's database URL) is not set")
        }
        return url
    }

    /// The API key from its file or environment variable (never printed).
    public func apiKey(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        if let file = api.keyFile {
            guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
                throw ConfigurationError(message: "cannot read the API key file \(file)")
            }
            let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !key.isEmpty else { throw ConfigurationError(message: "the API key file \(file) is empty") }
            return key
        }
        if let name = api.keyEnv {
            guard let key = environment[name], !key.isEmpty else {
                throw ConfigurationError(message: "the environment variable \(name) (the API key) is not set")
            }
            return key
        }
        throw ConfigurationError(message: "\(path): api.keyFile or api.keyEnv must name the API key")
    }

    public var publisherSettings: PublisherSettings {
        var settings = PublisherSettings()
        if let value = api.batchSize { settings.batchSize = value }
        if let value = api.concurrency { settings.concurrency = value }
        if let value = api.maxAttempts { settings.maxAttempts = value }
        if let value = api.baseDelaySeconds { settings.baseDelay = value }
        if let value = api.maxDelaySeconds { settings.maxDelay = value }
        if let value = api.maxRetryAfterSeconds { settings.maxRetryAfter = value }
        return settings
    }

    public func sftpConfiguration(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SFTPConfiguration? {
        guard let sftp else { return nil }
        var passphrase: SFTPSecret?
        if let file = sftp.passphraseFile {
            passphrase = try SFTPSecret(contentsOfFile: file)
        } else if let name = sftp.passphraseEnv {
            passphrase = try SFTPSecret(environmentVariable: name, environment: environment)
        }
        return SFTPConfiguration(
            host: sftp.host, port: sftp.port ?? 22, user: sftp.user, privateKeyPath: sftp.keyFile, passphrase: passphrase,
            knownHostsPath: sftp.knownHosts,
            connectTimeout: .milliseconds(Int((sftp.connectTimeoutSeconds ?? 10) * 1000)),
            operationTimeout: .milliseconds(Int((sftp.operationTimeoutSeconds ?? 60) * 1000)),
            keepaliveInterval: .seconds(Int(sftp.keepaliveSeconds ?? 30)),
            readBufferSize: (sftp.readBufferKiB ?? 256) * 1024,
            downloadStreams: sftp.downloadStreams ?? 2)
    }

    /// Which source a feed is polled from.
    public func source(for feed: String) -> SourceKind {
        feeds[feed]?.source ?? defaultSourceKind
    }

    /// Which source a feed is polled from: an HTTPS feed's downloads land on the folder source.
    public func source(for feed: FeedDefinition) -> SourceKind {
        feed.source.https != nil ? .folder : source(for: feed.id)
    }

    /// The source of feeds and mail drops that name none: `defaultSource`, else sftp when it is configured.
    public var defaultSourceKind: SourceKind {
        defaultSource ?? (sftp != nil ? .sftp : .folder)
    }

    /// The feed's pickup folder (the override, else its mapping's).
    public func folder(for feed: FeedDefinition) -> String? {
        feeds[feed.id]?.folder ?? feed.source.folder
    }

    public func stabilityRule(for feed: FeedDefinition) -> StabilityRule {
        let override = feeds[feed.id]
        return StabilityRule(
            stableSeconds: override?.stableSeconds ?? feed.source.stableSeconds,
            minimumAgeSeconds: override?.minimumAgeSeconds ?? feed.source.minimumAgeSeconds,
            doneMarkerSuffix: override?.doneMarker ?? feed.source.doneMarkerSuffix)
    }
}
