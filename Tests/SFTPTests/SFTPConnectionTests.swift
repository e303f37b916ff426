import DQTTesting
import Foundation
import Logging
import SFTP
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Against the real OpenSSH sshd that `scripts/services.sh start` runs on 127.0.0.1:2222.
@Suite(
    .enabled(
        if: TestServices.shouldRun(
            TestServices.sftpHost, TestServices.sftpPort, TestServices.sftpUser, TestServices.sftpEd25519Key,
            TestServices.sftpRSAKey, TestServices.sftpRSAKeyPassphraseFile, TestServices.sftpKnownHosts,
            TestServices.sftpRoot)))
struct SFTPConnectionTests {
    // MARK: Fixtures

    struct Server {
        let host: String
        let port: Int
        let user: String
        let ed25519Key: String
        let rsaKey: String
        let rsaPassphraseFile: String
        let knownHosts: String
        let root: String

        init() throws {
            host = try TestServices.require(TestServices.sftpHost)
            port = Int(try TestServices.require(TestServices.sftpPort)) ?? -1
            user = try TestServices.require(TestServices.sftpUser)
            ed25519Key = try TestServices.require(TestServices.sftpEd25519Key)
            rsaKey = try TestServices.require(TestServices.sftpRSAKey)
            rsaPassphraseFile = try TestServices.require(TestServices.sftpRSAKeyPassphraseFile)
            knownHosts = try TestServices.require(TestServices.sftpKnownHosts)
            root = try TestServices.require(TestServices.sftpRoot)
        }

        func configuration(
            key: String? = nil, passphrase: SFTPSecret? = nil, knownHosts: String? = nil
        ) -> SFTPConfiguration {
            SFTPConfiguration(
                host: host, port: port, user: user, privateKeyPath: key ?? ed25519Key, passphrase: passphrase,
                knownHostsPath: knownHosts ?? self.knownHosts, connectTimeout: .seconds(5),
                operationTimeout: .seconds(30))
        }

        func connect() throws -> SFTPConnection {
            try SFTPConnection(configuration: configuration())
        }

        /// The server's real host key line (`[127.0.0.1]:2222 ssh-ed25519 AAAA...`).
        func hostKeyFields() throws -> (pattern: String, type: String, key: String) {
            let line = try String(contentsOfFile: knownHosts, encoding: .utf8)
                .split(separator: "\n").first { !$0.hasPrefix("#") && !$0.isEmpty }
            let fields = try #require(line).split(separator: " ").map(String.init)
            return (fields[0], fields[1], fields[2])
        }
    }

    /// A fresh folder in the SFTP user's home, writable by that user, removed afterwards by the caller.
    final class Sandbox {
        let local: String
        let remote: String
        let scratch: String

        init(_ server: Server) throws {
            let name = "sftptests-\(UUID().uuidString.prefix(8))"
            local = server.root + "/" + name
            remote = local  // the SFTP user is not chrooted: its paths are the local ones
            scratch = NSTemporaryDirectory() + "dqt-sftp-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: local, withIntermediateDirectories: true)
            try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: local)
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        }

        deinit {
            try? FileManager.default.removeItem(atPath: local)
            try? FileManager.default.removeItem(atPath: scratch)
        }

        @discardableResult
        func write(_ name: String, _ contents: String, permissions: Int = 0o644) throws -> String {
            let path = local + "/" + name
            try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
            try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: path)
            return path
        }

        func mkdir(_ name: String) throws {
            try FileManager.default.createDirectory(atPath: local + "/" + name, withIntermediateDirectories: true)
            try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: local + "/" + name)
        }
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        try ChildProcess.run(executable, arguments).checkedOutput()
    }

    // MARK: Connecting and trust

    @Test func connectsWithEd25519AndListsFilesOnly() throws {
        let server = try Server()
        let sandbox = try Sandbox(server)
        let csv = try sandbox.write("b.csv", "id,name\n1,x\n", permissions: 0o640)
        try sandbox.write("a.txt", "hello")
        try sandbox.mkdir("processed")
        try sandbox.mkdir("zz-folder")
        try FileManager.default.createSymbolicLink(atPath: sandbox.local + "/c-link-to-file", withDestinationPath: csv)
        try FileManager.default.createSymbolicLink(
            atPath: sandbox.local + "/d-link-to-folder", withDestinationPath: sandbox.local + "/processed")
        try FileManager.default.createSymbolicLink(
            atPath: sandbox.local + "/e-dangling-link", withDestinationPath: sandbox.local + "/nowhere")
        let mtime = Date(timeIntervalSince1970: 1_700_000_000)
        try FileManager.default.setAttributes([.modificationDate: mtime], ofItemAtPath: csv)

        let connection = try server.connect()
        defer { connection.close() }
        #expect(connection.hostKeyFingerprint.keyType == "ssh-ed25519")
        #expect(connection.negotiatedAlgorithms.hostKey == "ssh-ed25519")

        let files = try connection.list(directory: sandbox.remote)
        #expect(files.map(\.name) == ["a.txt", "b.csv", "c-link-to-file"])
        let b = try #require(files.first { $0.name == "b.csv" })
        #expect(b.size == 12)
        #expect(b.modificationTime == mtime)
        #expect(b.permissions == 0o640)
        #expect(b.kind == .file)
        #expect(b.path == sandbox.remote + "/b.csv")
        let link = try #require(files.first { $0.name == "c-link-to-file" })
        #expect(link.size == 12 && link.kind == .file)

        let folder = try connection.stat(sandbox.remote + "/processed")
        #expect(folder.kind == .directory)
        #expect(try connection.exists(sandbox.remote + "/e-dangling-link"))
        #expect(try !connection.exists(sandbox.remote + "/absent"))
    }

    @Test func authenticatesWithRSAKeyAndPassphrase() throws {
        let server = try Server()
        let passphrase = try SFTPSecret(contentsOfFile: server.rsaPassphraseFile)
        let connection = try SFTPConnection(configuration: server.configuration(key: server.rsaKey, passphrase: passphrase))
        defer { connection.close() }
        #expect(try connection.stat(server.root).kind == .directory)
    }

    @Test func wrongPassphraseFailsClearly() throws {
        let server = try Server()
        let error = #expect(throws: SFTPError.self) {
            _ = try SFTPConnection(
                configuration: server.configuration(key: server.rsaKey, passphrase: SFTPSecret("not-the-passphrase")))
        }
        guard case .privateKeyUnusable(let path, _) = error else {
            Issue.record("expected privateKeyUnusable, got \(String(describing: error))")
            return
        }
        #expect(path == server.rsaKey)
        let message = "\(error!)"
        #expect(message.contains("passphrase"))
        #expect(message.contains(server.rsaKey))
        #expect(!message.contains("not-the-passphrase"))
    }

    @Test func unknownHostKeyIsRefusedNamingTheFingerprint() throws {
        let server = try Server()
        let sandbox = try Sandbox(server)
        let empty = sandbox.scratch + "/known_hosts"
        try Data().write(to: URL(fileURLWithPath: empty))
        // ssh-keygen's own fingerprint of the real key, to compare with.
        let expected = try Self.run("/usr/bin/ssh-keygen", ["-l", "-E", "sha256", "-f", server.knownHosts])
            .split(separator: " ")[1]

        let error = #expect(throws: SFTPError.self) {
            _ = try SFTPConnection(configuration: server.configuration(knownHosts: empty))
        }
        guard case .hostKeyUnknown(let host, let port, let fingerprint) = error else {
            Issue.record("expected hostKeyUnknown, got \(String(describing: error))")
            return
        }
        #expect(host == server.host && port == server.port)
        #expect(fingerprint.sha256 == String(expected))
        #expect(fingerprint.keyType == "ssh-ed25519")
        let message = "\(error!)"
        #expect(message.contains(String(expected)) && message.contains("ssh-ed25519"))
        #expect(message.contains("[\(server.host)]:\(server.port)"))
    }

    @Test func missingKnownHostsFileIsRefused() throws {
        let server = try Server()
        let error = #expect(throws: SFTPError.self) {
            _ = try SFTPConnection(configuration: server.configuration(knownHosts: "/nonexistent/known_hosts"))
        }
        guard case .knownHostsUnreadable = error else {
            Issue.record("expected knownHostsUnreadable, got \(String(describing: error))")
            return
        }
    }

    @Test func changedHostKeyIsRefused() throws {
        let server = try Server()
        let sandbox = try Sandbox(server)
        let keyPath = sandbox.scratch + "/other_host_key"
        try Self.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", keyPath])
        let otherKey = try String(contentsOfFile: keyPath + ".pub", encoding: .utf8).split(separator: " ")
        let knownHosts = sandbox.scratch + "/known_hosts"
        try "# rotated?\n[127.0.0.1]:\(server.port) \(otherKey[0]) \(otherKey[1])\n"
            .write(toFile: knownHosts, atomically: true, encoding: .utf8)

        let error = #expect(throws: SFTPError.self) {
            _ = try SFTPConnection(configuration: server.configuration(knownHosts: knownHosts))
        }
        guard case .hostKeyMismatch(_, _, let fingerprint, let path, let line) = error else {
            Issue.record("expected hostKeyMismatch, got \(String(describing: error))")
            return
        }
        #expect(path == knownHosts && line == 2)
        #expect("\(error!)".contains(fingerprint.sha256))
    }

    @Test func port22EntryDoesNotVouchForOtherPorts() throws {
        let server = try Server()
        let sandbox = try Sandbox(server)
        let real = try server.hostKeyFields()
        let knownHosts = sandbox.scratch + "/known_hosts"
        try "\(server.host) \(real.type) \(real.key)\n".write(toFile: knownHosts, atomically: true, encoding: .utf8)

        let error = #expect(throws: SFTPError.self) {
            _ = try SFTPConnection(configuration: server.configuration(knownHosts: knownHosts))
        }
        guard case .hostKeyUnknown = error else {
            Issue.record("expected hostKeyUnknown, got \(String(describing: error))")
            return
        }
    }

    @Test func hashedEntryIsAccepted() throws {
        let server = try Server()
        let sandbox = try Sandbox(server)
        let knownHosts = sandbox.scratch + "/known_hosts"
        try FileManager.default.copyItem(atPath: server.knownHosts, toPath: knownHosts)
        try Self.run("/usr/bin/ssh-keygen", ["-q", "-H", "-f", knownHosts])
        let hashed = try String(contentsOfFile: knownHosts, encoding: .utf8)
        #expect(hashed.hasPrefix("|1|"))

        let connection = try SFTPConnection(configuration: server.configuration(knownHosts: knownHosts))
        connection.close()
    }

    @Test func negotiationFailureNamesTheOfferedAlgorithms() throws {
        // A second sshd that only speaks chacha20-poly1305, which libssh2 1.10 lacks.
        try #require(getuid() == 0, "starting a private sshd needs root")
        let server = try Server()
        let sandbox = try Sandbox(server)
        let hostKey = sandbox.scratch + "/host_key"
        try Self.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey])
        let port = try freeLoopbackPort()
        let config = sandbox.scratch + "/sshd_config"
        try """
        Port \(port)
        ListenAddress 127.0.0.1
        HostKey \(hostKey)
        PidFile \(sandbox.scratch)/sshd.pid
        UsePAM no
        StrictModes no
        PasswordAuthentication no
        Ciphers chacha20-poly1305@openssh.com

        """.write(toFile: config, atomically: true, encoding: .utf8)
        let publicKey = try String(contentsOfFile: hostKey + ".pub", encoding: .utf8).split(separator: " ")
        let knownHosts = sandbox.scratch + "/known_hosts"
        try "[127.0.0.1]:\(port) \(publicKey[0]) \(publicKey[1])\n".write(toFile: knownHosts, atomically: true, encoding: .utf8)

        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        let sshd = try ChildProcess("/usr/sbin/sshd", ["-D", "-e", "-f", config], output: "/dev/null")
        defer {
            sshd.send(SIGTERM)
            sshd.waitBlocking()
        }
        try Self.waitForPort(port)

        var configuration = server.configuration(knownHosts: knownHosts)
        configuration.port = port
        let error = #expect(throws: SFTPError.self) { _ = try SFTPConnection(configuration: configuration) }
        guard case .negotiationFailed(_, _, let libssh2, let offered) = error else {
            Issue.record("expected negotiationFailed, got \(String(describing: error))")
            return
        }
        #expect(libssh2.name == "KEX_FAILURE")
        #expect(offered["cipher"]?.contains("aes128-ctr") == true)
        #expect(offered["kex"]?.isEmpty == false)
        #expect("\(error!)".contains("aes256-ctr"))
    }

    @Test func silentServerTimesOut() throws {
        let server = try Server()
        // A listener that accepts TCP connections (in the kernel's backlog) but never says anything.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                try #require(bind(listener, socketAddress, length) == 0)
                try #require(listen(listener, 4) == 0)
                try #require(getsockname(listener, socketAddress, &length) == 0)
            }
        }
        var configuration = server.configuration()
        configuration.port = Int(UInt16(bigEndian: address.sin_port))
        configuration.connectTimeout = .milliseconds(700)
        let started = ContinuousClock.now
        let error = #expect(throws: SFTPError.self) { _ = try SFTPConnection(configuration: configuration) }
        guard case .connectTimedOut = error else {
            Issue.record("expected connectTimedOut, got \(String(describing: error))")
            return
        }
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func refusedConnectionIsReported() throws {
        let server = try Server()
        var configuration = server.configuration()
        configuration.port = try freeLoopbackPort()
        let error = #expect(throws: SFTPError.self) { _ = try SFTPConnection(configuration: configuration) }
        guard case .connectFailed(_, _, let reason) = error else {
            Issue.record("expected connectFailed, got \(String(describing: error))")
            return
        }
        #expect(reason.lowercased().contains("refused"))
    }

    static func waitForPort(_ port: Int) throws {
        for _ in 0..<100 {
            if acceptsConnections(onLoopbackPort: port) { return }
            usleep(50_000)
        }
        Issue.record("port \(port) never accepted a connection")
    }

    // MARK: Transfers

    @Test func downloadStreamsAndHashes() throws {
        let server = try Server()
        let sandbox = try Sandbox(server)
        // 5 MiB and a bit of random bytes, not a multiple of any buffer size.
        let size = 5 * 1024 * 1024 + 12_345
        let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
        let bytes = try #require(try random.read(upToCount: size))
        try random.close()
        let remoteFile = sandbox.local + "/extract.dat"
        try bytes.write(to: URL(fileURLWithPath: remoteFile))
        let expected = try Self.run("/usr/bin/sha256sum", [remoteFile]).split(separator: " ")[0]

        let connection = try server.connect()
        defer { connection.close() }
        let target = sandbox.scratch + "/extract.dat"
        var reports = 0
        var last: SFTPTransferProgress?
        let result = try connection.download(remotePath: sandbox.remote + "/extract.dat", to: target) { progress in
            reports += 1
            last = progress
        }
        #expect(result.bytes == Int64(size))
        #expect(result.sha256 == String(expected))
        #expect(result.localPath == target)
        #expect(result.streams == 1)  // below the parallel download threshold
        #expect(try Self.run("/usr/bin/sha256sum", [target]).hasPrefix(String(expected)))
        #expect(reports > 1)
        #expect(last == SFTPTransferProgress(bytesTransferred: Int64(size), expectedBytes: Int64(size)))
        // Nothing but the final file is left in the target folder.
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.scratch) == ["extract.dat"])
    }

    // MARK: Parallel downloads

    /// Writes `size` random bytes at `path` and returns their SHA-256 as sha256sum prints it.
    static func randomFile(at path: String, size: Int) throws -> String {
        let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
        defer { try? random.close() }
        let bytes = try #require(try random.read(upToCount: size))
        try bytes.write(to: URL(fileURLWithPath: path))
        return String(try run("/usr/bin/sha256sum", [path]).split(separator: " ")[0])
    }

    /// A configuration that downloads files of 1 MiB and more in 64 KiB chunks, so a few MiB make many chunks.
    static func parallel(_ configuration: SFTPConfiguration, streams: Int = 2) -> SFTPConfiguration {
        var configuration = configuration
        configuration.readBufferSize = 32 * 1024
        configuration.downloadChunkSize = 64 * 1024
        configuration.parallelDownloadThreshold = 1024 * 1024
        configuration.downloadStreams = streams
        return configuration
    }

    /// The size of the download's `.part` file in `folder` (0 when there is none yet).
    static func partFileSize(in folder: String) -> Int64 {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        guard let part = names.first(where: { $0.contains(".part-") }),
            let size = try? FileManager.default.attributesOfItem(atPath: folder + "/" + part)[.size] as? Int64
        else { return 0 }
        return size
    }

    /// Polls `condition` every 10 ms for up to 30 s (a generous bound for a loaded machine, never a measurement).
    static func waitUntil(_ condition: () -> Bool) {
        for _ in 0..<3000 where !condition() { usleep(10_000) }
    }

    @Test func parallelDownloadSplitsTheFileAcrossStreams() throws {
        let server = try Server()
        let sandbox = try Sandbox(server)
        // Not a multiple of the chunk or the buffer: the last chunk is short.
        let size = 3 * 1024 * 1024 + 4321
        let expected = try Self.randomFile(at: sandbox.local + "/large.dat", size: size)
        let connection = try SFTPConnection(configuration: Self.parallel(server.configuration()))
        defer { connection.close() }

        let target = sandbox.scratch + "/large.dat"
        var reports: [SFTPTransferProgress] = []
        let result = try connection.download(remotePath: sandbox.remote + "/large.dat", to: target) { progress in
            if reports.isEmpty {
                // Hold this connection inside its first chunk until the extra session has written a later one,
                // so that both streams take part however the machine schedules them.
                Self.waitUntil { Self.partFileSize(in: sandbox.scratch) > 64 * 1024 }
            }
            reports.append(progress)
        }
        #expect(result.streams == 2)
        #expect(result.bytes == Int64(size))
        #expect(result.sha256 == expected)
        #expect(try Self.run("/usr/bin/sha256sum", [target]).hasPrefix(expected))
        #expect(reports.last == SFTPTransferProgress(bytesTransferred: Int64(size), expectedBytes: Int64(size)))
        #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.bytesTransferred <= $1.bytesTransferred })
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.scratch) == ["large.dat"])
        // The connection is still usable, and a second download over it works the same way.
        let again = try connection.download(remotePath: sandbox.remote + "/large.dat", to: target)
        #expect(again.sha256 == expected)
    }

    @Test func oneStreamWhenConfigured() throws {
        let server = try Server()
        let sandbox = try Sandbox(server)
        let size = 2 * 1024 * 1024 + 17
        let expected = try Self.randomFile(at: sandbox.local + "/large.dat", size: size)
        let connection = try SFTPConnection(configuration: Self.parallel(server.configuration(), streams: 1))
        defer { connection.close() }

        let result = try connection.download(remotePath: sandbox.remote + "/large.dat", to: sandbox.scratch + "/large.dat")
        #expect(result.streams == 1)
        #expect(result.bytes == Int64(size))
        #expect(result.sha256 == expected)
    }

    @Test(arguments: [1, 2])
    func fileThatShrinksDuringADownloadFailsAndLeavesNothing(streams: Int) throws {
        let server = try Server()
        let sandbox = try Sandbox(server)
        let size = 3 * 1024 * 1024
        let remoteFile = sandbox.local + "/shrinking.dat"
        _ = try Self.randomFile(at: remoteFile, size: size)
        let connection = try SFTPConnection(configuration: Self.parallel(server.configuration(), streams: streams))
        defer { connection.close() }

        var truncated = false
        let error = #expect(throws: SFTPError.self) {
            _ = try connection.download(remotePath: sandbox.remote + "/shrinking.dat", to: sandbox.scratch + "/x.dat") { _ in
                guard !truncated else { return }
                truncated = true
                #expect(truncate(remoteFile, 1024 * 1024) == 0)
            }
        }
        guard case .fileShrank(let path, let expectedBytes, let endedAt) = error else {
            Issue.record("expected fileShrank, got \(String(describing: error))")
            return
        }
        #expect(path == sandbox.remote + "/shrinking.dat")
        #expect(expectedBytes == Int64(size))
        #expect(endedAt >= 1024 * 1024 && endedAt < Int64(size))
        #expect("\(error!)".contains("changed during the download"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.scratch).isEmpty)
        // The file changed, not the connection: it stays open and usable.
        #expect(connection.isOpen)
        #expect(try connection.list(directory: sandbox.remote).map(\.name) == ["shrinking.dat"])
    }

    @Test func extraSessionThatCannotLogInLeavesOneStream() throws {
        let server = try Server()
        let sandbox = try Sandbox(server)
        let size = 2 * 1024 * 1024 + 99
        let expected = try Self.randomFile(at: sandbox.local + "/large.dat", size: size)
        // A key that works for the first login only: it is gone when the extra session tries.
        let key = sandbox.scratch + "/once_ed25519"
        try FileManager.default.copyItem(atPath: server.ed25519Key, toPath: key)
        let log = LogLines()
        let connection = try SFTPConnection(
            configuration: Self.parallel(server.configuration(key: key)), logger: log.logger(label: "dqt.sftp.test", level: .warning))
        defer { connection.close() }
        try FileManager.default.removeItem(atPath: key)

        var waited = false
        let result = try connection.download(remotePath: sandbox.remote + "/large.dat", to: sandbox.scratch + "/large.dat") { _ in
            guard !waited else { return }
            waited = true
            Self.waitUntil { !log.all.isEmpty }
        }
        #expect(result.streams == 1)
        #expect(result.bytes == Int64(size))
        #expect(result.sha256 == expected)
        let warning = try #require(log.all.first)
        #expect(warning.contains("fewer streams"))
        #expect(warning.contains(key))  // the reason names the key file that could not be used
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.scratch) == ["large.dat"])
    }

    @Test func droppedExtraSessionFailsTheDownloadAndLeavesThisConnectionUsable() throws {
        let server = try Server()
        let sandbox = try Sandbox(server)
        let size = 3 * 1024 * 1024
        let expected = try Self.randomFile(at: sandbox.local + "/large.dat", size: size)
        // This connection goes through the relay untouched; the extra session's connection is cut mid-transfer.
        let relay = try CuttingRelay(serverPort: server.port, cutSecondConnectionAfter: 256 * 1024)
        defer { relay.close() }
        let real = try server.hostKeyFields()
        let knownHosts = sandbox.scratch + "/known_hosts"
        try "[\(server.host)]:\(relay.port) \(real.type) \(real.key)\n".write(toFile: knownHosts, atomically: true, encoding: .utf8)
        var configuration = Self.parallel(server.configuration(knownHosts: knownHosts))
        configuration.port = relay.port
        let connection = try SFTPConnection(configuration: configuration)
        defer { connection.close() }
        let target = sandbox.scratch + "/out"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)

        var waited = false
        let error = #expect(throws: SFTPError.self) {
            _ = try connection.download(remotePath: sandbox.remote + "/large.dat", to: target + "/large.dat") { _ in
                guard !waited else { return }
                waited = true
                // Hold this stream in its first chunk until the extra session has seen its connection drop.
                Self.waitUntil { relay.secondConnectionClosedByClient }
            }
        }
        guard case .sessionFailed(let operation, let path, _) = error else {
            Issue.record("expected sessionFailed, got \(String(describing: error))")
            return
        }
        #expect(operation == "download" && path == sandbox.remote + "/large.dat")
        #expect(try FileManager.default.contentsOfDirectory(atPath: target).isEmpty)
        // The failure was the extra session's: this connection is open and downloads the file in full afterwards.
        #expect(connection.isOpen)
        let again = try connection.download(remotePath: sandbox.remote + "/large.dat", to: target + "/large.dat")
        #expect(again.sha256 == expected)
        #expect(again.streams == 2)
    }

    @Test func failedDownloadLeavesNothingBehind() throws {
        let server = try Server()
        let sandbox = try Sandbox(server)
        try sandbox.mkdir("folder")
        let connection = try server.connect()
        defer { connection.close() }

        let missing = #expect(throws: SFTPError.self) {
            _ = try connection.download(remotePath: sandbox.remote + "/absent.csv", to: sandbox.scratch + "/absent.csv")
        }
        guard case .operationFailed(_, _, let status) = missing else {
            Issue.record("expected operationFailed, got \(String(describing: missing))")
            return
        }
        #expect(status == .noSuchFile)
        #expect("\(missing!)".contains("NO_SUCH_FILE"))

        #expect(throws: SFTPError.notAFile(path: sandbox.remote + "/folder")) {
            _ = try connection.download(remotePath: sandbox.remote + "/folder", to: sandbox.scratch + "/folder")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.scratch).isEmpty)
        // Server-side refusals leave the connection usable.
        #expect(connection.isOpen)
        #expect(try connection.list(directory: sandbox.remote).isEmpty)
    }

    @Test func uploadThenRemove() throws {
        let server = try Server()
        let sandbox = try Sandbox(server)
        let source = sandbox.scratch + "/up.csv"
        try "a,b\n1,2\n".write(toFile: source, atomically: true, encoding: .utf8)
        let connection = try server.connect()
        defer { connection.close() }

        #expect(try connection.upload(localPath: source, to: sandbox.remote + "/up.csv") == 8)
        #expect(try String(contentsOfFile: sandbox.local + "/up.csv", encoding: .utf8) == "a,b\n1,2\n")
        try connection.remove(sandbox.remote + "/up.csv")
        #expect(!FileManager.default.fileExists(atPath: sandbox.local + "/up.csv"))
    }

    // MARK: Changes

    @Test func renameIntoProcessedFolder() throws {
        let server = try Server()
        let sandbox = try Sandbox(server)
        try sandbox.write("feed.csv", "x\n")
        let connection = try server.connect()
        defer { connection.close() }

        try connection.makeDirectory(sandbox.remote + "/processed")
        try connection.rename(from: sandbox.remote + "/feed.csv", to: sandbox.remote + "/processed/feed.20250101T0300Z.csv")
        #expect(try !connection.exists(sandbox.remote + "/feed.csv"))
        #expect(try connection.stat(sandbox.remote + "/processed/feed.20250101T0300Z.csv").size == 2)
        #expect(try connection.list(directory: sandbox.remote).isEmpty)
    }

    @Test func renameOntoAnExistingNameFailsClearly() throws {
        let server = try Server()
        let sandbox = try Sandbox(server)
        try sandbox.write("new.csv", "new\n")
        try sandbox.write("taken.csv", "old\n")
        let connection = try server.connect()
        defer { connection.close() }

        let error = #expect(throws: SFTPError.self) {
            try connection.rename(from: sandbox.remote + "/new.csv", to: sandbox.remote + "/taken.csv")
        }
        #expect(error == .destinationExists(from: sandbox.remote + "/new.csv", to: sandbox.remote + "/taken.csv"))
        #expect("\(error!)".contains("already exists"))
        #expect(try String(contentsOfFile: sandbox.local + "/taken.csv", encoding: .utf8) == "old\n")
        #expect(try connection.exists(sandbox.remote + "/new.csv"))

        // Renaming something that is not there is a different, also clear, error.
        let missing = #expect(throws: SFTPError.self) {
            try connection.rename(from: sandbox.remote + "/absent.csv", to: sandbox.remote + "/elsewhere.csv")
        }
        #expect("\(missing!)".contains("NO_SUCH_FILE"))
    }

    @Test func makeDirectoryToleratesAnExistingFolder() throws {
        let server = try Server()
        let sandbox = try Sandbox(server)
        try sandbox.write("file", "x")
        let connection = try server.connect()
        defer { connection.close() }

        try connection.makeDirectory(sandbox.remote + "/quarantine")
        try connection.makeDirectory(sandbox.remote + "/quarantine")
        #expect(try connection.stat(sandbox.remote + "/quarantine").kind == .directory)
        #expect(throws: SFTPError.notADirectory(path: sandbox.remote + "/file")) {
            try connection.makeDirectory(sandbox.remote + "/file")
        }
        try connection.removeDirectory(sandbox.remote + "/quarantine")
        #expect(try !connection.exists(sandbox.remote + "/quarantine"))
    }

    @Test func closedConnectionRefusesWork() throws {
        let server = try Server()
        let connection = try server.connect()
        #expect(connection.isOpen)
        try connection.sendKeepalive()
        connection.close()
        connection.close()
        #expect(!connection.isOpen)
        #expect(throws: SFTPError.connectionClosed(reason: "closed by the caller")) {
            _ = try connection.stat(server.root)
        }
    }
}

/// A TCP relay on a free loopback port to the test sshd that drops its second connection (the extra session of a
/// parallel download) once the server has sent `cutAfter` bytes on it, as a failing network would: it closes the
/// server side and sends the client an end of stream. Every other connection is relayed untouched.
final class CuttingRelay: @unchecked Sendable {
    // @unchecked: `listener` is set once in init; the mutable state is in `state`.
    private struct State {
        var connections = 0
        var sockets: [Int32] = []
        var secondClosedByClient = false
    }

    let port: Int
    private let listener: Int32
    private let serverPort: Int
    private let cutAfter: Int
    private let state = Mutex(State())
    private let threads = DispatchGroup()

    init(serverPort: Int, cutSecondConnectionAfter cutAfter: Int) throws {
        self.serverPort = serverPort
        self.cutAfter = cutAfter
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 8) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        try #require(listening)
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        spawn { [self] in acceptConnections() }
    }

    /// Whether the client closed its side of the second connection after the cut (it noticed the drop).
    var secondConnectionClosedByClient: Bool { state.withLock { $0.secondClosedByClient } }

    /// Ends every connection and waits for the relay's threads.
    func close() {
        shutdown(listener, Int32(SHUT_RDWR))
        for socket in state.withLock({ $0.sockets }) { shutdown(socket, Int32(SHUT_RDWR)) }
        threads.wait()
        Glibc.close(listener)
        for socket in state.withLock({ $0.sockets }) { Glibc.close(socket) }
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        return address
    }

    private func spawn(_ body: @escaping @Sendable () -> Void) {
        threads.enter()
        let thread = Thread { [threads] in
            body()
            threads.leave()
        }
        thread.start()
    }

    private func acceptConnections() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: UInt16(serverPort))
            let connected = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            let number = state.withLock { state in
                state.connections += 1
                state.sockets += [client, server]
                return state.connections
            }
            guard connected else {
                shutdown(client, Int32(SHUT_RDWR))
                continue
            }
            let cut = number == 2 ? cutAfter : nil
            spawn { [self] in relay(from: client, to: server, isClientSide: true, second: number == 2, cutAfter: nil) }
            spawn { [self] in relay(from: server, to: client, isClientSide: false, second: number == 2, cutAfter: cut) }
        }
    }

    /// Copies bytes one way until either side ends; with `cutAfter`, ends the connection after that many bytes.
    private func relay(from source: Int32, to destination: Int32, isClientSide: Bool, second: Bool, cutAfter: Int?) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var relayed = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(source, $0.baseAddress, $0.count, 0) }
            if count <= 0 {
                if isClientSide && second { state.withLock { $0.secondClosedByClient = true } }
                shutdown(destination, Int32(SHUT_WR))
                return
            }
            var sent = 0
            while sent < count {
                let written = buffer.withUnsafeBytes { send(destination, $0.baseAddress! + sent, count - sent, Int32(MSG_NOSIGNAL)) }
                if written <= 0 { return }
                sent += written
            }
            relayed += count
            if let cutAfter, relayed >= cutAfter {
                // The server's side goes away at once; the client only sees its stream end.
                shutdown(source, Int32(SHUT_RDWR))
                shutdown(destination, Int32(SHUT_WR))
                return
            }
        }
    }
}
