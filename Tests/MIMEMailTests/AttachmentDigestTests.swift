import Crypto
import Testing

@testable import MIMEMail

@Suite("MIME mail: attachments hashed as they are written")
struct AttachmentDigestTests {
    @Test("Each attachment's SHA-256 is that of its decoded bytes: base64 over several write buffers, quoted-printable, 7bit")
    func digestOfDecodedContent() throws {
        let scratch = Scratch("digest")
        defer { scratch.remove() }
        var generator = SystemRandomNumberGenerator()
        let large = (0..<200_000).map { _ in UInt8.random(in: 0...255, using: &generator) }  // over three 64 KiB buffers
        let message = crlf(
            """
            From: alerts@gtcni.example
            Content-Type: multipart/mixed; boundary=b1

            --b1
            Content-Type: application/octet-stream; name=large.bin
            Content-Transfer-Encoding: base64

            \(base64(large))
            --b1
            Content-Type: text/csv; name=qp.csv
            Content-Transfer-Encoding: quoted-printable

            TRN,Note
            1000040,caf=C3=A9 =
            au lait
            --b1
            Content-Type: text/csv; name=plain.csv

            a,b
            1,2
            --b1--
            """)
        let m = try MailReader.read(path: scratch.write("digest.eml", message), extractingAttachmentsTo: scratch.path + "/out")
        let expected: [[UInt8]] = [large, Array("TRN,Note\r\n1000040,café au lait".utf8), Array("a,b\r\n1,2".utf8)]
        #expect(m.attachments.map(\.filename) == ["large.bin", "qp.csv", "plain.csv"])
        for (attachment, content) in zip(m.attachments, expected) {
            #expect(contents(attachment.path) == content, "\(attachment.filename)")
            #expect(attachment.sha256 == Array(SHA256.hash(data: content)), "\(attachment.filename)")
        }
    }
}
