import BridgeRun
import CurlMail
import DQTTesting
import FileSources
import Foundation

/// A test partner's notices sent through the real receiving path: signed (or not) by ``TestDKIMSigner``, submitted to
/// the Postfix of `scripts/services.sh` over STARTTLS, verified there by OpenDKIM, delivered into the Dovecot INBOX and
/// moved from there into a test's mail drop.
struct PartnerMail {
    let signer: TestDKIMSigner
    let mailboxes: TestMailboxes
    let submissionURL: String
    let recipient: String

    static var available: Bool {
        TestMailboxes.available
            && TestServices.shouldRun(
                TestServices.smtpURL, TestServices.smtpMailbox, TestServices.dkimAuthservID, TestServices.dkimDomain,
                TestServices.dkimSignerConfig, TestServices.smtpNoVerifierURL)
    }

    init(mailboxes: TestMailboxes) throws {
        signer = try TestDKIMSigner()
        self.mailboxes = mailboxes
        submissionURL = try TestServices.require(TestServices.smtpURL)
        recipient = try TestServices.require(TestServices.smtpMailbox)
    }

    var sender: String { "alerts@\(signer.domain)" }

    /// A notice of `rows` prohibitions from the partner (no Authentication-Results of its own) with a Message-ID to
    /// find it by; `extraHeaders` go on top.
    func notice(id: String, rows: Int = 2, extraHeaders: [String] = []) -> Data {
        let body = Synthetic.notices(from: sender, rows: rows).split(separator: "\r\n", maxSplits: 1, omittingEmptySubsequences: false)
        precondition(body.first?.hasPrefix("Authentication-Results:") == true, "Synthetic.notices starts with its own result")
        let top = (extraHeaders + ["Message-ID: <\(id)>"]).map { $0 + "\r\n" }.joined()
        return Data((top + String(body.last ?? "")).utf8)
    }

    /// Submits `message` through Postfix and waits for it in the INBOX; moves it into the drop and returns its header
    /// fields as delivered (unfolded).
    func sendIntoDrop(_ message: Data, id: String) async throws -> [String] {
        try submit(message)
        let server = mailboxes.server
        for _ in 0..<150 {
            if let uid = try inboxUID(id: id) {
                try server.curl(["\(server.url)/INBOX", "-X", "UID MOVE \(uid) \"\(mailboxes.inbox)\""])
                let moved = try server.uids(in: mailboxes.inbox).max() ?? 0
                return Self.headerFields(try server.message(uid: moved, in: mailboxes.inbox))
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw ChildProcessFailure(program: "postfix", reason: "message <\(id)> did not arrive in the INBOX within 30 s")
    }

    /// Submits `message` from the partner to the test mailbox through `url` (the verified submission port by default).
    func submit(_ message: Data, through url: String? = nil) throws {
        let endpoint = try MailEndpoint(
            url: url ?? submissionURL, schemes: ["smtp", "smtps"], user: "", password: .noLogin, caFile: mailboxes.server.caFile,
            connectTimeout: 5, operationTimeout: 20)
        _ = try SMTPSubmission(endpoint: endpoint).submit(from: sender, to: [recipient], message: MessageBytes(message))
    }

    /// The INBOX UID of the message with Message-ID `<id>`, if it has arrived.
    func inboxUID(id: String) throws -> UInt32? {
        let server = mailboxes.server
        let answer = try server.curl(["\(server.url)/INBOX", "-X", "UID SEARCH HEADER Message-ID \"<\(id)>\""])
        return answer.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("* SEARCH") }
            .flatMap { $0.split(separator: " ").dropFirst(2).compactMap { UInt32($0) } }.first
    }

    /// The header section's fields, each unfolded onto one line.
    static func headerFields(_ message: [UInt8]) -> [String] {
        let text = String(decoding: message, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
        let header = text.components(separatedBy: "\n\n").first ?? ""
        var fields: [String] = []
        for line in header.split(separator: "\n", omittingEmptySubsequences: false) {
            if let first = line.first, first == " " || first == "\t", !fields.isEmpty {
                fields[fields.count - 1] += " " + line.trimmingCharacters(in: .whitespaces)
            } else {
                fields.append(String(line))
            }
        }
        return fields
    }

    /// The Authentication-Results fields among `fields`, topmost first.
    static func authenticationResults(_ fields: [String]) -> [String] {
        fields.filter { $0.lowercased().hasPrefix("authentication-results:") }
    }
}

extension BridgeHarness {
    /// ``mappingsWithLiveNotices()`` with the notices feed trusting the test MTA's DKIM results (its authserv-id) and
    /// allowing the test partner's domain.
    func mappingsTrustingTestMTA(_ signer: TestDKIMSigner) throws -> String {
        let mappings = try mappingsWithLiveNotices()
        let path = joinPath(mappings, "prohibition-notices.yaml")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let changed =
            text
            .replacingOccurrences(of: "authservID: mx.tq.education.gov.example", with: "authservID: \(signer.authservID)")
            .replacingOccurrences(of: "senders: [", with: "senders: [\"@\(signer.domain)\", ")
            .replacingOccurrences(of: "partnerByDomain:\n    entries: {", with: "partnerByDomain:\n    entries: {\(signer.domain): partner, ")
        guard changed.contains("authservID: \(signer.authservID)"), changed.contains("\"@\(signer.domain)\""),
            changed.contains("\(signer.domain): partner")
        else {
            throw ChildProcessFailure(program: "test", reason: "prohibition-notices.yaml no longer has the expected email section")
        }
        try changed.write(toFile: path, atomically: true, encoding: .utf8)
        return mappings
    }
}

/// A whole message in memory handed to ``SMTPSubmission`` (test messages are a few KB).
final class MessageBytes: SMTPMessageSource {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ data: Data) { bytes = Array(data) }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, bytes.count - offset)
        guard count > 0 else { return 0 }
        bytes.withUnsafeBytes { source in
            buffer.baseAddress!.copyMemory(from: source.baseAddress! + offset, byteCount: count)
        }
        offset += count
        return count
    }
}
