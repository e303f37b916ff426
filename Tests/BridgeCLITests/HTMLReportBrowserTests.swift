import DQTTesting
import Foundation
import Testing

/// Debian's chromium, headless (scripts/setup.sh installs it).
let chromiumBinary: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"]
    .first { FileManager.default.isExecutableFile(atPath: $0) }

/// Runs headless chromium offline (no DNS, a dead proxy, no background networking) with a fresh profile in `home`.
func headlessChromium(_ arguments: [String], home: TemporaryFolder) throws -> ChildProcessResult {
    let binary = try #require(chromiumBinary, "chromium is not installed: run scripts/setup.sh")
    var environment = ProcessInfo.processInfo.environment
    environment["HOME"] = home.url.path  // a fresh profile; nothing from the user's
    return try ChildProcess.run(
        binary,
        [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--disable-background-networking",
            "--user-data-dir=\(home.path("profile"))",
        ] + arguments, environment: environment)
}

/// The HTML mapping report opened in a real browser with the network off: it must render on its own and show an
/// analyst the counts, the codes and the fields, and never the personal data. In CI a missing chromium fails.
@Suite("HTML report in headless chromium", .enabled(if: chromiumBinary != nil || mustRunEverything, "chromium is not installed (scripts/setup.sh)"))
struct HTMLReportBrowserTests {
    static let fixture = "fixtures/tps-workforce/malformed/Workforce-Dataset-9-bad-values.csv"

    @Test("the DOM has the counts, codes and fields, and no personal data; the screenshot is not blank")
    func rendersOffline() throws {
        let folder = try TemporaryFolder()
        let check = try checkFixture(Self.fixture)
        #expect(check.run.status == 1)
        let html = folder.path("report.html")
        try Data(check.reportHTML.utf8).write(to: URL(fileURLWithPath: html))
        #expect(!check.reportHTML.contains("http://") && !check.reportHTML.contains("https://"), "the report must not load anything")
        #expect(!check.reportHTML.contains("<script"), "the report needs no scripts")

        let dom = try headlessChromium(["--dump-dom", "file://\(html)"], home: folder)
        #expect(dom.status == 0, "chromium failed: \(dom.stderr.suffix(2000))")
        let text = dom.stdout
        #expect(text.contains("Workforce-Dataset-9-bad-values.csv"))
        #expect(text.contains("Some rows are rejected"))
        // The counts row: read 8, accepted 0, rejected 8, with warnings 0.
        #expect(text.contains("<td>8</td><td>0</td><td>8</td><td>0</td>"), "the counts are not shown")
        for code in ["type-error", "constraint-error"] { #expect(text.contains(code), "code \(code) missing") }
        for field in [
            "nationalInsuranceNumber", "localAuthorityCode", "establishmentCode", "employmentType", "withdrawn", "gender", "dateOfBirth", "trn",
        ] {
            #expect(text.contains(field), "field \(field) missing")
        }
        for column in ["Local Authority Code", "Full Time / Part Time Indicator"] { #expect(text.contains(column)) }
        #expect(text.contains("masked (personal data)"))
        let leaked = personalDataFound(in: text)
        #expect(leaked.isEmpty, "personal data in the rendered page: \(leaked.count) value(s)")

        let png = folder.path("report.png")
        let shot = try headlessChromium(["--screenshot=\(png)", "--window-size=1280,2000", "--hide-scrollbars", "file://\(html)"], home: folder)
        #expect(shot.status == 0, "chromium failed: \(shot.stderr.suffix(2000))")
        let image = try Data(contentsOf: URL(fileURLWithPath: png))
        #expect(image.starts(with: [0x89, 0x50, 0x4E, 0x47]), "not a PNG")
        // A blank 1280x2000 page compresses to a few kilobytes; a rendered report with tables is far larger.
        #expect(image.count > 40_000, "the screenshot is only \(image.count) bytes: a blank page?")
        if let keep = ProcessInfo.processInfo.environment["DQT_KEEP_SCREENSHOT"] {
            try? FileManager.default.removeItem(atPath: keep)
            try FileManager.default.copyItem(atPath: png, toPath: keep)
        }
    }

    @Test("a refused file's report renders the refusal")
    func refusedFileRenders() throws {
        let folder = try TemporaryFolder()
        // No feed's allow-list names this sender, so only a named feed gives it a report.
        let check = try checkFixture(
            "fixtures/prohibition-notices/malformed/notices-sender-not-allowed.eml", extra: ["--feed", "prohibition-notices"])
        #expect(check.run.status == 2)
        let html = folder.path("refused.html")
        try Data(check.reportHTML.utf8).write(to: URL(fileURLWithPath: html))
        let dom = try headlessChromium(["--dump-dom", "file://\(html)"], home: folder)
        #expect(dom.status == 0)
        #expect(dom.stdout.contains("The whole file is refused"))
        #expect(dom.stdout.contains("sender-not-allowed"))
    }
}
