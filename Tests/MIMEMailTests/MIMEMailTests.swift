import Testing

@testable import MIMEMail

#if canImport(Glibc)
    import Glibc
#endif

/// A fresh directory under /tmp (or /dev/shm), removed with its files by `remove`.
struct Scratch {
    let path: String
    init(_ name: String) {
        let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        path = "\(base)/mime-test-\(getpid())-\(name)-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(path, 0o700)
    }
    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let p = "\(path)/\(name)"
        let fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(fd >= 0)
        bytes.withUnsafeBufferPointer { b in
            var done = 0
            while done < b.count { done += Glibc.write(fd, b.baseAddress! + done, b.count - done) }
        }
        close(fd)
        return p
    }
    func write(_ name: String, _ text: String) -> String { write(name, Array(text.utf8)) }
    func files(_ sub: String = "") -> [String] {
        guard let d = opendir(path + sub) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let n = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if n != "." && n != ".." { names.append(n) }
        }
        return names.sorted()
    }
    func remove() {
        for sub in ["/out", ""] {
            for f in files(sub) { unlink("\(path)\(sub)/\(f)") }
        }
        rmdir(path + "/out")
        rmdir(path)
    }
}

func contents(_ path: String) -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return [] }
    defer { close(fd) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress!, 65536) }
        if n <= 0 { break }
        out += buf[0..<n]
    }
    return out
}

func text(_ path: String) -> String { String(decoding: contents(path), as: UTF8.self) }

func base64(_ bytes: [UInt8], lineLength: Int = 76) -> String {
    let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var out: [UInt8] = []
    var i = 0
    while i < bytes.count {
        let b0 = bytes[i]
        let b1 = i + 1 < bytes.count ? bytes[i + 1] : 0
        let b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
        out.append(table[Int(b0 >> 2)])
        out.append(table[Int((b0 & 3) << 4 | b1 >> 4)])
        out.append(i + 1 < bytes.count ? table[Int((b1 & 15) << 2 | b2 >> 6)] : UInt8(ascii: "="))
        out.append(i + 2 < bytes.count ? table[Int(b2 & 63)] : UInt8(ascii: "="))
        i += 3
    }
    var lines: [String] = []
    var k = 0
    while k < out.count {
        lines.append(String(decoding: out[k..<min(out.count, k + lineLength)], as: UTF8.self))
        k += lineLength
    }
    return lines.joined(separator: "\r\n")
}

let prohibitionCSV =
    "TRN,Date of birth,Full name,Sanction name,Alert start date,Alert end date\r\n0001234,01/02/1980,Jane Smith,T1,01/01/2026,\r\n0007654,05/05/1979,Gwenllïan Prŷs,T4,02/01/2026,\r\n"

func crlf(_ s: String) -> String { s.replacingNewlines() }

extension String {
    /// LF to CRLF (the fixtures are written with LF for readability).
    func replacingNewlines() -> String {
        var out = ""
        for c in self { if c == "\n" { out += "\r\n" } else { out.append(c) } }
        return out
    }
}

@Suite("MIME mail")
struct MIMEMailTests {
    func fullMessage() -> String {
        """
        Return-Path: <alerts@ewc.wales>
        From: =?UTF-8?Q?Cyngor_Gweithlu_Addysg_=E2=80=93_EWC?=
         <teacher.alerts@ewc.wales>
        To: TQ Unit <tq.unit@education.gov.uk>
        Subject: =?utf-8?B?UHJvaGliaXRpb25zIOKAkyB3ZWVrIDQ=?= =?utf-8?Q?_(Gwenll=C3=AFan)?=
        Date: Mon, 26 Oct 2026 09:15:00 +0000
        Message-ID: <20261026091500.1234@ewc.wales>
        MIME-Version: 1.0
        Content-Type: multipart/mixed;
         boundary="==outer boundary=="

        This is a multi-part message in MIME format.

        --==outer boundary==
        Content-Type: multipart/alternative; boundary=inner42

        --inner42
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: 7bit

        Dear TQ unit,
        Please find this week's notices attached.
        --inner42
        Content-Type: text/html; charset=utf-8

        <p>Dear TQ unit,</p>
        --inner42--

        --==outer boundary==
        Content-Type: text/csv; charset=utf-8
        Content-Disposition: attachment;
         filename*=utf-8''Prohibitions%20%E2%80%93%20week%204.csv
        Content-Transfer-Encoding: base64

        \(base64(Array(prohibitionCSV.utf8)))

        --==outer boundary==
        Content-Type: text/csv; name="=?iso-8859-1?Q?notices_r=E9sum=E9.csv?="
        Content-Disposition: attachment
        Content-Transfer-Encoding: quoted-printable

        TRN,Name,Note   \n\
        0001234,Ren=C3=A9e,"a very long note that the sender's mail client wrapped =
        with a soft line break"
        0007654,Bob,3=3D3

        --==outer boundary==--
        Epilogue text.
        """
    }

    @Test(arguments: [false, true])
    func multipartWithBase64AndQuotedPrintableAttachments(crlfLines: Bool) throws {
        let scratch = Scratch("full")
        defer { scratch.remove() }
        let source = crlfLines ? crlf(fullMessage()) : fullMessage()
        let path = scratch.write("message.eml", source)
        let message = try MailReader.read(path: path, extractingAttachmentsTo: scratch.path + "/out")
        #expect(message.from == "teacher.alerts@ewc.wales")
        #expect(message.fromHeader == "Cyngor Gweithlu Addysg – EWC <teacher.alerts@ewc.wales>")
        #expect(message.to == "TQ Unit <tq.unit@education.gov.uk>")
        #expect(message.subject == "Prohibitions – week 4 (Gwenllïan)")
        #expect(message.date == "Mon, 26 Oct 2026 09:15:00 +0000")
        #expect(message.messageID == "<20261026091500.1234@ewc.wales>")
        #expect(message.attachments.count == 2)
        let a = message.attachments[0]
        #expect(a.filename == "Prohibitions – week 4.csv")
        #expect(a.contentType == "text/csv")
        #expect(a.size == prohibitionCSV.utf8.count)
        #expect(text(a.path) == prohibitionCSV)
        #expect(a.originalFilename == nil && !a.inline)
        let q = message.attachments[1]
        #expect(q.filename == "notices résumé.csv")
        let eol = crlfLines ? "\r\n" : "\n"
        #expect(
            text(q.path)
                == "TRN,Name,Note\(eol)0001234,Renée,\"a very long note that the sender's mail client wrapped with a soft line break\"\(eol)0007654,Bob,3=3\(eol)"
        )
        #expect(q.size == contents(q.path).count)
        // Only the attachments are left in the directory.
        #expect(scratch.files("/out") == ["Prohibitions – week 4.csv", "notices résumé.csv"])
    }

    @Test func inlineCSVWithoutAFilenameIsAnAttachment() throws {
        let scratch = Scratch("inline")
        defer { scratch.remove() }
        let single = scratch.write(
            "single.eml",
            crlf(
                """
                From: dbs-notices@dbs.example
                Subject: Weekly reconciliation
                Content-Type: text/plain

                TRN,Date of birth,Full name,Sanction name
                0001234,01/02/1980,Jane Smith,T1
                """))
        let m = try MailReader.read(path: single, extractingAttachmentsTo: scratch.path + "/out")
        #expect(m.from == "dbs-notices@dbs.example")
        #expect(m.attachments.map(\.filename) == ["attachment-1.csv"])
        #expect(m.attachments.first?.inline == true)
        #expect(text(m.attachments[0].path) == "TRN,Date of birth,Full name,Sanction name\r\n0001234,01/02/1980,Jane Smith,T1")

        let mixed = scratch.write(
            "mixed.eml",
            """
            From: "GTC NI" <alerts@gtcni.example>
            Content-Type: multipart/mixed; boundary=b1

            --b1
            Content-Type: text/plain

            Hello, please see the table below, and the one after it.
            Regards, the team
            --b1
            Content-Type: text/plain; charset=us-ascii
            Content-Transfer-Encoding: quoted-printable

            TRN;Code;Date
            0001234;T5;01/01/2026
            --b1
            Content-Type: text/csv

            a,b,c
            --b1--
            """)
        let m2 = try MailReader.read(path: mixed, extractingAttachmentsTo: scratch.path + "/out")
        #expect(m2.from == "alerts@gtcni.example")
        // The prose part is not an attachment; numbering is per message, and an existing file is never replaced.
        #expect(m2.attachments.map(\.filename) == ["attachment-1-2.csv", "attachment-2.csv"])
        #expect(text(m2.attachments[0].path) == "TRN;Code;Date\n0001234;T5;01/01/2026")
        #expect(text(m2.attachments[1].path) == "a,b,c")
    }

    @Test func base64ToleratesLineBreaksAndRefusesGarbage() throws {
        let scratch = Scratch("b64")
        defer { scratch.remove() }
        let payload = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        let odd = String(base64(payload, lineLength: 13).flatMap { $0 == "A" ? [" ", "A"] : [$0] })
        func message(_ body: String) -> String {
            "From: a@b.example\nContent-Type: application/octet-stream; name=data.bin\nContent-Transfer-Encoding: base64\n\n\(body)\n"
        }
        let ok = try MailReader.read(path: scratch.write("ok.eml", message(odd)), extractingAttachmentsTo: scratch.path + "/out")
        #expect(contents(ok.attachments[0].path) == payload)
        #expect(ok.attachments[0].size == 1000)
        // Unpadded final group is accepted.
        let unpadded = try MailReader.read(path: scratch.write("u.eml", message("YWJj\nZA")), extractingAttachmentsTo: scratch.path + "/u")
        #expect(text(unpadded.attachments[0].path) == "abcd")
        for f in scratch.files("/u") { unlink(scratch.path + "/u/" + f) }
        rmdir(scratch.path + "/u")

        let before = scratch.files("/out")
        for (garbage, expected) in [
            ("YWJj\nZG*V\n", MailError.invalidBase64(part: 1, line: 6)),
            ("YWJj=ZGVm\n", MailError.invalidBase64(part: 1, line: 5)),
            ("YWJjZ\n", MailError.truncatedBase64(part: 1, line: 6)),
        ] {
            #expect(throws: expected) {
                try MailReader.read(path: scratch.write("bad.eml", message(garbage)), extractingAttachmentsTo: scratch.path + "/out")
            }
        }
        // A failed message leaves nothing behind.
        #expect(scratch.files("/out") == before)
        #expect(MailError.invalidBase64(part: 1, line: 6).description.contains("line 6"))
    }

    @Test func filenamesAreSanitised() throws {
        let scratch = Scratch("names")
        defer { scratch.remove() }
        let long = String(repeating: "n", count: 1000) + ".csv"
        let names = [
            "../../etc/passwd", "/absolute/path/x.csv", "C:\\\\Windows\\\\evil.csv", "bell\u{7}tab\tname.csv",
            "..", "a/../../b.csv", long, "report\u{202E}vsc.exe", "same.csv", "same.csv", "  .hidden.csv ",
        ]
        var body = "From: x@y.example\nContent-Type: multipart/mixed; boundary=zz\n\n"
        for n in names {
            body += "--zz\nContent-Type: text/csv\nContent-Disposition: attachment; filename=\"\(n)\"\n\na,b,c\n"
        }
        body += "--zz--\n"
        let m = try MailReader.read(path: scratch.write("names.eml", body), extractingAttachmentsTo: scratch.path + "/out")
        let got = m.attachments.map(\.filename)
        #expect(got.count == names.count)
        #expect(got[0] == "passwd")
        #expect(got[1] == "x.csv")
        #expect(got[2] == "evil.csv")
        #expect(got[3] == "belltabname.csv")
        #expect(got[4] == "attachment-5.csv")
        #expect(got[5] == "b.csv")
        #expect(got[6].utf8.count <= 255 && got[6].hasSuffix(".csv"))
        #expect(got[7] == "reportvsc.exe")
        #expect(got[8] == "same.csv" && got[9] == "same-2.csv")
        #expect(got[10] == "hidden.csv")
        for a in m.attachments {
            #expect(!a.filename.contains("/") && !a.filename.contains("..") && !a.filename.isEmpty)
            #expect(!a.filename.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F })
            #expect(a.path == scratch.path + "/out/" + a.filename)
            #expect(text(a.path) == "a,b,c")
        }
        #expect(m.attachments[0].originalFilename == "../../etc/passwd")
        #expect(m.attachments[8].originalFilename == nil)
        #expect(m.attachments[9].originalFilename == "same.csv")
        #expect(scratch.files("/out").count == names.count)
    }

    @Test func rfc2231ContinuationsAndCharsets() throws {
        let scratch = Scratch("2231")
        defer { scratch.remove() }
        let m = try MailReader.read(
            path: scratch.write(
                "c.eml",
                """
                From: x@y.example
                Subject: =?windows-1252?Q?=93quoted=94?= plain =?ISO-8859-1?B?6Q==?=
                Content-Type: multipart/mixed; boundary="b"

                --b
                Content-Type: application/octet-stream
                Content-Disposition: attachment; filename*0*=utf-8''r%C3%A9sum;
                 filename*1*=%C3%A9; filename*2=".csv"

                x
                --b
                Content-Type: text/plain; name*=iso-8859-1'en'caf%E9.txt

                y
                --b--
                """), extractingAttachmentsTo: scratch.path + "/out")
        #expect(m.subject == "“quoted” plain é")
        #expect(m.attachments.map(\.filename) == ["résumé.csv", "café.txt"])
    }

    @Test func structureProblems() throws {
        let scratch = Scratch("limits")
        defer { scratch.remove() }
        func read(_ s: String) throws -> MailMessage {
            try MailReader.read(path: scratch.write("m.eml", s), extractingAttachmentsTo: scratch.path + "/out")
        }
        // Nesting deeper than the limit.
        var deep = "From: a@b.example\n"
        for k in 0...MailReader.maxDepth { deep += "Content-Type: multipart/mixed; boundary=l\(k)\n\n--l\(k)\n" }
        deep += "Content-Type: text/csv\n\na,b,c\n"
        #expect(throws: MailError.nestingTooDeep(line: 32, limit: MailReader.maxDepth)) { try read(deep) }
        // Too many parts.
        var many = "From: a@b.example\nContent-Type: multipart/mixed; boundary=m\n\n"
        for _ in 0...MailReader.maxParts { many += "--m\nContent-Type: text/html\n\nx\n" }
        #expect {
            try read(many + "--m--\n")
        } throws: { e in
            if case MailError.tooManyParts = e { return true } else { return false }
        }
        // A multipart without a boundary.
        #expect(throws: MailError.missingBoundary(line: 1)) { try read("From: a@b.example\nContent-Type: multipart/mixed\n\nx\n") }
        // A header block over the limit.
        let huge = "From: a@b.example\nX-Junk: " + String(repeating: "j", count: MailReader.maxHeaderBytes) + "\n\nbody\n"
        #expect(throws: MailError.headerTooLarge(line: 1, limit: MailReader.maxHeaderBytes)) { try read(huge) }
        // Not a message at all.
        #expect(throws: MailError.notAMessage) { try read("just some text\nwithout headers\n") }
        #expect(throws: MailError.notAMessage) {
            try MailReader.read(path: scratch.write("z.eml", [0x50, 0x4B, 0x03, 0x04, 0, 0]), extractingAttachmentsTo: scratch.path + "/out")
        }
        #expect(throws: MailError.cannotOpen(errno: ENOENT)) {
            try MailReader.read(path: scratch.path + "/missing.eml", extractingAttachmentsTo: scratch.path + "/out")
        }
        // A missing closing boundary and a part without a body are tolerated; a preamble is ignored.
        let open = try read(
            """
            From: a@b.example
            Content-Type: multipart/mixed; boundary=q

            preamble,with,commas
            --q
            Content-Type: text/csv
            --q
            Content-Type: text/csv; name=t.csv

            1,2,3
            """)
        #expect(open.attachments.map(\.filename) == ["t.csv"])
        #expect(text(open.attachments[0].path) == "1,2,3")
        #expect(scratch.files("/out") == ["t.csv"])
    }

    @Test func longLinesAndMboxSeparator() throws {
        let scratch = Scratch("long")
        defer { scratch.remove() }
        // One base64 line of 3 MB and an identity line of 1 MB: handed out in pieces, decoded in full.
        let payload = (0..<(2 << 20)).map { UInt8(truncatingIfNeeded: $0 ^ ($0 >> 8)) }
        let line = String(repeating: "x", count: 1 << 20)
        let m = try MailReader.read(
            path: scratch.write(
                "l.eml",
                """
                From MAILER-DAEMON Mon Oct 26 09:15:00 2026
                From: a@b.example
                Content-Type: multipart/mixed; boundary=LL

                --LL
                Content-Type: application/octet-stream; name=big.bin
                Content-Transfer-Encoding: base64

                \(base64(payload, lineLength: 1 << 30))
                --LL
                Content-Type: text/csv; name=wide.csv

                \(line)
                --LL--
                """), extractingAttachmentsTo: scratch.path + "/out")
        #expect(m.from == "a@b.example")
        #expect(m.attachments.map(\.filename) == ["big.bin", "wide.csv"])
        #expect(contents(m.attachments[0].path) == payload)
        #expect(m.attachments[1].size == 1 << 20)
    }
}
