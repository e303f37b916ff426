import CurlMail
import DQTTesting
import Foundation
import MIMEMail
import Testing

/// ``AttachmentMessage`` without a server: the bytes do not depend on how libcurl asks for them, a resubmission is the
/// same message, and the attachment survives MIME parsing byte for byte, an empty one included.
struct AttachmentMessageTests {
    let scratch: TemporaryFolder

    init() throws { scratch = try TemporaryFolder("attachment-message-tests") }

    func compose(_ attachment: String) throws -> AttachmentMessage {
        try AttachmentMessage(
            from: "dqt-bridge@dqt.test", to: ["alerts@ewc.wales.example"], subject: "Rhybuddion – prohibitions",
            messageID: "export-42.prohibitions-ewc@dqt",
            date: Date(timeIntervalSince1970: 1_796_500_000), text: "Attached.\n", attachment: attachment, attachmentName: "Prohibitions.csv")
    }

    func readAll(_ message: AttachmentMessage, bufferSize: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: bufferSize)
        while true {
            let count = try buffer.withUnsafeMutableBytes { try message.read(into: $0) }
            if count == 0 { return out }
            out += buffer[0..<count]
        }
    }

    @Test(arguments: [0, 1, 58_367, 400_001])
    func sameBytesWhateverTheReadSizeAndAttachmentIntact(size: Int) throws {
        let file = try scratch.write("in-\(size).csv", (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) })
        let small = try readAll(try compose(file), bufferSize: 700)
        let large = try readAll(try compose(file), bufferSize: 65_536)
        #expect(small == large)
        let text = String(decoding: small, as: UTF8.self)
        #expect(text.hasPrefix("From: dqt-bridge@dqt.test\r\n"))
        #expect(text.contains("Message-ID: <export-42.prohibitions-ewc@dqt>\r\n"))
        #expect(text.contains("Subject: =?UTF-8?B?"))
        #expect(!text.split(separator: "\r\n", omittingEmptySubsequences: false).contains { $0.utf8.count > 998 })

        let eml = try scratch.write("m-\(size).eml", small)
        let parsed = try MailReader.read(path: eml, extractingAttachmentsTo: scratch.path("parts-\(size)"))
        let attached = try #require(parsed.attachments.first)
        #expect(try Data(contentsOf: URL(fileURLWithPath: attached.path)) == Data(contentsOf: URL(fileURLWithPath: file)))
    }

    @Test func headerValuesCannotBreakOutOfTheirLine() throws {
        let file = try scratch.write("x.csv", Array("a\r\n".utf8))
        #expect(throws: MailTransportError.self) {
            try AttachmentMessage(
                from: "a@b\r\nBcc: x@y", to: ["c@d"], subject: "s", messageID: "m@d", date: Date(), text: "", attachment: file,
                attachmentName: "x.csv")
        }
        let message = try AttachmentMessage(
            from: "a@b", to: ["c@d"], subject: "s\r\nBcc: x@y", messageID: "m@d", date: Date(), text: "", attachment: file, attachmentName: "x.csv")
        let text = String(decoding: try readAll(message, bufferSize: 4096), as: UTF8.self)
        #expect(!text.contains("\r\nBcc:"))
    }
}
