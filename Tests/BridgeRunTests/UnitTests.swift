import BridgeRun
import FileSources
import Foundation
import Publisher
import Testing

@Suite("Run configuration and metrics")
struct UnitTests {
    @Test("The configuration: ${VAR} expansion, secrets from files or the environment, checks")
    func configuration() throws {
        let folder = NSTemporaryDirectory() + "bridge-config-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/bridge.yaml"
        try """
        databaseURLEnv: LEDGER_URL
        api: {baseURL: "http://127.0.0.1:8080", keyEnv: API_KEY, batchSize: 250}
        folder: {root: "${PICKUP}"}
        feeds:
          ewc-induction: {stableSeconds: 5, doneMarker: .ok}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let environment = ["PICKUP": "/srv/pickup", "LEDGER_URL": "postgresql://x@y/z", "API_KEY": "secret-key"]
        let configuration = try RunConfiguration.load(path: path, environment: environment)
        #expect(configuration.folder?.root == "/srv/pickup")
        #expect(configuration.source(for: "ewc-induction") == .folder)
        #expect(configuration.publisherSettings.batchSize == 250)
        #expect(try configuration.databaseURL(environment: environment) == "postgresql://x@y/z")
        #expect(try configuration.apiKey(environment: environment) == "secret-key")
        #expect(throws: RunConfiguration.ConfigurationError.self) { try configuration.apiKey(environment: [:]) }
        #expect(throws: RunConfiguration.ConfigurationError.self) { try RunConfiguration.load(path: path, environment: [:]) }

        try "api: {baseURL: \"http://x\", batchSize: 5000}\nfolder: {root: /x}\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: RunConfiguration.ConfigurationError.self) { try RunConfiguration.load(path: path, environment: [:]) }
    }

    @Test("The metrics text file is valid Prometheus exposition")
    func metricsText() throws {
        let metrics = RunMetrics()
        metrics.increment("dqt_bridge_files_total", ["feed": "ewc-induction", "state": "published"])
        metrics.increment("dqt_bridge_records_total", ["feed": "ewc-induction", "outcome": "published"], by: 3)
        metrics.set("dqt_bridge_run_exit_status", [:], 1)
        let text = metrics.prometheusText()
        #expect(text.contains("# TYPE dqt_bridge_files_total counter"))
        #expect(text.contains(#"dqt_bridge_records_total{feed="ewc-induction",outcome="published"} 3"#))
        #expect(text.contains("dqt_bridge_run_exit_status 1"))
    }
}
