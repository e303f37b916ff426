import BridgeRun
import DQTTesting
import FileSources
import Foundation
import Ledger
import LibPQ
import Publisher

/// Outbound test material: a copy of the mappings with one feed made live and delivered over SFTP, and prohibition
/// alerts created through the API (so the change feed has `alert.created` changes to export).
extension BridgeHarness {
    /// The repository's mappings in the scratch folder, `feed` made live with its destination `sftp: folder`.
    func liveExportMappings(feed: String, sftpFolder: String) throws -> String {
        let copy = joinPath(scratch, "mappings")
        if !FileManager.default.fileExists(atPath: copy) {
            try FileManager.default.copyItem(atPath: joinPath(Self.repository, "mappings"), toPath: copy)
        }
        let path = joinPath(copy, "\(feed).yaml")
        var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines = lines.map { $0 == "status: shadow" ? "status: live" : $0 }
        if let start = lines.firstIndex(of: "destination:") {
            var end = start + 1
            while end < lines.count, lines[end].hasPrefix(" ") { end += 1 }
            lines.replaceSubrange(start..<end, with: ["destination:", "  sftp: \(sftpFolder)"])
        }
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        try Self.makeSharedFolder(joinPath(localRoot, sftpFolder))
        return copy
    }

    /// One prohibition alert per TRN (persons 1000001... are seeded), through `POST /v3/batches`; returns once the
    /// change feed can read them.
    func createAlerts(_ persons: ClosedRange<Int>, code: String = "T1", salt: String = "") async throws {
        let transport = GeneratedClientTransport(baseURL: apiBaseURL, apiKey: apiKey, httpClient: httpClient)
        let operations = persons.map { person in
            BatchOperation(
                method: "POST", path: "/v3/alerts",
                body: #"{"trn":"\#(1_000_000 + person)","alertTypeCode":"\#(code)","startDate":"2026-11-0\#(person % 9 + 1)","sender":"test"}"#,
                idempotencyKey: "export-test-\(salt)-\(person)", feed: "export-test", fileSHA256: String(repeating: "0", count: 64), line: person)
        }
        for chunk in stride(from: 0, to: operations.count, by: 50) {
            let reply = try await transport.send(Array(operations[chunk..<min(chunk + 50, operations.count)]))
            guard case .results(let results) = reply, results.allSatisfy({ (200..<300).contains($0.status) }) else {
                throw ServiceFailure(what: "creating alerts", detail: "\(reply)")
            }
        }
        try await waitUntilChangeFeedIsReadable()
    }

    /// Waits (up to 10 minutes) until the change feed can read every change written so far. The feed reads only
    /// below the oldest write transaction running in the PostgreSQL cluster, and other suites share the cluster: one
    /// of theirs stopped inside a transaction holds every feed back until it ends. An export started before then
    /// would rightly find a shorter range than its test expects.
    func waitUntilChangeFeedIsReadable() async throws {
        let deadline = ContinuousClock.now + .seconds(600)
        while try await apiInt("SELECT count(*) FROM audit WHERE xid >= pg_snapshot_xmin(pg_current_snapshot())") > 0 {
            guard ContinuousClock.now < deadline else {
                throw ServiceFailure(what: "waiting for the change feed", detail: "a transaction held it back for 10 minutes")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// The files in a folder below the SFTP root with their bytes, hidden ones included.
    func delivered(in folder: String) -> [String: Data] {
        let path = joinPath(localRoot, folder)
        var out: [String: Data] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            out[name] = FileManager.default.contents(atPath: joinPath(path, name))
        }
        return out
    }

    func exportRows() throws -> [[String?]] {
        try ledgerQuery { connection in
            try connection.query(
                "SELECT id, feed, after_cursor, up_to_cursor, file_name, records, state, resend_of FROM bridge.exports ORDER BY id"
            ).rows.map {
                [$0["id"], $0["feed"], $0["after_cursor"], $0["up_to_cursor"], $0["file_name"], $0["records"], $0["state"], $0["resend_of"]]
            }
        }
    }

    func export(_ configuration: RunConfiguration, _ request: ExportRequest) async throws -> RunOutcome {
        let environment = try environment(configuration)
        defer { environment.ledger.close() }
        return await BridgeRunner(environment: environment).export(request)
    }
}
