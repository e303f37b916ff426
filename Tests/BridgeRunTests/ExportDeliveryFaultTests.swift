import Crypto
import DQTTesting
import Delivery
import FaultProxy
import FileSources
import Foundation
import Logging
import SFTP
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The SFTP delivery under the two faults a partner's server really has: the connection dropped in the middle of an
/// upload (the fault proxy stops while the temporary file grows) and the destination's disk full (a tmpfs too small
/// for the file, mounted where the test's own sshd writes, then grown). Each ends with the file at the destination
/// once, byte for byte, no temporary file left: 0 lost, 0 duplicated.
@Suite("Export delivery faults", .serialized, .enabled(if: BridgeHarness.servicesAvailable))
struct ExportDeliveryFaultTests {
    static let bytes: [UInt8] = (0..<(24 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ ($0 >> 11)) }
    static let sha256 = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()

    /// A folder in the SFTP user's home (the user is not chrooted: remote paths are local paths), removed afterwards.
    static func withFolders(_ body: (_ remote: String, _ work: String) async throws -> Void) async throws {
        let root = try TestServices.require(TestServices.sftpRoot)
        let remote = joinPath(root, "export-faults-\(UUID().uuidString.prefix(8))")
        let work = joinPath(NSTemporaryDirectory(), "export-faults-work-\(UUID().uuidString.prefix(8))")
        for folder in [remote, work] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            chmod(folder, 0o777)
        }
        defer {
            try? FileManager.default.removeItem(atPath: remote)
            try? FileManager.default.removeItem(atPath: work)
        }
        try Data(bytes).write(to: URL(fileURLWithPath: joinPath(work, "export.dat")))
        try await body(remote, work)
    }

    static func configuration(port: Int, knownHosts: String) throws -> SFTPConfiguration {
        SFTPConfiguration(
            host: "127.0.0.1", port: port, user: try TestServices.require(TestServices.sftpUser),
            privateKeyPath: try TestServices.require(TestServices.sftpEd25519Key), knownHostsPath: knownHosts, connectTimeout: .seconds(5),
            operationTimeout: .seconds(20))
    }

    /// The shared server's host key, written for `port` (the proxy's).
    static func knownHosts(forPort port: Int, in folder: String) throws -> String {
        let line = try String(contentsOfFile: try TestServices.require(TestServices.sftpKnownHosts), encoding: .utf8)
            .split(separator: "\n").first { !$0.hasPrefix("#") && !$0.isEmpty }
        let fields = try #require(line).split(separator: " ")
        let path = joinPath(folder, "known_hosts-\(port)")
        try "[127.0.0.1]:\(port) \(fields[1]) \(fields[2])\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// What is at the destination: whether the final file holds exactly the bytes, and the other names there.
    static func outcome(_ remote: String) -> (delivered: Int, others: [String]) {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: remote)) ?? []).sorted()
        let final = FileManager.default.contents(atPath: joinPath(remote, "Reg01_DTR_20261206_030000_New.txt"))
        return (final.map { Array($0) == bytes ? 1 : 0 } ?? 0, names.filter { $0 != "Reg01_DTR_20261206_030000_New.txt" })
    }

    @Test("the SFTP connection dropped in the middle of an upload: the next delivery replaces the partial file, once")
    func connectionDroppedMidUpload() async throws {
        try await Self.withFolders { remote, work in
            let port = Int(try TestServices.require(TestServices.sftpPort)) ?? 22
            let part = joinPath(remote, ".Reg01_DTR_20261206_030000_New.txt.part")
            let proxy = try FaultProxy(upstreamPort: port, mode: .tcp, schedule: .passThrough)
            let delivery = SFTPDelivery(
                configuration: try Self.configuration(port: proxy.port, knownHosts: try Self.knownHosts(forPort: proxy.port, in: work)),
                folder: remote, scratchFolder: work, logger: Logger(label: "test.export-faults"))
            // Stops the proxy (every connection ends) once the temporary file has grown past 4 MiB of 24.
            let watcher = Thread {
                let until = Date().addingTimeInterval(60)
                while Date() < until {
                    let size = ((try? FileManager.default.attributesOfItem(atPath: part))?[.size] as? NSNumber)?.intValue ?? 0
                    if size >= 4 << 20 {
                        proxy.stop()
                        return
                    }
                    usleep(200)
                }
            }
            watcher.start()
            var failure = ""
            do {
                _ = try delivery.deliver(
                    localFile: joinPath(work, "export.dat"), name: "Reg01_DTR_20261206_030000_New.txt", expectedSize: Int64(Self.bytes.count),
                    expectedSHA256: Self.sha256)
                Issue.record("the upload was not cut")
            } catch DeliveryError.unavailable(_, let reason) {
                failure = reason
            }
            proxy.stop()
            let cut = Self.outcome(remote)
            #expect(cut.delivered == 0, "nothing under the final name after the cut")

            let again = try FaultProxy(upstreamPort: port, mode: .tcp, schedule: .passThrough)
            defer { again.stop() }
            let resumed = SFTPDelivery(
                configuration: try Self.configuration(port: again.port, knownHosts: try Self.knownHosts(forPort: again.port, in: work)),
                folder: remote, scratchFolder: work, logger: Logger(label: "test.export-faults"))
            let receipt = try resumed.deliver(
                localFile: joinPath(work, "export.dat"), name: "Reg01_DTR_20261206_030000_New.txt", expectedSize: Int64(Self.bytes.count),
                expectedSHA256: Self.sha256)
            let repeated = try resumed.deliver(
                localFile: joinPath(work, "export.dat"), name: "Reg01_DTR_20261206_030000_New.txt", expectedSize: Int64(Self.bytes.count),
                expectedSHA256: Self.sha256)
            let end = Self.outcome(remote)
            let ok = !failure.isEmpty && !receipt.alreadyPresent && repeated.alreadyPresent && end.delivered == 1 && end.others.isEmpty
            #expect(ok, "cut: \(failure); at the destination: \(end)")
            SuiteTable.append(
                SuiteRow(
                    suite: "faults", scenario: "export delivery: SFTP connection dropped mid-upload (fault proxy, TCP), then delivered again",
                    runs: 3,
                    expected: 1, applied: end.delivered, lost: 1 - min(1, end.delivered), duplicated: max(0, end.delivered - 1) + end.others.count,
                    refused: 1, reasons: "files; 1 delivery cut: connection lost", ok: ok))
        }
    }

    @Test("the destination's disk full: the delivery fails and frees its space; once there is room, the file arrives once")
    func destinationDiskFull() async throws {
        try await Self.withFolders { remote, work in
            let sshd = try PrivateSSHD(scratch: work)
            try await sshd.start()
            let mountPoint = joinPath(remote, "full")
            try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
            try await runProgram("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=8m,mode=1777", "tmpfs", mountPoint])
            do {
                try await Self.fillThenGrow(mountPoint: mountPoint, work: work, sshd: sshd)
            } catch {
                await sshd.kill()
                try? await runProgram("/usr/bin/umount", ["-l", mountPoint])
                throw error
            }
            await sshd.kill()
            try await runProgram("/usr/bin/umount", ["-l", mountPoint])
        }
    }

    static func fillThenGrow(mountPoint: String, work: String, sshd: PrivateSSHD) async throws {
        let delivery = SFTPDelivery(
            configuration: try configuration(port: sshd.port, knownHosts: sshd.knownHosts), folder: mountPoint, scratchFolder: work,
            logger: Logger(label: "test.export-faults"))
        var failure = ""
        do {
            _ = try delivery.deliver(
                localFile: joinPath(work, "export.dat"), name: "Reg01_DTR_20261206_030000_New.txt", expectedSize: Int64(Self.bytes.count),
                expectedSHA256: Self.sha256)
            Issue.record("24 MiB fitted into 8 MiB")
        } catch DeliveryError.unavailable(_, let reason) {
            failure = reason
        }
        let full = Self.outcome(mountPoint)
        #expect(full.delivered == 0 && full.others.isEmpty, "after the failure: \(full)")
        try await runProgram("/usr/bin/mount", ["-o", "remount,size=64m", mountPoint])
        let receipt = try delivery.deliver(
            localFile: joinPath(work, "export.dat"), name: "Reg01_DTR_20261206_030000_New.txt", expectedSize: Int64(Self.bytes.count),
            expectedSHA256: Self.sha256)
        let end = Self.outcome(mountPoint)
        let ok = !failure.isEmpty && !receipt.alreadyPresent && end.delivered == 1 && end.others.isEmpty
        #expect(ok, "disk full: \(failure); at the destination: \(end)")
        SuiteTable.append(
            SuiteRow(
                suite: "faults", scenario: "export delivery: destination disk full (8 MiB tmpfs under the test's sshd), then grown", runs: 2,
                expected: 1, applied: end.delivered, lost: 1 - min(1, end.delivered), duplicated: max(0, end.delivered - 1) + end.others.count,
                refused: 1, reasons: "files; 1 delivery refused: no space", ok: ok))
    }
}
