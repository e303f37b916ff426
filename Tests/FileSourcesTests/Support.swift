import Crypto
import DQTModel
import FileSources
import Foundation

/// The repository's root, found from this file's place: the tests read the feeds' .eml fixtures.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A prohibition-notices fixture (`good/...` or `malformed/...`).
func notices(_ fixture: String) -> String {
    repositoryRoot.appendingPathComponent("fixtures/prohibition-notices").appendingPathComponent(fixture).path
}

/// The email rules of `mappings/prohibition-notices.yaml`.
let noticeRules = EmailSettings(
    senders: ["@ewc.wales.example", "@gtcs.scot.example", "@gtcni.example"], attachments: ["*.csv"],
    trust: SenderTrust(dkimAuthservID: "mx.tq.education.gov.example"))

/// A folder of its own under the temporary directory, removed with the value.
final class Scratch {
    let root: String

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("file-sources-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func path(_ name: String) -> String { joinPath(root, name) }

    func write(_ name: String, _ text: String) throws -> String {
        let path = path(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }
}

func sha256Hex(_ bytes: some DataProtocol) -> String {
    SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
}

func sha256Hex(ofFile path: String) throws -> String {
    sha256Hex(try Data(contentsOf: URL(fileURLWithPath: path)))
}
