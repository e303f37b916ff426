import FeedMapping
import Yams

/// The keys `bridge.yaml` may hold, checked against the file's YAML before it is decoded: the decoder would ignore
/// an unknown key, so a misspelt `reportFolder:` would silently mean "no reports". Every unknown key is reported
/// with its line and the nearest valid key.
indirect enum ConfigurationKeys: Sendable {
    /// A mapping whose keys must be these.
    case keys([String: ConfigurationKeys])
    /// A mapping from names the user chooses (feed ids) to values of one shape.
    case named(ConfigurationKeys)
    /// A list of values of one shape.
    case list(ConfigurationKeys)
    /// A plain value.
    case value

    /// The shape of `RunConfiguration`'s file; kept beside the Codable types it describes.
    static let file = ConfigurationKeys.keys([
        "databaseURLEnv": .value, "mappings": .value, "workFolder": .value, "metricsFile": .value, "reportsFolder": .value,
        "mailOutbox": .value, "defaultSource": .value, "stabilityWaitSeconds": .value, "shadowMovesFiles": .value,
        "api": .keys(
            Dictionary(
                uniqueKeysWithValues: [
                    "baseURL", "keyFile", "keyEnv", "batchSize", "concurrency", "timeoutSeconds", "maxAttempts", "baseDelaySeconds",
                    "maxDelaySeconds", "maxRetryAfterSeconds",
                ].map { ($0, ConfigurationKeys.value) })),
        "sftp": .keys(
            Dictionary(
                uniqueKeysWithValues: [
                    "host", "port", "user", "keyFile", "passphraseFile", "passphraseEnv", "knownHosts", "root", "connectTimeoutSeconds",
                    "operationTimeoutSeconds", "keepaliveSeconds", "readBufferKiB", "downloadStreams",
                ].map { ($0, ConfigurationKeys.value) })),
        "folder": .keys(["root": .value]),
        "imap": .keys(
            Dictionary(
                uniqueKeysWithValues: [
                    "url", "user", "passwordFile", "passwordEnv", "caFile", "processedFolder", "quarantineFolder", "connectTimeoutSeconds",
                    "operationTimeoutSeconds",
                ].map { ($0, ConfigurationKeys.value) })),
        "smtp": .keys(
            Dictionary(
                uniqueKeysWithValues: [
                    "url", "user", "passwordFile", "passwordEnv", "caFile", "from", "messageIDDomain", "connectTimeoutSeconds",
                    "operationTimeoutSeconds", "ambiguousGraceSeconds",
                ].map { ($0, ConfigurationKeys.value) }
                    + [
                        (
                            "retry",
                            .keys(
                                Dictionary(
                                    uniqueKeysWithValues: ["attempts", "attemptsPerRun", "backoffSeconds", "maxBackoffSeconds"].map { ($0, .value) }))
                        ),
                        (
                            "sentCopy",
                            .keys([
                                "address": .value, "folder": .value,
                                "imap": .keys(Dictionary(uniqueKeysWithValues: RunConfiguration.SMTPSettings.sentCopyIMAPKeys.map { ($0, .value) })),
                            ])
                        ),
                    ])),
        "feeds": .named(
            .keys(
                Dictionary(
                    uniqueKeysWithValues: ["source", "folder", "stableSeconds", "minimumAgeSeconds", "doneMarker", "httpsURL", "httpsCAFile"].map {
                        ($0, ConfigurationKeys.value)
                    }))),
        "mailDrops": .list(.keys(["source": .value, "folder": .value])),
        "retention": .keys(Dictionary(uniqueKeysWithValues: RetentionSettings.keys.map { ($0.key, ConfigurationKeys.value) })),
    ])

    /// Every unknown key under `node`, as `path:line: message` lines. `section` names where the node is.
    func unknownKeys(in node: Node, section: String, path: String) -> [String] {
        switch self {
        case .value:
            return []
        case .list(let item):
            return (node.sequence ?? []).flatMap { item.unknownKeys(in: $0, section: section, path: path) }
        case .named(let value):
            return (node.mapping ?? [:]).flatMap { key, child in
                value.unknownKeys(in: child, section: "\(section).\(key.string ?? "?")", path: path)
            }
        case .keys(let allowed):
            var problems: [String] = []
            for (key, child) in node.mapping ?? [:] {
                let name = key.string ?? "?"
                guard let shape = allowed[name] else {
                    let line = (key.mark?.line).map { ":\($0)" } ?? ""
                    problems.append(
                        "\(path)\(line): unknown key '\(name)' in \(section)\(NearestName.hint(for: name, among: allowed.keys))")
                    continue
                }
                problems += shape.unknownKeys(in: child, section: section == "the configuration" ? name : "\(section).\(name)", path: path)
            }
            return problems
        }
    }

    /// Throws one error listing every unknown key of the configuration text (already `${}`-expanded).
    static func check(_ text: String, path: String) throws {
        guard let root = try? Yams.compose(yaml: text) else { return }  // the decoder reports malformed YAML
        let problems = file.unknownKeys(in: root, section: "the configuration", path: path)
        if !problems.isEmpty { throw RunConfiguration.ConfigurationError(message: problems.joined(separator: "\n")) }
    }
}
