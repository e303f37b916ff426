import AsyncHTTPClient
import DQTTesting
import FileSources
import Foundation
import NIOCore
import NIOHTTP1
import Publisher

#if canImport(Glibc)
    import Glibc
#endif

/// Services a fault test starts for itself, so that killing or restarting them never touches the shared ones
/// other suites use at the same time: `dqt-api` as its own process, an sshd and a PostgreSQL on free ports. Each is
/// started the way scripts/services.sh starts the shared ones, and stopped by its own pid.

struct ServiceFailure: Error, CustomStringConvertible {
    let what: String
    let detail: String
    var description: String { "\(what): \(detail)" }
}

/// Runs a program to its end; throws unless it exits 0.
func runProgram(_ path: String, _ arguments: [String]) async throws {
    _ = try await ChildProcess.run(path, arguments).checkedOutput()
}

/// `dqt-api serve` (the binary built beside the tests) over an existing, migrated database, on a free port.
struct APIProcess {
    let service: ChildProcess
    let baseURL: String

    static func start(databaseURL: String, log: String, httpClient: HTTPClient) async throws -> APIProcess {
        let binary = try apiBinary()
        let port = try freeLoopbackPort()
        var environment = ProcessInfo.processInfo.environment
        environment["DQT_API_DATABASE_URL"] = databaseURL
        let service = try ChildProcess(binary, ["serve", "--port", "\(port)", "--key-cache-seconds", "0"], environment: environment, output: log)
        let api = APIProcess(service: service, baseURL: "http://127.0.0.1:\(port)")
        do {
            try await service.waitUntilReady {
                let response = try? await httpClient.execute(HTTPClientRequest(url: api.baseURL + "/health/ready"), timeout: .seconds(2))
                return response?.status.code == 200
            }
            return api
        } catch {
            await service.stop()
            throw error
        }
    }
}

/// An SFTP-only sshd of the test's own on a free port, serving the shared SFTP user's home (so the harness's files
/// are there) with its own host key and known_hosts. `kill()` ends it and every session it started, as a crash would.
final class PrivateSSHD: @unchecked Sendable {
    let port: Int
    let knownHosts: String
    private let folder: String
    private let config: String
    private var service: ChildProcess?

    init(scratch: String) throws {
        folder = joinPath(scratch, "sshd")
        port = try freeLoopbackPort()
        knownHosts = joinPath(folder, "known_hosts")
        config = joinPath(folder, "sshd_config")
    }

    /// Starts it (the first time: its host key, known_hosts and configuration) and waits until it accepts connections.
    func start() async throws {
        let hostKey = joinPath(folder, "host_key")
        if !FileManager.default.fileExists(atPath: hostKey) {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            chmod(folder, 0o755)
            try await runProgram("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "dqt-fault-test", "-f", hostKey])
            let authorizedKeys = joinPath(folder, "authorized_keys")
            try FileManager.default.copyItem(atPath: try TestServices.require(TestServices.sftpEd25519Key) + ".pub", toPath: authorizedKeys)
            chmod(authorizedKeys, 0o644)
            let hostPublic = try String(contentsOfFile: hostKey + ".pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
            try "[127.0.0.1]:\(port) \(hostPublic)\n".write(toFile: knownHosts, atomically: true, encoding: .utf8)
            try """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(hostKey)
            PidFile \(joinPath(folder, "sshd.pid"))
            AuthorizedKeysFile \(authorizedKeys)
            AllowUsers \(try TestServices.require(TestServices.sftpUser))
            PubkeyAuthentication yes
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            StrictModes no
            PermitRootLogin no
            AllowTcpForwarding no
            X11Forwarding no
            LogLevel INFO
            Subsystem sftp internal-sftp

            """.write(toFile: config, atomically: true, encoding: .utf8)
            try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        }
        let service = try ChildProcess("/usr/sbin/sshd", ["-D", "-e", "-f", config], output: joinPath(folder, "sshd.log"))
        self.service = service
        try await service.waitUntilReady { acceptsConnections(onLoopbackPort: port) }
    }

    /// SIGKILL to the listener and every session process below it (each session is its own process group).
    func kill() async {
        guard let service else { return }
        for pid in descendants(of: service.pid) { Glibc.kill(pid, SIGKILL) }
        await service.stop(SIGKILL)
        self.service = nil
    }
}

/// PostgreSQL 15 of the test's own (initdb into the scratch folder as the postgres user, a free port, settings as in
/// scripts/services.sh), so a test can restart it under a running bridge.
final class PrivatePostgres: @unchecked Sendable {
    let port: Int
    private let data: String
    private let bin = "/usr/lib/postgresql/15/bin"

    init() throws {
        // Below /var/tmp: the postgres account may not traverse the test's scratch folder.
        data = "/var/tmp/dqt-fault-pg-\(UInt32.random(in: 0...UInt32.max))"
        port = try freeLoopbackPort()
    }

    var url: String { "postgresql://postgres@127.0.0.1:\(port)/postgres" }

    /// Starts it, the first time after initdb.
    func start() async throws {
        if !FileManager.default.fileExists(atPath: joinPath(data, "PG_VERSION")) {
            try await runProgram("/usr/bin/install", ["-d", "-o", "postgres", "-g", "postgres", "-m", "0700", data])
            try await asPostgres(bin + "/initdb", ["-D", data, "--no-sync", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "-U", "postgres"])
            let settings = """

                port = \(port)
                listen_addresses = '127.0.0.1'
                unix_socket_directories = '\(data)'
                fsync = off
                synchronous_commit = off
                full_page_writes = off
                max_connections = 50

                """
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: joinPath(data, "postgresql.conf")))
            handle.seekToEndOfFile()
            handle.write(Data(settings.utf8))
            try handle.close()
        }
        try await asPostgres(bin + "/pg_ctl", ["-D", data, "-l", joinPath(data, "log"), "-w", "-t", "60", "start"])
    }

    /// A fast restart (every connection is ended), as an operator's or a crash recovery's would be.
    func restart() async throws {
        try await asPostgres(bin + "/pg_ctl", ["-D", data, "-l", joinPath(data, "log"), "-m", "fast", "-w", "-t", "60", "restart"])
    }

    func destroy() async {
        try? await asPostgres(bin + "/pg_ctl", ["-D", data, "-m", "immediate", "-w", "-t", "60", "stop"])
        try? FileManager.default.removeItem(atPath: data)
    }

    private func asPostgres(_ program: String, _ arguments: [String]) async throws {
        try await runProgram("/usr/sbin/runuser", ["-u", "postgres", "--", program] + arguments)
    }
}

/// Every process below `pid` (children, their children, ...), from /proc.
func descendants(of pid: Int32) -> [Int32] {
    var parents: [Int32: [Int32]] = [:]
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let child = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { continue }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        if fields.count > 1, let parent = Int32(fields[1]) { parents[parent, default: []].append(child) }
    }
    var found: [Int32] = []
    var queue = [pid]
    while let next = queue.popLast() {
        for child in parents[next] ?? [] {
            found.append(child)
            queue.append(child)
        }
    }
    return found
}
