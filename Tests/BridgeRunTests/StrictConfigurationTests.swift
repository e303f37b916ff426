import BridgeRun
import DQTTesting
import FileSources
import Foundation
import Testing

/// A mistake in the configuration is an error naming the file, the line and the nearest valid key, and what the
/// configuration names is checked before a run relies on it.
@Suite("Strict configuration")
struct StrictConfigurationTests {
    static let base = """
        api: {baseURL: "http://127.0.0.1:8080", keyEnv: API_KEY}
        folder: {root: ROOT}
        workFolder: WORK
        """

    func write(_ text: String, in folder: TemporaryFolder) throws -> String {
        let path = folder.path("bridge.yaml")
        try text.replacingOccurrences(of: "ROOT", with: folder.path("pickup")).replacingOccurrences(of: "WORK", with: folder.path("work"))
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func loadError(_ path: String) -> String {
        do {
            _ = try RunConfiguration.load(path: path, environment: [:])
            return ""
        } catch {
            return "\(error)"
        }
    }

    @Test("an unknown key, at the top or inside a feed override or a section, names file, line and the nearest key")
    func unknownKeys() throws {
        let folder = try TemporaryFolder("strict-config")
        let path = try write(Self.base + "\nreportFolder: out/reports\nfeeds:\n  ewc-induction: {stableSecond: 5}\n", in: folder)
        let message = loadError(path)
        #expect(message.contains("\(path):4: unknown key 'reportFolder' in the configuration (did you mean 'reportsFolder'?)"))
        #expect(message.contains("\(path):6: unknown key 'stableSecond' in feeds.ewc-induction (did you mean 'stableSeconds'?)"))
        let api = try write("api: {baseURL: \"http://x\", keyEnv: K, batchSise: 5}\nfolder: {root: /x}\n", in: folder)
        #expect(loadError(api).contains("\(api):1: unknown key 'batchSise' in api (did you mean 'batchSize'?)"))
        let clean = try write(Self.base + "\nreportsFolder: out/reports\n", in: folder)
        #expect(loadError(clean) == "")
    }

    @Test("the example configuration has no unknown key")
    func exampleLoads() throws {
        let message = loadError(repositoryRoot.appendingPathComponent("config/bridge.example.yaml").path)
        #expect(!message.contains("unknown key"), "\(message)")
    }

    @Test("local problems: a missing folder root, a work folder that is a file, an unreadable key file")
    func localProblems() throws {
        let folder = try TemporaryFolder("strict-config")
        try "not a folder".write(toFile: folder.path("work"), atomically: true, encoding: .utf8)
        let path = try write(Self.base + "\nmappings: \(repositoryRoot.appendingPathComponent("mappings").path)\n", in: folder)
        let configuration = try RunConfiguration.load(path: path, environment: [:])
        let problems = configuration.localProblems(environment: ["API_KEY": "k", "DQT_BRIDGE_DATABASE_URL": "postgresql://x"])
        #expect(problems.contains("folder.root \(folder.path("pickup")): no such file or directory"), "\(problems)")
        #expect(problems.contains("workFolder \(folder.path("work")): not a directory"), "\(problems)")
        #expect(problems.count == 2, "\(problems)")
        try FileManager.default.createDirectory(atPath: folder.path("pickup"), withIntermediateDirectories: true)
        try FileManager.default.removeItem(atPath: folder.path("work"))
        #expect(configuration.localProblems(environment: ["API_KEY": "k", "DQT_BRIDGE_DATABASE_URL": "postgresql://x"]).isEmpty)
    }

    @Test("a folder source whose root or pickup folder does not exist is an error, not an empty poll")
    func missingRoot() async throws {
        let folder = try TemporaryFolder("strict-config")
        let source = FolderSource(root: folder.path("no-such-root"))
        await #expect(throws: FileSourceError.self) { try await source.list(folder: "ewc/induction") }
        try FileManager.default.createDirectory(atPath: folder.path("no-such-root"), withIntermediateDirectories: true)
        let missing = await #expect(throws: FileSourceError.self) { try await source.list(folder: "ewc/induction") }
        #expect("\(missing.map { "\($0)" } ?? "")".contains("ewc/induction: no such file or directory"))
        try FileManager.default.createDirectory(atPath: folder.path("no-such-root/ewc/induction"), withIntermediateDirectories: true)
        #expect(try await source.list(folder: "ewc/induction").isEmpty)
    }
}
