import DQTModel
import DQTTesting
import FeedMapping
import FileSources
import Foundation
import Testing

/// Emails that claim an allowed partner without proving it: each is refused with its reason both by the run's
/// routing (`MailRouting`) and by `dqt-bridge check` (exit 2, the same code), and nothing becomes a record. The
/// proof is DKIM as our receiving MTA recorded it under its authserv-id (`mx.tq.education.gov.example` in the
/// prohibition-notices mapping).
@Suite("hostile files: forged and unproved email senders", .timeLimit(.minutes(10)))
struct ForgedSenderTests {
    static let ours = "Authentication-Results: mx.tq.education.gov.example;"
    static let allowed = "From: \"EWC Alerts\" <teacher.alerts@ewc.wales.example>"
    static let passEWC = "\(ours) dkim=pass header.d=ewc.wales.example header.i=@ewc.wales.example"

    /// Attack name, the header lines put on top of the good EWC notice's body and other headers, the refusal code.
    static let attacks: [(String, [String], String)] = [
        ("no Authentication-Results", [allowed], "sender-unauthenticated"),
        (
            "only a forged result from another MTA", ["Authentication-Results: mx.attacker.example; dkim=pass header.d=ewc.wales.example", allowed],
            "sender-unauthenticated"
        ),
        (
            "ours below a foreign one on top", ["Authentication-Results: relay.example; dkim=pass header.d=ewc.wales.example", passEWC, allowed],
            "sender-unauthenticated"
        ),
        ("our result without DKIM", ["\(ours) spf=pass smtp.mailfrom=ewc.wales.example", allowed], "sender-unauthenticated"),
        ("our MTA found no signature", ["\(ours) dkim=none; dkim-atps=neutral", allowed], "sender-unauthenticated"),
        ("DKIM failed", ["\(ours) dkim=fail header.d=ewc.wales.example", allowed], "signature-invalid"),
        ("signed with rsa-sha1 only", ["\(ours) dkim=pass header.d=ewc.wales.example header.a=rsa-sha1", allowed], "signature-invalid"),
        ("relay from a stranger", ["\(ours) dkim=pass header.d=mail.example", allowed], "sender-forged"),
        ("signed by a parent domain", ["\(ours) dkim=pass header.d=example", allowed], "sender-forged"),
        ("identity outside the signer", ["\(ours) dkim=pass header.d=ewc.wales.example header.i=x@mail.example", allowed], "sender-forged"),
        ("a Sender field naming another mailbox", [passEWC, allowed, "Sender: attacker@mail.example"], "sender-mismatch"),
        ("an unparseable Sender field", [passEWC, allowed, "Sender: a@x.example, b@y.example"], "sender-mismatch"),
        ("two From fields", [passEWC, allowed, "From: attacker@mail.example"], "multiple-from"),
        ("a mailbox list", [passEWC, "From: attacker@mail.example, teacher.alerts@ewc.wales.example"], "multiple-from"),
        ("a group", [passEWC, "From: Alerts: teacher.alerts@ewc.wales.example;"], "multiple-from"),
        ("the allowed address in a comment", [passEWC, "From: attacker@mail.example (teacher.alerts@ewc.wales.example)"], "sender-not-allowed"),
        (
            "the allowed address in an encoded word",
            [passEWC, "From: =?utf-8?q?teacher=2Ealerts=40ewc=2Ewales=2Eexample?= <attacker@mail.example>"], "sender-not-allowed"
        ),
        (
            "the allowed address after an encoded word", [passEWC, "From: =?utf-8?q?x?= <attacker@mail.example> teacher.alerts@ewc.wales.example"],
            "sender-malformed"
        ),
        ("two @", [passEWC, "From: attacker@mail.example@ewc.wales.example"], "sender-malformed"),
        ("an obsolete route", [passEWC, "From: <@ewc.wales.example:attacker@mail.example>"], "sender-malformed"),
        ("no From field", [passEWC], "sender-malformed"),
    ]

    /// The good EWC notice with its Authentication-Results and From fields replaced by `headers`.
    static func craft(_ headers: [String]) throws -> String {
        let good = try String(
            contentsOf: repositoryRoot.appendingPathComponent("fixtures/prohibition-notices/good/ewc-notices-20261120-base64.eml"), encoding: .utf8)
        var lines = good.components(separatedBy: "\r\n")
        while let first = lines.first, first.hasPrefix("Authentication-Results:") || first.hasPrefix("\t") || first.hasPrefix("From:") {
            lines.removeFirst()
        }
        return (headers + lines).joined(separator: "\r\n")
    }

    @Test("Every forged or unproved sender is refused with its code by the routing and by dqt-bridge check")
    func forgedSendersAreRefused() throws {
        let folder = try TemporaryFolder()
        let rules = try #require(catalog.feeds.first { $0.id == "prohibition-notices" }?.email)
        var refused: [String: Int] = [:]
        var wrong: [String] = []
        for (index, (attack, headers, code)) in Self.attacks.enumerated() {
            let path = folder.path("attack-\(index).eml")
            try Self.craft(headers).write(toFile: path, atomically: true, encoding: .utf8)
            let email = try MailIntake.read(emlPath: path, into: folder.path("parts-\(index)"))
            let routed = MailRouting.route(.success(email), routes: [MailRoute(feed: "prohibition-notices", rules: rules)])
            guard case .refused(let routedCode, _) = routed.decision, routedCode == code else {
                wrong.append("\(attack): routed \(routed.decision), expected \(code)")
                continue
            }
            let check = try runBridge(["check", path, "--feed", "prohibition-notices", "--today", checkDay])
            guard check.status == 2, check.stdout.contains("refused: \(code):") else {
                wrong.append("\(attack): check exit \(check.status) \(check.stdout)")
                continue
            }
            refused[code, default: 0] += 1
        }
        let controlPath = folder.path("control.eml")
        try Self.craft([Self.passEWC, Self.allowed]).write(toFile: controlPath, atomically: true, encoding: .utf8)
        let control = try runBridge(["check", controlPath, "--feed", "prohibition-notices", "--today", checkDay])
        #expect(wrong.isEmpty, "\(wrong)")
        #expect(control.status == 0 && control.stdout.contains("rejected 0"), "\(control)")
        let reasons = refused.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
        record(
            "forged and unproved email senders (\(Self.attacks.count) crafted, routing and check)", runs: Self.attacks.count * 2 + 1, expected: 0,
            applied: 0, refused: refused.values.reduce(0, +), reasons: reasons, ok: wrong.isEmpty && control.status == 0)
    }
}
