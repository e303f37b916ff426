import BridgeReport
import DQTModel
import DQTTesting
import FeedMapping
import Foundation
import MIMEMail
import Testing

/// Hostile file names: `check` reads a local path whatever its name, never crashes, and never writes the name raw
/// where it can do harm (a terminal, an HTML page); emailed attachments are only ever extracted inside the folder
/// given, whatever name the email declares.
@Suite("hostile files: file names", .timeLimit(.minutes(10)))
struct FileNameTests {
    static let good = repositoryRoot.appendingPathComponent("fixtures/ewc-induction/good/IND_20261120_0800.csv")

    /// Names a partner's SFTP listing could carry (anything but `/` and NUL), each matching the ewc-induction feed.
    static let names: [(String, String)] = [
        ("html", "IND_<img src=x onerror=alert(1)>.csv"),
        ("ansi escape", "IND_\u{1B}[31mred\u{1B}[0m\u{1B}]0;title\u{07}.csv"),
        ("line break", "IND_first\nsecond\rthird.csv"),
        ("C0 and DEL", "IND_\u{01}\u{02}\u{7F}.csv"),
        ("C1", "IND_\u{85}\u{9B}31m.csv"),
        ("bidi override", "IND_\u{202E}vsc.exe.csv"),
        ("quotes and sql", "IND_'; DROP TABLE files; --\".csv"),
        ("dots", "IND_..csv"),
        ("255 bytes", "IND_" + String(repeating: "n", count: 247) + ".csv"),
    ]

    @Test("hostile names: no crash, exit as for the content, JSON valid, HTML escaped, terminal free of control characters")
    func hostileNames() throws {
        let folder = try TemporaryFolder()
        let content = Array(try Data(contentsOf: Self.good))
        var wrong: [String] = []
        var terminalRaw: [String] = []
        var htmlRaw: [String] = []
        var accepted = 0
        for (label, name) in Self.names {
            let path = try folder.write(name, content)
            let json = folder.path("r.json")
            let html = folder.path("r.html")
            let run = try runBridge(["check", path, "--today", checkDay, "--report", json, "--report", html, "--rejects", folder.path("r.csv")])
            guard run.signal == nil, run.status == 0 else {
                wrong.append("\(label): \(run)")
                continue
            }
            accepted += 1
            let report = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json)))) as? [String: Any]
            if report == nil { wrong.append("\(label): the JSON report does not parse") }
            let page = (try? String(contentsOfFile: html, encoding: .utf8)) ?? ""
            if page.contains("<img") { wrong.append("\(label): raw <img in the HTML report") }
            if !controlCharacters(in: page).isEmpty { htmlRaw.append("\(label): \(controlCharacters(in: page))") }
            if !controlCharacters(in: run.stdout + run.stderr).isEmpty {
                terminalRaw.append("\(label): \(controlCharacters(in: run.stdout + run.stderr))")
            }
        }
        // Paths: relative with .., absolute, and about 1,000 characters of folders.
        let nested = try TemporaryFolder()
        var deep = nested.url
        while deep.path.utf8.count < 850 { deep.appendPathComponent(String(repeating: "d", count: 100)) }
        try FileManager.default.createDirectory(at: deep, withIntermediateDirectories: true)
        let longPath = deep.appendingPathComponent("IND_" + String(repeating: "l", count: 180) + ".csv").path
        try Data(content).write(to: URL(fileURLWithPath: longPath))
        #expect(longPath.utf8.count >= 1000)
        try FileManager.default.createDirectory(atPath: folder.path("sub"), withIntermediateDirectories: true)
        try Data(content).write(to: URL(fileURLWithPath: folder.path("IND_rel.csv")))
        for (label, arguments, directory) in [
            ("1,000-character path", [longPath], repositoryRoot.path),
            ("relative ../", ["../IND_rel.csv"], folder.path("sub")),
            ("absolute", [folder.path("IND_rel.csv")], "/"),
        ] {
            let run = try runBridge(["check"] + arguments + ["--today", checkDay], in: directory)
            if run.status == 0 && run.signal == nil { accepted += 1 } else { wrong.append("\(label): \(run)") }
        }
        // A name too long for the file system, and a path that is not there: a clear exit 2, no crash.
        for (label, path) in [
            ("1,000-character name", folder.path("IND_" + String(repeating: "a", count: 1000) + ".csv")),
            ("missing", folder.path("IND_missing.csv")),
        ] {
            let run = try runBridge(["check", path, "--today", checkDay])
            if !(run.status == 2 && run.signal == nil && run.stderr.contains("cannot read")) { wrong.append("\(label): \(run)") }
        }
        // Through FeedChecker with the name as a display name (what the unattended run passes for a remote file).
        let definition = try #require(catalog.feed(id: "ewc-induction"))
        for (label, name) in Self.names {
            var sink = CountingSink()
            let result = FeedChecker(feed: definition, context: CheckContext(today: LocalDateFor.checkDay))
                .check(.file(path: Self.good.path), name: name, sha256: String(repeating: "0", count: 64), sink: &sink)
            let report = MappingReport(result: result, feed: definition)
            var bytes: [UInt8] = []
            report.json.write(to: &bytes)
            if (try? JSONSerialization.jsonObject(with: Data(bytes))) == nil { wrong.append("\(label) via FeedChecker: invalid JSON") }
            if report.html.contains("<img") { wrong.append("\(label) via FeedChecker: raw <img in the HTML") }
        }
        print("hostile names: terminal control characters: \(terminalRaw); HTML control characters: \(htmlRaw)")
        #expect(wrong.isEmpty, "\(wrong.joined(separator: "\n"))")
        #expect(terminalRaw.isEmpty, "file names reach the terminal with control characters: \(terminalRaw)")
        #expect(htmlRaw.isEmpty, "file names reach the HTML report with control characters: \(htmlRaw)")
        let runs = Self.names.count + 5
        record(
            "hostile file names (\(Self.names.count) names, ../, absolute, 1,000-character path, too long, missing)", runs: runs,
            expected: runs - 2, applied: accepted, lost: 0, refused: 2,
            reasons: "cannot read x2" + (terminalRaw.isEmpty ? "" : "; control characters on the terminal x\(terminalRaw.count)")
                + (htmlRaw.isEmpty ? "" : "; in HTML x\(htmlRaw.count)"),
            ok: wrong.isEmpty && terminalRaw.isEmpty && htmlRaw.isEmpty)
    }

    static let notices =
        "TRN,Date of birth,Full name,Prohibition code,Details,Alert start date,Alert end date,Reference\r\n1000036,25/01/1967,Mocka Fakeington,T1,Prohibition order,01/11/2026,,EWC/PO/2026/0001\r\n"

    /// An .eml from an allowed sender with one attachment per hostile name.
    static func email(names: [String]) -> String {
        var text =
            "Authentication-Results: mx.tq.education.gov.example; dkim=pass header.d=ewc.wales.example\r\n"
            + "From: alerts@ewc.wales.example\r\nTo: tq@education.gov.example\r\nSubject: notices\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
        for name in names {
            let quoted = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            text += "--b1\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename=\"\(quoted)\"\r\n\r\n\(notices)\r\n"
        }
        // RFC 2231 and RFC 2047 forms of traversal.
        text += "--b1\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename*=UTF-8''..%2F..%2Fescape-2231.csv\r\n\r\n\(notices)\r\n"
        text +=
            "--b1\r\nContent-Type: text/csv; name=\"=?UTF-8?B?\(Data("../../escape-2047.csv".utf8).base64EncodedString())?=\"\r\nContent-Disposition: attachment\r\n\r\n\(notices)\r\n"
        return text + "--b1--\r\n"
    }

    static let attachmentNames = [
        "../../etc/passwd", "/abs", "/tmp/abs.csv", "a\u{01}b.csv", String(repeating: "a", count: 1000),
        String(repeating: "a", count: 1000) + ".csv", "..\\..\\win.csv", "./../dot.csv", "....//....//x.csv", "notices.csv",
    ]

    @Test("email attachments named ../../etc/passwd, /abs, a\\u0001b.csv, 1,000 a's: extracted only inside the given folder")
    func attachmentNames() throws {
        let sandbox = try TemporaryFolder("hostile-mail")
        let work = sandbox.path("work/extract")
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: sandbox.path("mail"), withIntermediateDirectories: true)
        let eml = try sandbox.write("mail/notices.eml", Array(Self.email(names: Self.attachmentNames).utf8))
        let outsideBefore = try FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path).filter {
            $0.contains("escape") || $0 == "abs.csv" || $0 == "passwd"
        }
        let message = try MailReader.read(path: eml, extractingAttachmentsTo: work)
        var wrong: [String] = []
        let root = URL(fileURLWithPath: work).standardizedFileURL.resolvingSymlinksInPath().path + "/"
        for attachment in message.attachments {
            let resolved = URL(fileURLWithPath: attachment.path).standardizedFileURL.resolvingSymlinksInPath().path
            if !resolved.hasPrefix(root) { wrong.append("\(attachment.originalFilename ?? attachment.filename) -> \(attachment.path)") }
            if attachment.filename.contains("/") || attachment.filename.contains("..") || !controlCharacters(in: attachment.filename).isEmpty
                || attachment.filename.utf8.count > 255
            {
                wrong.append("unsafe name \(attachment.filename.debugDescription)")
            }
            if (try? String(contentsOfFile: attachment.path, encoding: .utf8)) != Self.notices {
                wrong.append("\(attachment.filename): content differs")
            }
        }
        #expect(message.attachments.count == Self.attachmentNames.count + 2)
        // Nothing anywhere in the sandbox but the email and the extracted files.
        let everything = FileManager.default.enumerator(atPath: sandbox.path)?.allObjects.compactMap { $0 as? String } ?? []
        let stray = everything.filter { !$0.hasPrefix("work") && !$0.hasPrefix("mail") }
        let strayInWork = everything.filter { $0.hasPrefix("work/") && !$0.hasPrefix("work/extract") }
        #expect(stray.isEmpty && strayInWork.isEmpty, "written outside the folder: \(stray + strayInWork)")
        #expect(!FileManager.default.fileExists(atPath: "/abs") && !FileManager.default.fileExists(atPath: "/tmp/abs.csv"))
        let outsideAfter = try FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path).filter {
            $0.contains("escape") || $0 == "abs.csv" || $0 == "passwd"
        }
        #expect(outsideAfter == outsideBefore)
        #expect(wrong.isEmpty, "\(wrong.joined(separator: "\n"))")

        // Through the command: the email is checked, every attachment's rows read, the names in the report safe.
        let folder = try TemporaryFolder()
        let run = try runBridge(["check", eml, "--today", checkDay, "--report", folder.path("r.json"), "--report", folder.path("r.html")])
        let page = (try? String(contentsOfFile: folder.path("r.html"), encoding: .utf8)) ?? ""
        let report = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.path("r.json"))))) as? [String: Any]
        #expect(run.signal == nil && run.status == 0, "\(run)")
        #expect(report != nil && controlCharacters(in: page).isEmpty && controlCharacters(in: run.stdout).isEmpty)
        let attachments = (report?["attachments"] as? [String]) ?? []
        #expect(attachments.allSatisfy { !$0.contains("/") && !$0.contains("..") && controlCharacters(in: $0).isEmpty }, "\(attachments)")
        let rows = (report?["rows"] as? [String: Any])?["accepted"] as? Int ?? -1
        let expectedRows = Self.attachmentNames.filter { $0.hasSuffix(".csv") }.count + 2
        print(
            "hostile attachment names: \(message.attachments.map(\.filename)) -> \(rows) rows accepted by check; report attachments \(attachments.count)"
        )
        record(
            "email attachments with traversal, absolute, control-character and 1,000-character names", runs: 1,
            expected: Self.attachmentNames.count + 2, applied: message.attachments.count,
            refused: 0, reasons: "all extracted inside the folder under sanitised names; \(rows) of \(expectedRows) .csv rows accepted by check",
            ok: wrong.isEmpty && stray.isEmpty && message.attachments.count == Self.attachmentNames.count + 2)
    }
}
