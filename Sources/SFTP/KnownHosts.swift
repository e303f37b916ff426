import Crypto
import Foundation

/// A server host key's identity as OpenSSH prints it: the key type and `SHA256:` followed by the unpadded base64 of
/// the SHA-256 of the key blob, e.g. `ssh-ed25519 SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s`.
public struct HostKeyFingerprint: Sendable, Hashable, CustomStringConvertible {
    /// The key type named inside the key blob, e.g. `ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`.
    public let keyType: String
    /// `SHA256:<base64 without padding>`, comparable with `ssh-keygen -lf`.
    public let sha256: String

    /// Computes the fingerprint of a key blob in SSH wire format (as in known_hosts, base64-decoded).
    public init(keyBlob: some Collection<UInt8>) {
        let bytes = Array(keyBlob)
        self.keyType = KnownHosts.keyType(ofBlob: bytes) ?? "unknown-key-type"
        let digest = Data(SHA256.hash(data: bytes)).base64EncodedString()
        self.sha256 = "SHA256:" + digest.replacingOccurrences(of: "=", with: "")
    }

    public var description: String { "\(keyType) \(sha256)" }
}

/// An OpenSSH known_hosts file, checked more strictly than libssh2 does.
///
/// * An entry matches a connection only for its own port: `host` (or `[host]:22`) means port 22 and
///   `[host]:port` any other port. libssh2 lets a port-22 entry vouch for other ports; this type does not.
/// * Hashed entries (`|1|base64(salt)|base64(HMAC-SHA1(salt, host-pattern))`) are matched like OpenSSH does.
/// * Comma-separated patterns, `*` and `?` wildcards and `!` negations follow ssh(1)'s rules; host names compare
///   case-insensitively.
/// * `@revoked` lines refuse their key for every host; `@cert-authority` lines are ignored (no certificates).
struct KnownHosts {
    enum Verdict: Equatable {
        /// An entry for this host and port holds exactly the presented key.
        case trusted(line: Int)
        /// Entries exist for this host and port, none with the presented key; `line` is the first conflicting one.
        case mismatch(line: Int)
        /// The presented key is marked `@revoked`.
        case revoked(line: Int)
        /// Nothing is known about this host and port.
        case unknown
    }

    struct Entry {
        enum Hosts {
            case hashed(salt: [UInt8], hash: [UInt8])
            case patterns([String])
        }

        var line: Int
        var revoked: Bool
        var hosts: Hosts
        var keyType: String
        var keyBlob: [UInt8]
    }

    let path: String
    let entries: [Entry]

    /// Reads and parses the file. Lines that cannot be parsed are skipped, as ssh(1) does.
    ///
    /// - Throws: ``SFTPError/knownHostsUnreadable(path:reason:)`` when the file cannot be read.
    init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"
            throw SFTPError.knownHostsUnreadable(path: path, reason: reason)
        }
        self.init(path: path, contents: String(decoding: data, as: UTF8.self))
    }

    init(path: String, contents: String) {
        self.path = path
        var entries: [Entry] = []
        var lineNumber = 0
        for rawLine in contents.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            if let entry = Self.parse(line: rawLine, number: lineNumber) {
                entries.append(entry)
            }
        }
        self.entries = entries
    }

    private static func parse(line: Substring, number: Int) -> Entry? {
        var fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
        guard let first = fields.first, !first.hasPrefix("#") else { return nil }
        var revoked = false
        if first.hasPrefix("@") {
            switch first {
            case "@revoked": revoked = true
            default: return nil  // @cert-authority and unknown markers: no plain key to match.
            }
            fields.removeFirst()
        }
        guard fields.count >= 3, let blob = Data(base64Encoded: fields[2]) else { return nil }
        let hostField = fields[0]
        let hosts: Entry.Hosts
        if hostField.hasPrefix("|1|") {
            let parts = hostField.split(separator: "|", omittingEmptySubsequences: true)
            guard parts.count == 3, let salt = Data(base64Encoded: String(parts[1])),
                let hash = Data(base64Encoded: String(parts[2]))
            else { return nil }
            hosts = .hashed(salt: Array(salt), hash: Array(hash))
        } else {
            hosts = .patterns(hostField.split(separator: ",").map { $0.lowercased() })
        }
        return Entry(line: number, revoked: revoked, hosts: hosts, keyType: fields[1], keyBlob: Array(blob))
    }

    /// How ssh(1) writes a host and port in known_hosts: `host` for port 22, `[host]:port` otherwise.
    static func hostPattern(host: String, port: Int) -> String {
        port == 22 ? host.lowercased() : "[\(host.lowercased())]:\(port)"
    }

    /// The names under which an entry may record this host and port. For port 22 both `host` and `[host]:22`;
    /// for any other port only `[host]:port`, never the bare host.
    static func candidateNames(host: String, port: Int) -> [String] {
        let host = host.lowercased()
        return port == 22 ? [host, "[\(host)]:22"] : ["[\(host)]:\(port)"]
    }

    func entryMatches(_ entry: Entry, host: String, port: Int) -> Bool {
        let names = Self.candidateNames(host: host, port: port)
        switch entry.hosts {
        case .hashed(let salt, let hash):
            let key = SymmetricKey(data: salt)
            return names.contains { name in
                let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Data(name.utf8), using: key)
                return Array(mac) == hash
            }
        case .patterns(let patterns):
            return names.contains { name in
                var matched = false
                for pattern in patterns {
                    if pattern.hasPrefix("!") {
                        if Self.wildcardMatch(Array(pattern.utf8.dropFirst()), Array(name.utf8)) { return false }
                    } else if Self.wildcardMatch(Array(pattern.utf8), Array(name.utf8)) {
                        matched = true
                    }
                }
                return matched
            }
        }
    }

    /// Checks the key the server presented for `host`:`port`.
    func verify(host: String, port: Int, keyBlob: [UInt8]) -> Verdict {
        if let revoked = entries.first(where: { $0.revoked && $0.keyBlob == keyBlob }) {
            return .revoked(line: revoked.line)
        }
        let matching = entries.filter { !$0.revoked && entryMatches($0, host: host, port: port) }
        if let trusted = matching.first(where: { $0.keyBlob == keyBlob }) {
            return .trusted(line: trusted.line)
        }
        guard !matching.isEmpty else { return .unknown }
        let presentedType = Self.keyType(ofBlob: keyBlob)
        let conflicting = matching.first(where: { $0.keyType == presentedType }) ?? matching[0]
        return .mismatch(line: conflicting.line)
    }

    /// The key types known for this host and port, in file order, for ordering the host-key algorithms offered
    /// in the handshake (so a server with several keys presents the one we know, as ssh(1) arranges).
    func knownKeyTypes(host: String, port: Int) -> [String] {
        var types: [String] = []
        for entry in entries where !entry.revoked && entryMatches(entry, host: host, port: port) {
            if !types.contains(entry.keyType) { types.append(entry.keyType) }
        }
        return types
    }

    /// The type name at the start of an SSH public key blob (a uint32 length and that many bytes).
    static func keyType(ofBlob blob: [UInt8]) -> String? {
        guard blob.count >= 4 else { return nil }
        let length = Int(blob[0]) << 24 | Int(blob[1]) << 16 | Int(blob[2]) << 8 | Int(blob[3])
        guard length > 0, length <= 64, blob.count >= 4 + length else { return nil }
        return String(decoding: blob[4..<(4 + length)], as: UTF8.self)
    }

    /// ssh(1)'s `match_pattern`: `*` matches any run of bytes, `?` exactly one.
    static func wildcardMatch(_ pattern: [UInt8], _ text: [UInt8]) -> Bool {
        var p = 0
        var t = 0
        var starP = -1
        var starT = 0
        while t < text.count {
            if p < pattern.count && (pattern[p] == UInt8(ascii: "?") || pattern[p] == text[t]) {
                p += 1
                t += 1
            } else if p < pattern.count && pattern[p] == UInt8(ascii: "*") {
                starP = p
                starT = t
                p += 1
            } else if starP >= 0 {
                p = starP + 1
                starT += 1
                t = starT
            } else {
                return false
            }
        }
        while p < pattern.count && pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }
}
