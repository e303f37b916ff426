import DQTModel
import Foundation
import Testing

@testable import FeedMapping

@Suite("Mappings: an email feed's sender proof")
struct EmailTrustMappingTests {
    /// The repository's prohibition-notices mapping with its `email.authentication` replaced (removed for nil).
    static func mapping(authentication: String?) throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("mappings/prohibition-notices.yaml"), encoding: .utf8)
        let block = "  authentication:\n    dkim: {authservID: mx.tq.education.gov.example}\n"
        #expect(text.contains(block))
        return text.replacingOccurrences(of: block, with: authentication.map { "  authentication: \($0)\n" } ?? "")
    }

    @Test("The authserv-id is read and lowercased; an email feed without proof, or with an unknown key, does not load")
    func authentication() throws {
        let feed = try loadMapping(Self.mapping(authentication: "{dkim: {authservID: MX.TQ.example}}"), id: "prohibition-notices")
        #expect(feed.email?.trust == SenderTrust(dkimAuthservID: "mx.tq.example"))
        for (authentication, message) in [
            (nil, "email needs 'authentication'"), ("{dkim: {}}", "email.authentication.dkim needs 'authservID'"),
            ("{dkim: {authservID: \"mx tq\"}}", "must be our receiving MTA's authserv-id"), ("{spf: {}}", "spf"),
        ] {
            let error = mappingError(try Self.mapping(authentication: authentication), id: "prohibition-notices")
            #expect(error?.description.contains(message) == true, "\(authentication ?? "none"): \(String(describing: error))")
        }
    }
}
