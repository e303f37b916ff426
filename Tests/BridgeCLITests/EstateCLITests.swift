import DQTTesting
import Foundation
import LibPQ
import Testing

/// `mappings lint` checks the estate inventory against the mappings both ways; `estate` writes the service owner's
/// page, which renders in a real headless browser with the network off.
@Suite("Estate inventory and page")
struct EstateCLITests {
    /// A copy of the committed mappings folder (inventory included) with one file edited.
    func mappings(editing file: String, _ edit: (String) -> String) throws -> TemporaryFolder {
        let folder = try TemporaryFolder()
        let copy = folder.url.appendingPathComponent("mappings")
        try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("mappings"), to: copy)
        let path = copy.appendingPathComponent(file).path
        try Data(edit(try String(contentsOfFile: path, encoding: .utf8)).utf8).write(to: URL(fileURLWithPath: path))
        return folder
    }

    @Test("lint says the inventory covers every job and exchange")
    func lintCoversTheEstate() throws {
        let run = try runBridge(["mappings", "lint"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("estate inventory OK:") && run.stdout.contains("every legacy job and exchange covered"), "\(run.stdout)")
    }

    @Test("lint fails when a job has no entry, naming the inventory and the job")
    func lintMissingJob() throws {
        let folder = try mappings(editing: "estate/inventory.yaml") { text in
            text.replacingOccurrences(of: "  documents-check:\n", with: "  documents-checks:\n")
        }
        let run = try runBridge(["mappings", "lint", "--mappings", folder.path("mappings")])
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("estate/inventory.yaml:1: entries: the legacy SSIS job 'documents-check' has no entry"), "\(run.stdout)")
    }

    @Test("lint fails when a feed's replaces names no job, at its file and line")
    func lintReplacesNoJob() throws {
        let folder = try mappings(editing: "capita-import.yaml") { text in
            text.replacingOccurrences(of: "replaces: [capita-import]", with: "replaces: [capita-imports]")
        }
        let run = try runBridge(["mappings", "lint", "--mappings", folder.path("mappings")])
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        #expect(
            run.stdout.contains(
                "capita-import.yaml:6: replaces: 'capita-imports' is no entry of the estate inventory (did you mean 'capita-import'?)"),
            "\(run.stdout)")
        #expect(run.stdout.contains("entry capita-import: feed 'capita-import' does not name it in its replaces"), "\(run.stdout)")
    }

    @Test(
        "the estate page: servers, jobs, late files and last files in chromium, no network, no script; the JSON agrees",
        .enabled(if: TestServices.shouldRun(TestServices.databaseURL)),
        .enabled(if: chromiumBinary != nil || mustRunEverything, "chromium is not installed (scripts/setup.sh)"))
    func pageRendersInChromium() async throws {
        try await TemporaryDatabase.with(prefix: "bridge_estate_page") { database in
            let folder = try TemporaryFolder()
            var environment = ProcessInfo.processInfo.environment
            environment["DQT_BRIDGE_DATABASE_URL"] = database.url
            let config = ["--config", folder.path("no-such-bridge.yaml")]
            // The first call migrates the empty ledger; then an ewc-induction file is recorded as published.
            let empty = try ChildProcess.run(try bridgeBinary(), ["estate"] + config, environment: environment)
            #expect(empty.status == 0, "\(empty.stdout)\(empty.stderr)")
            let connection = try PGConnection(database.url)
            let run = try connection.query("INSERT INTO bridge.runs (host, pid) VALUES ('test', 1) RETURNING id").int64(0, "id")!
            let file = try connection.query(
                """
                INSERT INTO bridge.files (run_id, last_run_id, feed, source, transport, source_path, name, state, created_at)
                VALUES ($1, $1, 'ewc-induction', 'sftp', 'sftp', 'ewc/pickup/IND_20261120_0800.csv', 'IND_20261120_0800.csv', 'published',
                        '2026-11-20 08:00:05+00')
                RETURNING id
                """, [.int64(run)]
            ).int64(0, "id")!
            // Its comparison with the legacy job, as `dqt-bridge parity` records it: 199 of 200 rows agreed.
            _ = try connection.execute(
                """
                INSERT INTO bridge.parity_results (file_id, feed, file_name, compared_at, rows_compared, rows_agreed)
                VALUES ($1, 'ewc-induction', 'IND_20261120_0800.csv', '2026-11-21 09:00:00+00', 200, 199)
                """, [.int64(file)])

            let html = folder.path("estate.html")
            let json = folder.path("estate.json")
            let result = try ChildProcess.run(
                try bridgeBinary(), ["estate", "--html", html, "--json", json, "--at", "2026-12-06T10:00:00Z"] + config, environment: environment)
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            #expect(result.stdout.contains("ssis     not yet:"), "\(result.stdout)")
            #expect(result.stdout.contains("tps-workforce         LATE: due by 2026-12-05 09:00 GMT"), "\(result.stdout)")
            let page = try String(contentsOfFile: html, encoding: .utf8)
            #expect(!page.contains("http://") && !page.contains("https://") && !page.contains("<script"), "the page must load nothing")

            let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
            let summary = try #require(report["summary"] as? [String: Any])
            #expect(summary["lateFeeds"] as? [String] == ["tps-workforce"])
            #expect((report["entries"] as? [[String: Any]])?.count == (summary["entries"] as? Int))
            let servers = try #require(report["servers"] as? [[String: Any]])
            #expect(servers.map { $0["id"] as? String } == ["sftp", "ssis", "mailbox"])
            #expect(servers.allSatisfy { $0["canSwitchOff"] as? Bool == false })

            let home = try TemporaryFolder()
            let dom = try headlessChromium(["--dump-dom", "file://\(html)"], home: home)
            #expect(dom.status == 0, "chromium failed: \(dom.stderr.suffix(2000))")
            let text = dom.stdout
            for expected in [
                "Legacy estate: what is left to switch off", "No server can be switched off yet", "Globalscape EFT SFTP server",
                "SSIS server (19 scheduled jobs", "TQ unit secure email mailbox", "Files late", "SSIS jobs (", "Email exchanges",
                "Capita file portal exchanges", "IND_20261120_0800.csv", "no parity yet", "layout unknown: needs", "dqt-bridge retention",
                "Retired without replacement", "parity 99.5%", "(199 of 200 rows over 1 files)", "How to read this page",
            ] {
                #expect(text.contains(expected), "the page does not show \(expected)")
            }
            // Every one of the 19 SSIS jobs has its row.
            for job in ["tp-import", "edubase-import", "files-validation", "web-audit-import", "hesa-import-multi"] {
                #expect(text.contains("<code>\(job)</code>"), "no row for \(job)")
            }

            let png = home.path("estate.png")
            let shot = try headlessChromium(["--screenshot=\(png)", "--window-size=1280,2400", "--hide-scrollbars", "file://\(html)"], home: home)
            #expect(shot.status == 0, "chromium failed: \(shot.stderr.suffix(2000))")
            let image = try Data(contentsOf: URL(fileURLWithPath: png))
            #expect(image.starts(with: [0x89, 0x50, 0x4E, 0x47]), "not a PNG")
            #expect(image.count > 60_000, "the screenshot is only \(image.count) bytes: a blank page?")
            if let keep = ProcessInfo.processInfo.environment["DQT_KEEP_ESTATE_SCREENSHOT"] {
                try? FileManager.default.removeItem(atPath: keep)
                try FileManager.default.copyItem(atPath: png, toPath: keep)
            }
        }
    }
}
