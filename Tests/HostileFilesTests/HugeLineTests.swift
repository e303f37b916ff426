import DQTTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A file of one enormous line: the check ends with a clear `record-too-long` error, in bounded memory.
@Suite("hostile files: a line of gigabytes", .timeLimit(.minutes(10)))
struct HugeLineTests {
    /// Bytes of the line: 2 GB, or `DQT_HUGE_LINE_MB` megabytes.
    static var size: Int {
        let megabytes = ProcessInfo.processInfo.environment["DQT_HUGE_LINE_MB"].flatMap { Int($0) } ?? 2048
        return megabytes << 20
    }

    /// Writes `prefix` and then `size` bytes of CSV-looking text with no line break, streaming (8 MB at a time).
    static func generate(_ path: String, prefix: String, size: Int) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        defer { close(fd) }
        var chunk = [UInt8]()
        let pattern = Array("1000001,Fakename,Otherfake,01/01/1970,01/09/2024,,,Ysgol,6612001,Pass;".utf8)
        while chunk.count < 8 << 20 { chunk += pattern }
        chunk = Array(chunk.prefix(8 << 20))
        _ = prefix.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        var written = 0
        while written < size {
            let n = min(chunk.count, size - written)
            let done = chunk.withUnsafeBytes { write(fd, $0.baseAddress, n) }
            guard done == n else { throw POSIXError(.EIO) }
            written += n
        }
    }

    /// /dev/shm when it has room (no disk writeback to wait for), else the temporary directory.
    static func scratch(for size: Int) throws -> TemporaryFolder {
        var info = statvfs()
        if statvfs("/dev/shm", &info) == 0, Int(info.f_bavail) * Int(info.f_frsize) > size + (512 << 20) {
            let url = URL(fileURLWithPath: "/dev/shm/hostile-huge-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            return TemporaryFolder(at: url)
        }
        return try TemporaryFolder("hostile-huge")
    }

    @Test("a delimited file whose first data row is gigabytes long, and a fixed-width file of one such line")
    func oneHugeLine() throws {
        let folder = try Self.scratch(for: Self.size)
        let size = Self.size
        let delimited = folder.path("IND_huge.csv")
        let start = ContinuousClock.now
        try Self.generate(
            delimited,
            prefix: "REFERENCE_NO,FIRST_NAME,LAST_NAME,DATE_OF_BIRTH,START_DATE,PASS_DATE,FAIL_DATE,EMPLOYER_NAME,EMPLOYER_CODE,IND_STATUS_NAME\n",
            size: size)
        // The same bytes under a fixed-width feed's name: its first line is the whole file.
        let fixed = folder.path("Reg01_DTR_huge_New.txt")
        try FileManager.default.linkItem(atPath: delimited, toPath: fixed)
        let generated = ContinuousClock.now - start
        var rows: [String] = []
        var ok = true
        var refused = 0
        for (feed, path) in [("ewc-induction", delimited), ("capita-register", fixed)] {
            let run = try runBridge(["check", path, "--today", checkDay, "--report", folder.path("\(feed).json")])
            let report = (try? String(contentsOfFile: folder.path("\(feed).json"), encoding: .utf8)) ?? ""
            print("huge line, \(feed): \(size >> 20) MB generated in \(generated), checked: \(run)")
            #expect(run.signal == nil && (run.status == 1 || run.status == 2), "\(feed): \(run)")
            #expect(run.stdout.contains("record-too-long"), "\(feed): \(run.stdout)")
            #expect(report.contains("record-too-long"), "\(feed): the report names record-too-long")
            #expect(run.peakRSS < 64 << 20, "\(feed): peak RSS \(run.peakRSS >> 20) MB")
            ok = ok && run.signal == nil && run.stdout.contains("record-too-long") && run.peakRSS < 64 << 20
            if run.stdout.contains("record-too-long") { refused += 1 }
            rows.append("\(feed) exit \(run.status), \(run.peakRSS >> 20) MB RSS, \(run.elapsed.components.seconds) s")
        }
        record(
            "one \(size >> 20) MB line with no line break, peak RSS < 64 MB", runs: 2, expected: 0,
            applied: 0, refused: refused, reasons: "record-too-long: " + rows.joined(separator: "; "), ok: ok)
    }
}
