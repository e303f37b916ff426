import Testing
@testable import MIMEMail
#if canImport(Glibc)
import Glibc
#endif

struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func residentBytes() -> Int {
    let s = String(decoding: contents("/proc/self/status"), as: UTF8.self)
    for line in s.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return (Int(line.filter(\.isNumber)) ?? 0) * 1024
    }
    return 0
}

@Suite("MIME robustness")
struct MIMERobustnessTests {
    static let specials = Array("-=\r\n;\":? *%'_<>@".utf8) + [0xC3, 0xFF, 0x09]

    static func mutate(_ input: [UInt8], seeds: [[UInt8]], rng: inout SplitMix) -> [UInt8] {
        var b = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            switch Int.random(in: 0..<7, using: &rng) {
            case 0 where !b.isEmpty:
                b[Int.random(in: 0..<b.count, using: &rng)] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &rng)
            case 1:
                b.insert(specials.randomElement(using: &rng)!, at: Int.random(in: 0...b.count, using: &rng))
            case 2 where !b.isEmpty:
                let i = Int.random(in: 0..<b.count, using: &rng)
                b.removeSubrange(i..<min(b.count, i + Int.random(in: 1...12, using: &rng)))
            case 3 where !b.isEmpty:
                b.removeSubrange(Int.random(in: 0..<b.count, using: &rng)...)
            case 4:
                let other = seeds.randomElement(using: &rng)!
                let a = Int.random(in: 0..<other.count, using: &rng)
                b.insert(contentsOf: other[a..<min(other.count, a + Int.random(in: 1...60, using: &rng))],
                         at: Int.random(in: 0...b.count, using: &rng))
            case 5 where !b.isEmpty:
                let i = Int.random(in: 0..<b.count, using: &rng)
                let piece = Array(b[i..<min(b.count, i + Int.random(in: 1...40, using: &rng))])
                b.insert(contentsOf: piece, at: Int.random(in: 0...b.count, using: &rng))
            default:
                if !b.isEmpty { b[Int.random(in: 0..<b.count, using: &rng)] = specials.randomElement(using: &rng)! }
            }
        }
        return b
    }

    func seeds() -> [[UInt8]] {
        let t = MIMEMailTests()
        return [
            Array(t.fullMessage().utf8),
            Array(crlf(t.fullMessage()).utf8),
            Array("""
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
        var rng = SplitMix(seed: 0x3A11_2026 &+ UInt64(slice))
        var outcomes: [String: Int] = [:]
        for i in 0..<25_000 {
            let input = Self.mutate(seeds[i % seeds.count], seeds: seeds, rng: &rng)
            let path = scratch.write("in.eml", input)
            do {
                let m = try MailReader.readTyped(path: path, extractingAttachmentsTo: out)
                outcomes["ok", default: 0] += 1
                for a in m.attachments {
                    let name = a.filename
                    if name.contains("/") || name.hasPrefix(".") || name.isEmpty || name.utf8.count > 255
                        || name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
                        || a.path != out + "/" + name {
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
        var rng = SplitMix(seed: 7)
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
        func put(_ s: [UInt8]) { s.withUnsafeBufferPointer { b in var d = 0; while d < b.count { d += write(fd, b.baseAddress! + d, b.count - d) } } }
        put(Array("From: a@b.example\r\nContent-Type: multipart/mixed; boundary=HH\r\n\r\n--HH\r\nContent-Type: application/octet-stream; name=huge.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n".utf8))
        let block = Array(String(repeating: "QUJD", count: 1 << 18).utf8) // 1 MiB of base64 ("ABC" repeated)
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
