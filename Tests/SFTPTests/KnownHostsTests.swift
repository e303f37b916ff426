import Foundation
import Testing

@testable import SFTP

/// The known_hosts rules, without a server.
@Suite struct KnownHostsTests {
    // An ed25519 public key blob (type string + 32 key bytes) and its base64, as ssh-keygen writes it.
    static let blob: [UInt8] = [0, 0, 0, 11] + Array("ssh-ed25519".utf8) + [0, 0, 0, 32] + Array(repeating: 7, count: 32)
    static let other: [UInt8] = [0, 0, 0, 11] + Array("ssh-ed25519".utf8) + [0, 0, 0, 32] + Array(repeating: 9, count: 32)
    static var base64: String { Data(blob).base64EncodedString() }
    static var otherBase64: String { Data(other).base64EncodedString() }

    @Test func fingerprintIsOpenSSHStyle() {
        let fingerprint = HostKeyFingerprint(keyBlob: Self.blob)
        #expect(fingerprint.keyType == "ssh-ed25519")
        #expect(fingerprint.sha256.hasPrefix("SHA256:"))
        #expect(!fingerprint.sha256.hasSuffix("="))
        #expect(fingerprint.sha256.count == 7 + 43)
        #expect(fingerprint.description == "ssh-ed25519 \(fingerprint.sha256)")
    }

    @Test func bracketedEntryMatchesOnlyItsPort() {
        let file = KnownHosts(path: "kh", contents: "[sftp.example]:2222 ssh-ed25519 \(Self.base64)\n")
        #expect(file.verify(host: "sftp.example", port: 2222, keyBlob: Self.blob) == .trusted(line: 1))
        #expect(file.verify(host: "SFTP.Example", port: 2222, keyBlob: Self.blob) == .trusted(line: 1))
        #expect(file.verify(host: "sftp.example", port: 22, keyBlob: Self.blob) == .unknown)
        #expect(file.verify(host: "sftp.example", port: 2223, keyBlob: Self.blob) == .unknown)
    }

    @Test func plainEntryMeansPort22Only() {
        let file = KnownHosts(path: "kh", contents: "sftp.example ssh-ed25519 \(Self.base64)\n")
        #expect(file.verify(host: "sftp.example", port: 22, keyBlob: Self.blob) == .trusted(line: 1))
        #expect(file.verify(host: "sftp.example", port: 2222, keyBlob: Self.blob) == .unknown)
    }

    @Test func changedKeyIsAMismatchNamingTheLine() {
        let file = KnownHosts(
            path: "kh",
            contents: "# comment\n\nother.example ssh-ed25519 \(Self.base64)\n[a.example]:2222 ssh-ed25519 \(Self.otherBase64)\n")
        #expect(file.verify(host: "a.example", port: 2222, keyBlob: Self.blob) == .mismatch(line: 4))
    }

    @Test func patternsWildcardsAndNegation() {
        let file = KnownHosts(
            path: "kh", contents: "*.example,!bad.example,[10.0.0.?]:2222 ssh-ed25519 \(Self.base64)\n")
        #expect(file.verify(host: "good.example", port: 22, keyBlob: Self.blob) == .trusted(line: 1))
        #expect(file.verify(host: "bad.example", port: 22, keyBlob: Self.blob) == .unknown)
        #expect(file.verify(host: "10.0.0.5", port: 2222, keyBlob: Self.blob) == .trusted(line: 1))
        #expect(file.verify(host: "10.0.0.50", port: 2222, keyBlob: Self.blob) == .unknown)
        #expect(KnownHosts.wildcardMatch(Array("a*c".utf8), Array("abbbc".utf8)))
        #expect(!KnownHosts.wildcardMatch(Array("a*c".utf8), Array("abbbd".utf8)))
    }

    @Test func revokedKeyIsRefusedEvenWhenAlsoListed() {
        let file = KnownHosts(
            path: "kh",
            contents: "[h]:2222 ssh-ed25519 \(Self.base64)\n@revoked * ssh-ed25519 \(Self.base64)\n")
        #expect(file.verify(host: "h", port: 2222, keyBlob: Self.blob) == .revoked(line: 2))
    }

    @Test func unparsableLinesAreSkipped() {
        let file = KnownHosts(
            path: "kh",
            contents: "garbage\n@cert-authority *.example ssh-ed25519 \(Self.base64)\n|1|bad|hash ssh-ed25519 x\n")
        #expect(file.entries.isEmpty)
    }

    @Test func secretsNeverPrint() throws {
        let secret = SFTPSecret("hunter2")
        #expect("\(secret)" == "<redacted>")
        #expect(String(reflecting: secret) == "SFTPSecret(<redacted>)")
        var dumped = ""
        dump(secret, to: &dumped)
        #expect(!dumped.contains("hunter2"))
        let configuration = SFTPConfiguration(
            host: "h", user: "u", privateKeyPath: "/k", passphrase: secret, knownHostsPath: "/kh")
        #expect(!"\(configuration)".contains("hunter2"))
        #expect(throws: SFTPError.self) { try SFTPSecret(environmentVariable: "DQT_SURELY_UNSET_VARIABLE_42") }
    }

    @Test func statusNames() {
        #expect(SFTPStatus.noSuchFile.name == "NO_SUCH_FILE")
        #expect(SFTPStatus.permissionDenied.name == "PERMISSION_DENIED")
        #expect(SFTPStatus.failure.description == "FAILURE (SFTP status 4)")
        #expect(LibSSH2Error(code: -5, message: "x").name == "KEX_FAILURE")
    }
}
