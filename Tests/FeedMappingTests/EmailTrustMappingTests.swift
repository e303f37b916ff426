import DQTModel
import Foundation
import Testing

@testable import FeedMapping

@Suite("Mappings: an email feed's sender proof")
struct EmailTrustMappingTests {
    static func mapping(authentication: String?) -> String {
        """
        id: test-feed
        title: Emailed notices
        record: ProhibitionNotice
        files: ["*.eml"]
        email:
          senders: ["@ewc.wales.example"]
          attachments: ["*.csv"]
        \(authentication.map { "  authentication: \($0)" } ?? "")
        format: {kind: delimited, header: true}
        fields:
          trn: {column: TRN, type: trn, required: true}
        """
    }

    @Test("The authserv-id is read and lowercased; an email feed without proof, or with an unknown key, does not load")
    func authentication() throws {
        let feed = try loadMapping(Self.mapping(authentication: "{dkim: {authservID: MX.TQ.example}}"))
        #expect(feed.email?.trust == SenderTrust(dkimAuthservID: "mx.tq.example"))
        for (authentication, message) in [
            (nil, "email needs 'authentication'"), ("{dkim: {}}", "email.authentication.dkim needs 'authservID'"),
            ("{dkim: {authservID: \"mx tq\"}}", "must be our receiving MTA's authserv-id"), ("{spf: {}}", "spf"),
        ] {
            let error = mappingError(Self.mapping(authentication: authentication))
            #expect(error?.description.contains(message) == true, "\(authentication ?? "none"): \(String(describing: error))")
        }
    }
}
