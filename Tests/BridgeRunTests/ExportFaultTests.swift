import BridgeRun
import DQTTesting
import FaultProxy
import FileSources
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `dqt-bridge export` under a partner server's faults, end to end: the SFTP connection dropped while the upload
/// starts (the run stopped at the fail point, the fault proxy in front of sshd stopped under it, the run continued),
/// and the destination's disk full (a full tmpfs mounted on the destination folder of the test's own sshd). The failed
/// run exits 2 with the export recorded as failed; the next run delivers it: every change once, no temporary file.
@Suite("Export faults", .serialized, .enabled(if: BridgeHarness.binaryAndServicesAvailable))
struct ExportFaultTests {
    static let feed = "prohibitions-gtcs"
    static let folder = "gtcs/outbound"
    static let alerts = 1...30

    static func config(_ h: BridgeHarness, mappings: String, port: Int, knownHosts: String) throws -> String {
        try h.writeConfigurationFile(
            try h.configuration {
                $0.mappings = mappings
                $0.sftp?.port = port
                $0.sftp?.knownHosts = knownHosts
            })
    }

    static func export(_ h: BridgeHarness, _ config: String, environment: [String: String] = [:], log: String) throws -> ChildProcess {
        try bridgeProcess(["export", feed, "--config", config], harness: h, environment: environment, output: joinPath(h.scratch, log))
    }

    /// Changes delivered once, lost and duplicated across the destination's final files, and the files there: final
    /// names, and hidden temporary names (a cut connection can leave one; the next delivery removes it).
    static func verdict(_ h: BridgeHarness) -> (delivered: Int, lost: Int, duplicated: Int, files: Int, temporary: Int) {
        let all = h.delivered(in: folder).filter { !$0.key.hasPrefix("filler") }
        let files = all.filter { !$0.key.hasPrefix(".") }
        var seen: [String: Int] = [:]
        for (_, data) in files {
            for line in String(decoding: data, as: UTF8.self).split(separator: "\r\n").dropFirst() { seen[String(line.prefix(7)), default: 0] += 1 }
        }
        let expected = alerts.map { String(1_000_000 + $0) }
        return (
            expected.filter { seen[$0] == 1 }.count, expected.filter { seen[$0] == nil }.count,
            seen.values.reduce(0) { $0 + max(0, $1 - 1) }, files.count, all.count - files.count
        )
    }

    @Test("the SFTP connection dropped as the upload starts: exit 2, export failed; the next run delivers it once")
    func connectionDropped() async throws {
        try await BridgeHarness.with { h in
            let mappings = try h.liveExportMappings(feed: Self.feed, sftpFolder: Self.folder)
            try await h.createAlerts(Self.alerts)
            let port = Int(try TestServices.require(TestServices.sftpPort)) ?? 22
            let proxy = try FaultProxy(upstreamPort: port, mode: .tcp, schedule: .passThrough)
            let first = try Self.export(
                h,
                try Self.config(
                    h, mappings: mappings, port: proxy.port, knownHosts: try ExportDeliveryFaultTests.knownHosts(forPort: proxy.port, in: h.scratch)),
                environment: ["DQT_BRIDGE_FAILPOINT": "delivery-upload-started:1:stop"], log: "export-1.log")
            let stopped = await first.waitUntilStopped()
            #expect(stopped, "the export did not stop before its upload: \(first.output.suffix(2000))")
            proxy.stop()
            first.resume()
            let firstStatus = await first.wait()
            let failed = try h.ledgerInt("SELECT count(*) FROM bridge.exports WHERE state = 'failed' AND failure_reason IS NOT NULL")
            let afterCut = Self.verdict(h)

            let again = try FaultProxy(upstreamPort: port, mode: .tcp, schedule: .passThrough)
            defer { again.stop() }
            let second = try await Self.export(
                h,
                try Self.config(
                    h, mappings: mappings, port: again.port, knownHosts: try ExportDeliveryFaultTests.knownHosts(forPort: again.port, in: h.scratch)),
                log: "export-2.log"
            ).wait()
            let end = Self.verdict(h)
            let ok = stopped && firstStatus == 2 && failed == 1 && afterCut.files == 0 && second == 0 && end.files == 1 && end.temporary == 0
            #expect(ok, "first exit \(firstStatus), failed rows \(failed), after the cut \(afterCut), second exit \(second), end \(end)")
            SuiteTable.append(
                SuiteRow(
                    suite: "faults", scenario: "export: SFTP connection dropped as the upload starts (fault proxy, TCP)", runs: 2,
                    expected: Self.alerts.count, applied: end.delivered, lost: end.lost, duplicated: end.duplicated, refused: 0,
                    reasons: "changes; exit \(firstStatus),\(second)", ok: ok))
        }
    }

    @Test("the destination's disk full: exit 2, nothing left there; once there is room, the next run delivers it once")
    func diskFull() async throws {
        try await BridgeHarness.with { h in
            let mappings = try h.liveExportMappings(feed: Self.feed, sftpFolder: Self.folder)
            try await h.createAlerts(Self.alerts)
            let sshd = try PrivateSSHD(scratch: h.scratch)
            try await sshd.start()
            let destination = joinPath(h.localRoot, Self.folder)
            try await runProgram("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=64k,mode=1777", "tmpfs", destination])
            do {
                try await Self.fillThenFree(h, mappings: mappings, sshd: sshd, destination: destination)
            } catch {
                await sshd.kill()
                try? await runProgram("/usr/bin/umount", ["-l", destination])
                throw error
            }
            await sshd.kill()
            try await runProgram("/usr/bin/umount", ["-l", destination])
        }
    }

    static func fillThenFree(_ h: BridgeHarness, mappings: String, sshd: PrivateSSHD, destination: String) async throws {
        // Fill the file system to the last byte, as a partner's full disk would be.
        let filler = joinPath(destination, "filler")
        #expect(FileManager.default.createFile(atPath: filler, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: filler))
        while (try? handle.write(contentsOf: Data(count: 4096))) != nil {}
        try? handle.close()
        let config = try config(h, mappings: mappings, port: sshd.port, knownHosts: sshd.knownHosts)
        let first = try await export(h, config, log: "export-1.log").wait()
        let afterFull = verdict(h)
        let failed = try h.ledgerInt("SELECT count(*) FROM bridge.exports WHERE state = 'failed'")
        try FileManager.default.removeItem(atPath: filler)
        let second = try await export(h, config, log: "export-2.log").wait()
        let end = verdict(h)
        let ok = first == 2 && failed == 1 && afterFull.files + afterFull.temporary == 0 && second == 0 && end.files == 1 && end.temporary == 0
        #expect(ok, "first exit \(first), failed rows \(failed), while full \(afterFull), second exit \(second), end \(end)")
        SuiteTable.append(
            SuiteRow(
                suite: "faults", scenario: "export: destination disk full (full tmpfs under the test's sshd), then freed", runs: 2,
                expected: alerts.count, applied: end.delivered, lost: end.lost, duplicated: end.duplicated, refused: 0,
                reasons: "changes; exit \(first),\(second)", ok: ok))
    }
}
