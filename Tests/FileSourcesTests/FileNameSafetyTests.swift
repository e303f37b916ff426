import FileSources
import Foundation
import Testing

@Suite("Names of received and archived files")
struct FileNameSafetyTests {
    @Test("Unsafe names are refused: traversal, absolute, separators, control characters, over 255 bytes, bad UTF-8")
    func unsafeNames() {
        for name in [
            "../x.csv", "..", "/etc/passwd", "\\\\server\\share.csv", "C:evil.csv", "a/b.csv", "a\\b.csv", "IND\n.csv",
            "IND\u{1B}[2J.csv", "IND\u{7F}.csv", String(repeating: "a", count: 1000) + ".csv", "IND\u{FFFD}.csv", "",
        ] {
            #expect(FileNameSafety.problem(name) != nil, "\(FileNameSafety.printable(name)) was accepted")
        }
        for name in [
            "IND_20261120.csv", "Workforce-Dataset-1-20261120-1329.csv", "notice 1.eml", "Reg01_DTR_20261120_030000_New.txt", "Llŷn.csv", "a..b.csv",
        ] {
            #expect(FileNameSafety.problem(name) == nil, "\(name) was refused")
        }
        #expect(FileNameSafety.printable("a\nb") == "a\\u{a}b")
        #expect(FileNameSafety.printable(String(repeating: "é", count: 300)).utf8.count <= 255)
    }

    @Test("Archive names: time, first 8 of the SHA-256, the name; unsafe names never reused; at most 255 bytes")
    func archiveNames() {
        let date = Date(timeIntervalSince1970: 1_795_132_800)  // 2026-11-20 00:00:00 UTC
        #expect(ArchiveName.make(at: date, sha256: "f761c30d022d500d", name: "IND.csv") == "20261120000000-f761c30d-IND.csv")
        #expect(ArchiveName.make(at: date, sha256: nil, name: "../../etc/passwd").hasSuffix("-unsafe-name"))
        #expect(ArchiveName.make(at: date, sha256: "ab", name: String(repeating: "x", count: 255)).utf8.count == 255)
        #expect(ArchiveName.make(at: date, sha256: "f761c30d", name: "IND.csv", suffix: "7-1").hasSuffix("IND.csv-7-1"))
    }
}
