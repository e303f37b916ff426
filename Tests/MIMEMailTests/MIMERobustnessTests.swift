import DQTTesting
import Testing

@testable import MIMEMail

#if canImport(Glibc)
    import Glibc
#endif

@Suite("MIME robustness")
struct MIMERobustnessTests {
    static let mutator = ByteMutator(
        tokens: [
            "-", "=", "\r\n", "\n", ";", "\"", ":", "?", " ", "*", "%", "'", "_", "<", ">", "@",
            "--", "\r\n--b1--\r\n", "Content-Transfer-Encoding: base64\r\n", "=?UTF-8?B?",
        ].map { Array($0.utf8) }
            + [[0xC3], [0xFF], [0x09]])

    func seeds() -> [[UInt8]] {
        let t = MIMEMailTests()
        return [
            Array(t.fullMessage().utf8),
            Array(crlf(t.fullMessage()).utf8),
            Array(
                """
                From: "GTC NI" <alerts@gtcni.example>
                Subject: =?utf-8?B?w6k=?=
                Content-Type: multipart/mixed; boundary=b1

                --b1
                Content-Type: text/plain; charset=us-ascii
                Content-Transfer-Encoding: quoted-printable

                TRN;Code;Date=
                0001234;T5;01/01/2026
                --b1
                Content-Type: application/octet-stream
                Content-Disposition: attachment; filename*0*=utf-8''r%C3%A9sum; filename*1="../x.csv"
                Content-Transfer-Encoding: base64

                YWJj
                ZGVm
                --b1--
                """.utf8),
            Array("From: x@y.example\nContent-Type: text/plain\n\na,b,c\n1,2,3\n".utf8),
        ]
    }

    /// 100,000 mutated messages in four slices (run in parallel).
    @Test(arguments: 0..<4)
    func mutatedMessages(slice: Int) throws {
        let scratch = Scratch("fuzz\(slice)")
        defer { scratch.remove() }
        let out = scratch.path + "/out"
        let seeds = seeds()
        var rng = SplitMix64(seed: 0x3A11_2026 &+ UInt64(slice))
        var outcomes: [String: Int] = [:]
        for i in 0..<25_000 {
            let input = Self.mutator.mutate(seeds[i % seeds.count], seeds: seeds, using: &rng)
            let path = scratch.write("in.eml", input)
            do {
                let m = try MailReader.readTyped(path: path, extractingAttachmentsTo: out)
                outcomes["ok", default: 0] += 1
                for a in m.attachments {
                    let name = a.filename
                    if name.contains("/") || name.hasPrefix(".") || name.isEmpty || name.utf8.count > 255
                        || name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
                        || a.path != out + "/" + name
                    {
                        Issue.record("unsafe attachment name from input \(i)")
                        return
                    }
                    unlink(a.path)
                }
            } catch {
                outcomes[String(describing: error).prefix(24).description, default: 0] += 1
            }
            if i % 5000 == 0 || i == 24_999 {
                // Nothing is left behind: no temporary files, no attachments of failed messages.
                let left = scratch.files("/out")
                if !left.isEmpty {
                    Issue.record("files left behind after input \(i): \(left)")
                    return
                }
            }
        }
        #expect(outcomes["ok", default: 0] > 2_500)
        #expect(outcomes.count > 4, "the mutations reach several kinds of error: \(outcomes)")
    }

    @Test func randomBytes() throws {
        let scratch = Scratch("random")
        defer { scratch.remove() }
        var rng = SplitMix64(seed: 7)
        for i in 0..<5_000 {
            let n = Int.random(in: 0...400, using: &rng)
            let alphabet: [UInt8] = i % 2 == 0 ? Array(0...255) : Array("From: a\r\n-=;\"Content-Type multipart/mixed boundary=x base64".utf8)
            let input = (0..<n).map { _ in alphabet.randomElement(using: &rng)! }
            if let m = try? MailReader.read(path: scratch.write("r.eml", input), extractingAttachmentsTo: scratch.path + "/out") {
                for a in m.attachments { unlink(a.path) }
            }
        }
        #expect(scratch.files("/out").isEmpty)
    }

    @Test func hugeAttachmentOnOneLineInBoundedMemory() throws {
        // 100 MB of base64 without a single line break, written to disk in pieces, then read.
        let scratch = Scratch("huge")
        defer { scratch.remove() }
        let path = scratch.path + "/huge.eml"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        #expect(fd >= 0)
        func put(_ s: [UInt8]) {
            s.withUnsafeBufferPointer { b in
                var d = 0
                while d < b.count { d += write(fd, b.baseAddress! + d, b.count - d) }
            }
        }
        put(
            Array(
                "From: a@b.example\r\nContent-Type: multipart/mixed; boundary=HH\r\n\r\n--HH\r\nContent-Type: application/octet-stream; name=huge.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                    .utf8))
        let block = Array(String(repeating: "QUJD", count: 1 << 18).utf8)  // 1 MiB of base64 ("ABC" repeated)
        for _ in 0..<100 { put(block) }
        put(Array("\r\n--HH--\r\n".utf8))
        close(fd)
        let baseline = residentBytes()
        let m = try MailReader.read(path: path, extractingAttachmentsTo: scratch.path + "/out")
        let growth = residentBytes() - baseline
        #expect(m.attachments.first?.size == 100 * (3 << 18))
        #expect(growth < 32 << 20, "resident memory grew by \(growth >> 20) MiB")
        unlink(path)
    }
}
