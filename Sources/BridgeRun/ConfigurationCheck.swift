import DQTModel
import FeedMapping
public import Foundation

extension RunConfiguration {
    /// What `dqt-bridge config check` finds wrong with a loaded configuration, without the ledger or the network:
    /// the mappings (each error located), the folder source's root, the folders the run writes in, and the files
    /// it reads (API key, SSH key, known hosts, passphrase). Each problem is one line naming the setting, the path
    /// and the reason; empty when all is well. Unknown keys and wrong values already failed `load`.
    public func localProblems(environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        var problems: [String] = []
        do {
            _ = try FeedCatalog.load(directory: mappings)
        } catch {
            problems += error.errors.map { "mappings: \($0)" }
        }
        if let root = folder?.root, let problem = FileProblem.listing(folder: root) {
            problems.append("folder.root \(root): \(problem)")
        }
        var writable = [("workFolder", workFolder), ("mailOutbox", mailOutbox)]
        if let reportsFolder { writable.append(("reportsFolder", reportsFolder)) }
        if let metricsFile { writable.append(("metricsFile", (metricsFile as NSString).deletingLastPathComponent)) }
        for (setting, path) in writable where !path.isEmpty {
            if let problem = FileProblem.writing(folder: path) { problems.append("\(setting) \(path): \(problem)") }
        }
        var readable: [(String, String)] = []
        if let keyFile = api.keyFile { readable.append(("api.keyFile", keyFile)) }
        if let sftp {
            readable += [("sftp.keyFile", sftp.keyFile), ("sftp.knownHosts", sftp.knownHosts)]
            if let passphraseFile = sftp.passphraseFile { readable.append(("sftp.passphraseFile", passphraseFile)) }
        }
        if let imap {
            if let passwordFile = imap.passwordFile { readable.append(("imap.passwordFile", passwordFile)) }
            if let caFile = imap.caFile { readable.append(("imap.caFile", caFile)) }
        }
        for (setting, path) in readable {
            if let problem = FileProblem.reading(file: path) { problems.append("\(setting) \(path): \(problem)") }
        }
        let imapPasswordEnv = imap?.passwordFile == nil ? imap?.passwordEnv : nil
        for name in [api.keyFile == nil ? api.keyEnv : nil, sftp?.passphraseEnv, imapPasswordEnv].compactMap({ $0 })
        where (environment[name] ?? "").isEmpty {
            problems.append("the environment variable \(name) is not set")
        }
        if (environment[databaseURLEnvironment] ?? "").isEmpty {
            problems.append("the environment variable \(databaseURLEnvironment) (the ledger's database URL) is not set")
        }
        return problems
    }
}
