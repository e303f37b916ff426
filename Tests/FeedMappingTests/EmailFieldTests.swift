import DQTModel
import Foundation
import Testing

@testable import FeedMapping

@Suite("Mappings: fields read from the email, and text patterns")
struct EmailFieldTests {
    static let mapping = """
        id: test-feed
        title: Test notices
        partner: Test partners
        replaces: [test-entry]
        status: live
        files: ["*.eml"]
        email:
          senders: ["@a.example"]
          attachments: ["*.csv"]
          authentication:
            dkim: {authservID: mx.test}
        format: {kind: delimited, encoding: utf-8, header: true}
        fields:
          trn: {column: TRN, type: trn, required: true}
          reference: {column: Reference, type: text, pattern: "REF-[0-9]{3}", required: true}
          senderAddress: {from: email.sender, type: text, required: true}
          partner: {from: email.senderDomain, type: enum, lookup: partnerByDomain, required: true}
        lookups:
          partnerByDomain:
            entries: {a.example: partner-a}
        operation:
          method: POST
          path: /v3/alerts
          body:
            trn: trn
            alertTypeCode: {const: B1}
            startDate: {const: "2026-11-01"}
            sender: senderAddress
            source: partner
            reference: reference

        """

    /// An email from `sender`, DKIM-verified for its domain by the MTA `mx.test`, with `csv` as its one attachment.
    func check(csv: String, from sender: String) throws -> (CheckResult, CollectingSink) {
        let feed = try loadMapping(Self.mapping)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("email-field-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("notices.csv").path
        try Data(csv.utf8).write(to: URL(fileURLWithPath: path))
        let domain = String(sender.split(separator: "@").last ?? "").lowercased()
        let evidence = SenderEvidence(
            fromFields: 1, fromMailboxes: [sender],
            authenticationResults: [AuthenticationRecord(authservID: "mx.test", dkim: [DKIMResult(result: "pass", domain: domain, identity: nil)])])
        let email = ReceivedEmail(
            sender: sender, attachments: [.init(name: "notices.csv", path: path, sha256: String(repeating: "1", count: 64))], evidence: evidence)
        var sink = CollectingSink()
        let result = FeedChecker(feed: feed, context: testContext)
            .check(.email(.success(email)), name: "notice.eml", sha256: String(repeating: "0", count: 64), sink: &sink)
        return (result, sink)
    }

    @Test("The authenticated sender's address and domain fill fields; the domain's lookup gives the partner")
    func senderFields() throws {
        let (result, sink) = try check(csv: "TRN,Reference\r\n1000001,REF-001\r\n", from: "Alerts@A.example")
        #expect(result.refusal == nil && result.accepted == 1, "\(result.groups)")
        let body = try #require(sink.calls.first?.body)
        #expect(body.contains(#""sender":"alerts@a.example""#), "\(body)")
        #expect(body.contains(#""source":"partner-a""#), "\(body)")
        #expect(body.contains(#""reference":"REF-001""#), "\(body)")
    }

    @Test("A reference off its pattern, a file not from an email: each row rejected, located")
    func rejections() throws {
        let (pattern, _) = try check(csv: "TRN,Reference\r\n1000001,REF-01\r\n1000002,ref-002\r\n1000003,REF-003\r\n", from: "alerts@a.example")
        #expect(pattern.accepted == 1 && pattern.rejected == 2)
        #expect(pattern.groups.first { $0.key.field == "reference" }?.lines == [2, 3])

        let (file, _) = try FeedMappingTests.check(mapping: Self.mapping, content: Array("TRN,Reference\r\n1000001,REF-001\r\n".utf8))
        #expect(file.accepted == 0)
        #expect(file.groups.contains { $0.key.field == "partner" } && file.groups.contains { $0.key.field == "senderAddress" })
    }

    @Test(
        "from: is refused on a feed that takes no email, with an unknown value, beside a column, for an allowed domain with no partner; a bad pattern too"
    )
    func loaderErrors() {
        let notEmail = Self.mapping.replacingOccurrences(of: "email:\n  senders", with: "emailless:\n  senders")
        #expect(mappingError(notEmail)?.description.contains("emailless") == true)
        let emailLines = ["email:", "  senders:", "  attachments:", "  authentication:", "    dkim:"]
        let noEmail = Self.mapping.components(separatedBy: "\n").filter { text in !emailLines.contains { text.hasPrefix($0) } }
            .joined(separator: "\n")
        let error = mappingError(noEmail)
        #expect(error?.message.contains("only an email feed") == true, "\(String(describing: error))")
        #expect(error?.line == line(of: "senderAddress: {from", in: noEmail))

        let unknown = Self.mapping.replacingOccurrences(of: "from: email.sender,", with: "from: email.subject,")
        #expect(mappingError(unknown)?.message.contains("email.sender, email.senderDomain") == true)
        let both = Self.mapping.replacingOccurrences(of: "from: email.sender,", with: "from: email.sender, column: From,")
        #expect(mappingError(both)?.message.contains("give 'from' or 'column', not both") == true)
        let unmapped = Self.mapping.replacingOccurrences(of: #"senders: ["@a.example"]"#, with: #"senders: ["@a.example", "@B.example"]"#)
        let unmappedError = mappingError(unmapped)
        #expect(unmappedError?.message.contains("email.senders allows b.example, which lookup partnerByDomain does not map") == true)
        #expect(unmappedError?.line == line(of: "partner: {from", in: unmapped))
        let badPattern = Self.mapping.replacingOccurrences(of: #"pattern: "REF-[0-9]{3}""#, with: #"pattern: "REF-[0-9""#)
        #expect(mappingError(badPattern)?.line == line(of: "pattern:", in: badPattern))
    }
}
