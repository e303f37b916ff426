import DQTTesting
import FaultProxy
import Foundation
import SFTP
import Testing

/// The bridge's SFTP source against the real sshd: a changed host key, or the right key seen through another port
/// (a man in the middle on loopback), stops the connection naming the SHA256 fingerprint the server presented.
/// SFTPTests covers the known_hosts rules in detail; this checks the fingerprint against ssh-keygen's own.
@Suite(
    "security: SFTP host keys",
    .enabled(
        if: TestServices.shouldRun(
            TestServices.sftpHost, TestServices.sftpPort, TestServices.sftpUser, TestServices.sftpEd25519Key, TestServices.sftpKnownHosts)))
struct HostKeyTests {
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        try ChildProcess.run(executable, arguments).stdout
    }

    @Test("a known_hosts holding another key: refused, naming the server's SHA256 fingerprint; through a proxy port: refused")
    func changedHostKey() throws {
        let host = try TestServices.require(TestServices.sftpHost)
        let port = Int(try TestServices.require(TestServices.sftpPort)) ?? 0
        let user = try TestServices.require(TestServices.sftpUser)
        let key = try TestServices.require(TestServices.sftpEd25519Key)
        let knownHosts = try TestServices.require(TestServices.sftpKnownHosts)
        let real = try #require(
            try Self.run("/usr/bin/ssh-keygen", ["-l", "-E", "sha256", "-f", knownHosts]).split(separator: " ").dropFirst().first.map(String.init))
        #expect(real.hasPrefix("SHA256:"))

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sec-hostkey-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try Self.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", folder.appendingPathComponent("other").path])
        let other = try String(contentsOf: folder.appendingPathComponent("other.pub"), encoding: .utf8).split(separator: " ")
        let otherFingerprint = try Self.run("/usr/bin/ssh-keygen", ["-l", "-E", "sha256", "-f", folder.appendingPathComponent("other.pub").path])
            .split(separator: " ")[1]
        let changed = folder.appendingPathComponent("known_hosts").path
        try "[\(host)]:\(port) \(other[0]) \(other[1])\n".write(toFile: changed, atomically: true, encoding: .utf8)

        func configuration(port: Int, knownHosts: String) -> SFTPConfiguration {
            SFTPConfiguration(
                host: host, port: port, user: user, privateKeyPath: key, passphrase: nil, knownHostsPath: knownHosts,
                connectTimeout: .seconds(5), operationTimeout: .seconds(10))
        }
        var refusals: [String] = []
        do {
            let connection = try SFTPConnection(configuration: configuration(port: port, knownHosts: changed))
            connection.close()
            Issue.record("connected despite a changed host key")
        } catch let error as SFTPError {
            guard case .hostKeyMismatch(_, _, let fingerprint, let path, let line) = error else {
                Issue.record("expected hostKeyMismatch, got \(error)")
                return
            }
            #expect(fingerprint.sha256 == real && path == changed && line == 1)
            #expect("\(error)".contains(real) && !"\(error)".contains(String(otherFingerprint)))
            refusals.append("hostKeyMismatch")
        }

        // The right key, but presented on another port (the fault proxy relaying to the real sshd): unknown there.
        let proxy = try FaultProxy(upstreamPort: port, mode: .tcp, schedule: .passThrough)
        defer { proxy.stop() }
        do {
            let connection = try SFTPConnection(configuration: configuration(port: proxy.port, knownHosts: knownHosts))
            connection.close()
            Issue.record("connected through another port with the port-\(port) entry")
        } catch let error as SFTPError {
            guard case .hostKeyUnknown(_, let seenPort, let fingerprint) = error else {
                Issue.record("expected hostKeyUnknown, got \(error)")
                return
            }
            #expect(seenPort == proxy.port && fingerprint.sha256 == real && "\(error)".contains(real))
            refusals.append("hostKeyUnknown")
        }
        record(
            "SFTP host key changed / right key on another port", runs: 2, expected: 0, applied: 0, refused: refusals.count,
            reasons: refusals.joined(separator: ", ") + " naming \(real)", ok: refusals.count == 2)
    }
}
