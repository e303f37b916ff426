import CLibSSH2
import Crypto
import DQTModel
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension SFTPConnection {
    static func establish(
        _ configuration: SFTPConfiguration
    ) throws -> (resources: SessionResources, fingerprint: HostKeyFingerprint, algorithms: SFTPNegotiatedAlgorithms) {
        guard !configuration.host.isEmpty else { throw SFTPError.invalidConfiguration("host is empty") }
        guard (1...65535).contains(configuration.port) else {
            throw SFTPError.invalidConfiguration("port \(configuration.port) is out of range")
        }
        guard !configuration.user.isEmpty else { throw SFTPError.invalidConfiguration("user is empty") }
        try LibSSH2Library.ensureInitialized()
        // Trust anchors first: no network I/O without a usable known_hosts file.
        let knownHosts = try KnownHosts(path: configuration.knownHostsPath)
        guard FileManager.default.isReadableFile(atPath: configuration.privateKeyPath) else {
            throw SFTPError.privateKeyUnusable(
                path: configuration.privateKeyPath,
                libssh2: LibSSH2Error(code: -16, message: "the file does not exist or cannot be read"))
        }

        let host = configuration.host
        let port = configuration.port
        let fd = try openTCPConnection(host: host, port: port, timeout: configuration.connectTimeout)
        guard let rawSession = libssh2_session_init_ex(nil, nil, nil, nil) else {
            _ = Glibc.close(fd)
            throw SFTPError.libraryInitializationFailed(code: -6)
        }
        let resources = SessionResources(socket: fd, session: rawSession)
        let session = resources.session

        libssh2_session_set_blocking(session, 1)
        libssh2_session_set_timeout(session, configuration.connectTimeout.milliseconds)
        // Offer the host-key algorithms we hold keys for first, so a server with several keys shows a known one.
        let knownTypes = knownHosts.knownKeyTypes(host: host, port: port)
        if !knownTypes.isEmpty {
            let supported = resources.supportedAlgorithms(LIBSSH2_METHOD_HOSTKEY)
            var preferred: [String] = []
            for type in knownTypes {
                let algorithms = type == "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [type]
                preferred += algorithms.filter { supported.contains($0) && !preferred.contains($0) }
            }
            preferred += supported.filter { !preferred.contains($0) }
            if !preferred.isEmpty {
                _ = libssh2_session_method_pref(session, LIBSSH2_METHOD_HOSTKEY, preferred.joined(separator: ","))
            }
        }

        let handshake = libssh2_session_handshake(session, fd)
        if handshake != 0 {
            let error = resources.lastError()
            if handshake == LIBSSH2_ERROR_TIMEOUT {
                throw SFTPError.connectTimedOut(host: host, port: port, after: configuration.connectTimeout)
            }
            if handshake == LIBSSH2_ERROR_KEX_FAILURE || handshake == LIBSSH2_ERROR_METHOD_NONE {
                var offered: [String: [String]] = [:]
                for (name, method) in [
                    ("kex", LIBSSH2_METHOD_KEX), ("hostkey", LIBSSH2_METHOD_HOSTKEY),
                    ("cipher", LIBSSH2_METHOD_CRYPT_CS), ("mac", LIBSSH2_METHOD_MAC_CS),
                ] {
                    offered[name] = resources.supportedAlgorithms(method)
                }
                throw SFTPError.negotiationFailed(host: host, port: port, libssh2: error, offered: offered)
            }
            throw SFTPError.handshakeFailed(host: host, port: port, libssh2: error)
        }

        // Host key verification: always, before anything is sent on the user's behalf.
        var keyLength = 0
        var keyType: Int32 = 0
        guard let keyPointer = libssh2_session_hostkey(session, &keyLength, &keyType), keyLength > 0 else {
            throw SFTPError.handshakeFailed(host: host, port: port, libssh2: resources.lastError())
        }
        let keyBlob = Array(UnsafeRawBufferPointer(start: keyPointer, count: keyLength))
        let fingerprint = HostKeyFingerprint(keyBlob: keyBlob)
        switch knownHosts.verify(host: host, port: port, keyBlob: keyBlob) {
        case .trusted:
            break
        case .unknown:
            throw SFTPError.hostKeyUnknown(host: host, port: port, fingerprint: fingerprint)
        case .mismatch(let line):
            throw SFTPError.hostKeyMismatch(
                host: host, port: port, fingerprint: fingerprint, knownHostsPath: knownHosts.path, line: line)
        case .revoked(let line):
            throw SFTPError.hostKeyRevoked(
                host: host, port: port, fingerprint: fingerprint, knownHostsPath: knownHosts.path, line: line)
        }

        let user = configuration.user
        let auth = user.withCString { userPointer in
            withOptionalCString(configuration.publicKeyPath) { publicKey in
                withOptionalCString(configuration.passphrase?.value) { passphrase in
                    libssh2_userauth_publickey_fromfile_ex(
                        session, userPointer, UInt32(strlen(userPointer)), publicKey, configuration.privateKeyPath,
                        passphrase)
                }
            }
        }
        if auth != 0 {
            let error = resources.lastError()
            switch auth {
            case LIBSSH2_ERROR_TIMEOUT:
                throw SFTPError.connectTimedOut(host: host, port: port, after: configuration.connectTimeout)
            case LIBSSH2_ERROR_FILE, LIBSSH2_ERROR_KEYFILE_AUTH_FAILED, LIBSSH2_ERROR_METHOD_NOT_SUPPORTED:
                throw SFTPError.privateKeyUnusable(path: configuration.privateKeyPath, libssh2: error)
            default:
                var error = error
                if privateKeyType(atPath: configuration.privateKeyPath) == "ssh-rsa" {
                    error = LibSSH2Error(
                        code: error.code,
                        message: error.message + "; note: libssh2 1.10 signs with RSA keys only as ssh-rsa (SHA-1), "
                            + "which OpenSSH 8.8 and later refuse unless the server's PubkeyAcceptedAlgorithms "
                            + "includes ssh-rsa: prefer an ed25519 key")
                }
                throw SFTPError.authenticationFailed(user: user, host: host, port: port, libssh2: error)
            }
        }

        libssh2_session_set_timeout(session, configuration.operationTimeout.milliseconds)
        // Only after the handshake: libssh2 1.10 fails the key exchange (KEY_EXCHANGE_FAILURE) when keepalives
        // are configured before it.
        if let interval = configuration.keepaliveInterval {
            libssh2_keepalive_config(session, 1, UInt32(max(2, interval.components.seconds)))
        }
        guard let sftp = libssh2_sftp_init(session) else {
            throw SFTPError.subsystemFailed(libssh2: resources.lastError())
        }
        resources.sftp = sftp

        func method(_ type: Int32) -> String {
            libssh2_session_methods(session, type).map { String(cString: $0) } ?? "?"
        }
        let algorithms = SFTPNegotiatedAlgorithms(
            keyExchange: method(LIBSSH2_METHOD_KEX), hostKey: method(LIBSSH2_METHOD_HOSTKEY),
            cipherClientToServer: method(LIBSSH2_METHOD_CRYPT_CS),
            cipherServerToClient: method(LIBSSH2_METHOD_CRYPT_SC),
            macClientToServer: method(LIBSSH2_METHOD_MAC_CS), macServerToClient: method(LIBSSH2_METHOD_MAC_SC))
        return (resources, fingerprint, algorithms)
    }
}

/// `libssh2_init` exactly once per process (a Swift global is initialised lazily and thread-safely).
enum LibSSH2Library {
    private static let initializationResult: Int32 = libssh2_init(0)

    static func ensureInitialized() throws {
        let result = initializationResult
        if result != 0 { throw SFTPError.libraryInitializationFailed(code: result) }
    }
}

/// The SSH key type of a private key file (`ssh-rsa`, `ssh-ed25519`...), read from its unencrypted public part,
/// for error hints only; `nil` when the format is not recognised.
func privateKeyType(atPath path: String) -> String? {
    guard let data = FileManager.default.contents(atPath: path), data.count < 64 * 1024 else { return nil }
    let text = String(decoding: data, as: UTF8.self)
    if text.contains("-----BEGIN RSA PRIVATE KEY-----") { return "ssh-rsa" }
    guard text.contains("-----BEGIN OPENSSH PRIVATE KEY-----") else { return nil }
    let body = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
    guard let decoded = Data(base64Encoded: body) else { return nil }
    let bytes = Array(decoded)
    let magic = Array("openssh-key-v1".utf8) + [0]
    guard bytes.starts(with: magic) else { return nil }
    var offset = magic.count
    func readString() -> [UInt8]? {
        guard offset + 4 <= bytes.count else { return nil }
        let length =
            Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8
            | Int(bytes[offset + 3])
        guard length >= 0, offset + 4 + length <= bytes.count else { return nil }
        defer { offset += 4 + length }
        return Array(bytes[(offset + 4)..<(offset + 4 + length)])
    }
    // ciphername, kdfname, kdfoptions, then the key count and the first public key blob.
    guard readString() != nil, readString() != nil, readString() != nil, offset + 4 <= bytes.count else { return nil }
    offset += 4
    return readString().flatMap { KnownHosts.keyType(ofBlob: $0) }
}

private func withOptionalCString<T>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> T) -> T {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}
