import DQTModel
import DQTTesting
import FeedMapping
import FileSources
import Foundation
import Testing

/// Emails that claim the S/MIME partner without proving it, on a feed that pins its certificate: each is refused with
/// its reason by the run's routing (`MailRouting`, after the intake verified the signature) and by `dqt-bridge check`
/// (exit 2, the same code), and nothing becomes a record. Keys, certificates and signatures are made in the test.
@Suite("hostile files: forged and badly signed S/MIME notices", .timeLimit(.minutes(10)))
struct SMIMESenderTests {
    static let address = "teacher.alerts@ewc.wales.example"

    /// The partner's and a stranger's keys, and a copy of the prohibition-notices mapping that proves its senders by
    /// S/MIME only, pinning the partner's certificate (relative to the folder holding the mappings).
    struct Setup {
        let folder: TemporaryFolder
        let partner: SMIMETestPartner
        let stranger: SMIMETestPartner
        let mappings: String
        let rules: EmailSettings

        init() throws {
            folder = try TemporaryFolder("hostile-smime")
            try FileManager.default.createDirectory(atPath: folder.path("certificates"), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: folder.path("mappings"), withIntermediateDirectories: true)
            partner = try SMIMETestPartner(email: SMIMESenderTests.address, name: "ewc", in: folder.path("certificates"))
            stranger = try SMIMETestPartner(email: SMIMESenderTests.address, name: "stranger", in: folder.path)
            let text = try String(contentsOf: repositoryRoot.appendingPathComponent("mappings/prohibition-notices.yaml"), encoding: .utf8)
            let smime = text.replacingOccurrences(
                of: "    dkim: {authservID: mx.tq.education.gov.example}\n", with: "    smime: {certificates: [certificates/ewc-certificate.pem]}\n")
            mappings = folder.path("mappings")
            try smime.write(toFile: folder.path("mappings/prohibition-notices.yaml"), atomically: true, encoding: .utf8)
            let feed = try MappingLoader.parse(smime, file: folder.path("mappings/prohibition-notices.yaml"))
            rules = try #require(feed.email)
        }

        /// The good notice signed (by the partner unless said), written to `name`.
        func notice(
            _ name: String, signer: SMIMETestPartner? = nil, from: String = address, detached: Bool = true, innerHeaders: [String] = []
        ) throws -> String {
            let content = folder.path("\(name).content")
            try SMIMETestPartner.noticeContent(headers: innerHeaders, to: content)
            let path = folder.path("\(name).eml")
            try (signer ?? partner).sign(content: content, from: from, detached: detached, output: path)
            return path
        }

        func check(_ path: String) throws -> ChildProcessResult {
            var environment = ProcessInfo.processInfo.environment
            environment["NO_COLOR"] = "1"
            environment["DQT_BRIDGE_MAPPINGS"] = mappings
            return try ChildProcess.run(
                try bridgeBinary(), ["check", path, "--feed", "prohibition-notices", "--today", checkDay], environment: environment)
        }
    }

    /// Attack name, how the email is made, the refusal code, and how far from now the run verifies (the check
    /// command verifies at the present, so a row that needs another time is routed only).
    static let attacks: [(String, @Sendable (Setup) throws -> String, String, TimeInterval)] = [
        (
            "unsigned", { _ in repositoryRoot.appendingPathComponent("fixtures/prohibition-notices/good/ewc-notices-20261120-base64.eml").path },
            "sender-unauthenticated", 0
        ),
        (
            "a detached signature over changed content",
            { s in
                let path = try s.notice("tampered")
                try SMIMETestPartner.tamper(path, replacing: "VFJOLERhdGUgb2Yg", with: "VFJOLERhdGUgb2Zg")
                return path
            }, "signature-invalid", 0
        ),
        (
            "an opaque signed-data with changed content",
            { s in
                let path = try s.notice("tampered-opaque", detached: false)
                try SMIMETestPartner.tamperOpaque(path)
                return path
            }, "signature-invalid", 0
        ),
        (
            "a signature part that is not CMS",
            { s in
                let path = try s.notice("not-cms")
                try SMIMETestPartner.tamper(path, replacing: "filename=\"smime.p7s\"\n\nMII", with: "filename=\"smime.p7s\"\n\nAAA")
                return path
            }, "signature-invalid", 0
        ),
        (
            "signed by a stranger whose certificate names the partner's address", { s in try s.notice("stranger", signer: s.stranger) },
            "certificate-unknown", 0
        ),
        ("signed with the partner's certificate after it expired", { s in try s.notice("expired") }, "certificate-expired", 31 * 86400),
        ("a From the certificate does not name", { s in try s.notice("other-from", from: "someone.else@ewc.wales.example") }, "sender-forged", 0),
        (
            "a From inside the signed content naming another mailbox",
            { s in try s.notice("inner-from", innerHeaders: ["From: attacker@mail.example"]) },
            "sender-mismatch", 0
        ),
    ]

    @Test("Every forged or badly signed S/MIME notice is refused with its code by the routing and by dqt-bridge check")
    func badlySignedNoticesAreRefused() throws {
        let setup = try Setup()
        var refused: [String: Int] = [:]
        var wrong: [String] = []
        var runs = 0
        for (index, (attack, make, code, offset)) in Self.attacks.enumerated() {
            let path = try make(setup)
            let email = try MailIntake.read(
                emlPath: path, into: setup.folder.path("parts-\(index)"), pinned: setup.rules.trust.smimeCertificates,
                now: Date().addingTimeInterval(offset))
            let routed = MailRouting.route(.success(email), routes: [MailRoute(feed: "prohibition-notices", rules: setup.rules)])
            runs += 1
            guard case .refused(let routedCode, _) = routed.decision, routedCode == code else {
                wrong.append("\(attack): routed \(routed.decision), expected \(code)")
                continue
            }
            if offset == 0 {
                let check = try setup.check(path)
                runs += 1
                guard check.status == 2, check.stdout.contains("refused: \(code):") else {
                    wrong.append("\(attack): check exit \(check.status) \(check.stdout)")
                    continue
                }
            }
            refused[code, default: 0] += 1
        }
        let control = try setup.check(try setup.notice("control"))
        let opaqueControl = try setup.check(try setup.notice("control-opaque", detached: false))
        #expect(wrong.isEmpty, "\(wrong)")
        #expect(control.status == 0 && control.stdout.contains("rejected 0"), "\(control)")
        #expect(opaqueControl.status == 0 && opaqueControl.stdout.contains("rejected 0"), "\(opaqueControl)")
        let reasons = refused.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
        record(
            "forged and badly signed S/MIME notices (\(Self.attacks.count) crafted, routing and check)", runs: runs + 2, expected: 0, applied: 0,
            refused: refused.values.reduce(0, +), reasons: reasons, ok: wrong.isEmpty && control.status == 0 && opaqueControl.status == 0)
    }
}
