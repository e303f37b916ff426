import Crypto
import DQTTesting
import Delivery
import Foundation
import SFTP

/// A file to deliver, written in a fresh scratch folder: its path, size and SHA-256.
struct WorkFile {
    let path: String
    let size: Int64
    let sha256: String

    init(in folder: String, name: String = "work-file", bytes: [UInt8]) throws {
        path = folder + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        size = Int64(bytes.count)
        sha256 = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// Deterministic bytes that are not all alike (a few chunks' worth when `count` is large).
    static func bytes(_ count: Int, seed: UInt8 = 7) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &+ ($0 >> 9)) }
    }
}

/// A folder of the test's own, removed afterwards; world-writable, so the SFTP user can write in it too.
final class Scratch {
    let path: String

    init(in parent: String = NSTemporaryDirectory(), prefix: String = "dqt-delivery") throws {
        path = (parent.hasSuffix("/") ? parent : parent + "/") + "\(prefix)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: path)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func contents(_ name: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path + "/" + name).map { Array($0) }
    }

    /// The names in the folder, hidden ones included, sorted.
    func names(_ sub: String = "") throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: sub.isEmpty ? path : path + "/" + sub).sorted()
    }

    func write(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path + "/" + name))
    }
}

/// The SFTP server `scripts/services.sh` runs; its user is not chrooted, so remote paths are local ones.
enum TestSFTP {
    static var isConfigured: Bool {
        TestServices.shouldRun(
            TestServices.sftpHost, TestServices.sftpPort, TestServices.sftpUser, TestServices.sftpEd25519Key, TestServices.sftpKnownHosts,
            TestServices.sftpRoot)
    }

    static func configuration() throws -> SFTPConfiguration {
        SFTPConfiguration(
            host: try TestServices.require(TestServices.sftpHost), port: Int(try TestServices.require(TestServices.sftpPort)) ?? -1,
            user: try TestServices.require(TestServices.sftpUser), privateKeyPath: try TestServices.require(TestServices.sftpEd25519Key),
            knownHostsPath: try TestServices.require(TestServices.sftpKnownHosts), connectTimeout: .seconds(5),
            operationTimeout: .seconds(30))
    }

    static func root() throws -> String { try TestServices.require(TestServices.sftpRoot) }
}
