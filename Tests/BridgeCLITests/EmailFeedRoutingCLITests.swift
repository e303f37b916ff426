import DQTTesting
import Foundation
import Testing

/// `dqt-bridge check notice.eml` without `--feed`: every email feed takes `*.eml`, so the email's sender chooses the
/// feed, as a run's mail drop routes it.
@Suite("CLI: an email's feed chosen by its sender")
struct EmailFeedRoutingCLITests {
    static func fixture(_ path: String) -> String { repositoryRoot.appendingPathComponent("fixtures/\(path)").path }

    @Test("each partner's notice is checked by its own feed; an unproved DBS notice by DBS's, refused with its reason")
    func routedBySender() throws {
        for (path, feed, status) in [
            ("dbs-notices/good/dbs-notices-20261120.eml", "dbs-notices", Int32(0)),
            ("prohibition-notices/good/gtcni-notices-20261120.eml", "prohibition-notices", 0),
            ("prohibition-notices/good/ewc-notices-20261120-base64.eml", "prohibition-notices", 0),
            ("dbs-notices/malformed/dbs-notices-unsigned.eml", "dbs-notices", 2),
        ] {
            let result = try checkFixture(Self.fixture(path))
            #expect(result.run.status == status, "\(path): \(result.run.stdout)\(result.run.stderr)")
            #expect(jsonObject(result.reportJSON)?["feed"] as? String == feed, "\(path)")
        }
    }

    @Test("an email no feed's allow-list names is refused with the run's code, and no report")
    func strangerRefused() throws {
        let result = try checkFixture(Self.fixture("prohibition-notices/malformed/notices-sender-not-allowed.eml"))
        #expect(result.run.status == 2)
        #expect(result.run.stderr.contains("refused: sender-not-allowed"), "\(result.run.stderr)")
        #expect(result.reportJSON.isEmpty)
    }
}
