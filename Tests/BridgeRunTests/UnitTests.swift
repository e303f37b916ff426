import BridgeRun
import FileSources
import Foundation
import Testing

@Suite("Stability, names and configuration")
struct UnitTests {
    let rule = StabilityRule(stableSeconds: 30, minimumAgeSeconds: 60, doneMarkerSuffix: ".done")
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func file(age: Double) -> RemoteFile {
        RemoteFile(path: "p/IND.csv", name: "IND.csv", size: 10, mtime: now.addingTimeInterval(-age))
    }

    @Test("A file is taken when unchanged across listings long enough apart and old enough")
    func stable() {
        #expect(Stability.judge(file(age: 120), unchangedSince: now.addingTimeInterval(-31), now: now, markerPresent: false, rule: rule).isTake)
        // First listing: never seen unchanged before.
        let first = Stability.judge(file(age: 120), unchangedSince: now, now: now, markerPresent: false, rule: rule)
        guard case .leave(let reason, let readyIn) = first else { Issue.record("taken on first sight"); return }
        #expect(reason.contains("new since the last listing"))
        #expect(readyIn == 30)
        // Too young, even when unchanged.
        guard case .leave(let young, _) = Stability.judge(file(age: 10), unchangedSince: now.addingTimeInterval(-40), now: now, markerPresent: false, rule: rule) else {
            Issue.record("a young file was taken"); return
        }
        #expect(young.contains("minimum age"))
        // An mtime in the future (copies keeping odd times, clock skew) is never taken on time alone.
        #expect(!Stability.judge(file(age: -600), unchangedSince: now.addingTimeInterval(-999), now: now, markerPresent: false, rule: rule).isTake)
    }

    @Test("A done-marker takes the file at once")
    func marker() {
        #expect(Stability.judge(file(age: 0), unchangedSince: now, now: now, markerPresent: true, rule: rule).isTake)
        let noMarkerRule = StabilityRule(stableSeconds: 30, minimumAgeSeconds: 60, doneMarkerSuffix: nil)
        #expect(!Stability.judge(file(age: 0), unchangedSince: now, now: now, markerPresent: true, rule: noMarkerRule).isTake)
    }

    @Test("Unsafe names are refused: traversal, absolute, separators, control characters, over 255 bytes, bad UTF-8")
    func unsafeNames() {
        for name in ["../x.csv", "..", "/etc/passwd", "\\\\server\\share.csv", "C:evil.csv", "a/b.csv", "a\\b.csv", "IND\n.csv",
                     "IND\u{1B}[2J.csv", "IND\u{7F}.csv", String(repeating: "a", count: 1000) + ".csv", "IND\u{FFFD}.csv", ""] {
            #expect(FileNameSafety.problem(name) != nil, "\(FileNameSafety.printable(name)) was accepted")
        }
        for name in ["IND_20261120.csv", "Workforce-Dataset-1-20261120-1329.csv", "notice 1.eml", "Reg01_DTR_20261120_030000_New.txt", "Llŷn.csv", "a..b.csv"] {
            #expect(FileNameSafety.problem(name) == nil, "\(name) was refused")
        }
        #expect(FileNameSafety.printable("a\nb") == "a\\u{a}b")
        #expect(FileNameSafety.printable(String(repeating: "é", count: 300)).utf8.count <= 255)
    }

    @Test("Archive names: time, first 8 of the SHA-256, the name; unsafe names never reused; at most 255 bytes")
    func archiveNames() {
        let date = Date(timeIntervalSince1970: 1_795_132_800)  // 2026-11-20 00:00:00 UTC
        #expect(ArchiveName.make(at: date, sha256: "f761c30d022d500d", name: "IND.csv") == "20261120000000-f761c30d-IND.csv")
        #expect(ArchiveName.make(at: date, sha256: nil, name: "../../etc/passwd").hasSuffix("-unsafe-name"))
        #expect(ArchiveName.make(at: date, sha256: "ab", name: String(repeating: "x", count: 255)).utf8.count == 255)
        #expect(ArchiveName.make(at: date, sha256: "f761c30d", name: "IND.csv", suffix: "7-1").hasSuffix("IND.csv-7-1"))
    }

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

extension StabilityVerdict {
    var isTake: Bool { if case .take = self { true } else { false } }
}
