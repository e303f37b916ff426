// SFTPBench: downloads one remote file with the SFTP module and prints its throughput, for scripts/bench-sftp.sh.
//
//   SFTPBench REMOTE_PATH LOCAL_PATH [--buffer BYTES] [--streams N] [--chunk BYTES] [--runs N]
//
// The server and keys come from the same variables as the tests (.run/services.env): DQT_TEST_SFTP_HOST,
// DQT_TEST_SFTP_PORT, DQT_TEST_SFTP_USER, DQT_TEST_SFTP_KEY, DQT_TEST_SFTP_KNOWN_HOSTS.
// --streams and --chunk set SFTPConfiguration.downloadStreams and .downloadChunkSize (defaults: the configuration's).
// Prints one line per run: `run=N bytes=B seconds=S mb_per_s=M sha256=H connect_ms=C streams=K` (K: the sessions
// that read part of the file), then `best_mb_per_s=M`.
import Foundation
import SFTP

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("SFTPBench: \(message)\n".utf8))
    exit(2)
}

var positional: [String] = []
var bufferSize = 256 * 1024
var streams: Int?
var chunkSize: Int?
var runs = 1
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--buffer":
        guard let value = arguments.next().flatMap(Int.init) else { fail("--buffer needs a byte count") }
        bufferSize = value
    case "--streams":
        guard let value = arguments.next().flatMap(Int.init) else { fail("--streams needs a number") }
        streams = value
    case "--chunk":
        guard let value = arguments.next().flatMap(Int.init) else { fail("--chunk needs a byte count") }
        chunkSize = value
    case "--runs":
        guard let value = arguments.next().flatMap(Int.init) else { fail("--runs needs a number") }
        runs = value
    default: positional.append(argument)
    }
}
guard positional.count == 2 else {
    fail("usage: SFTPBench REMOTE_PATH LOCAL_PATH [--buffer BYTES] [--streams N] [--chunk BYTES] [--runs N]")
}

let environment = ProcessInfo.processInfo.environment
func variable(_ name: String) -> String {
    guard let value = environment[name], !value.isEmpty else {
        fail("\(name) is not set (source .run/services.env)")
    }
    return value
}
var configuration = SFTPConfiguration(
    host: variable("DQT_TEST_SFTP_HOST"), port: Int(variable("DQT_TEST_SFTP_PORT")) ?? 22,
    user: variable("DQT_TEST_SFTP_USER"), privateKeyPath: variable("DQT_TEST_SFTP_KEY"),
    knownHostsPath: variable("DQT_TEST_SFTP_KNOWN_HOSTS"), readBufferSize: bufferSize)
if let streams { configuration.downloadStreams = streams }
if let chunkSize { configuration.downloadChunkSize = chunkSize }

var best = 0.0
for run in 1...max(1, runs) {
    try? FileManager.default.removeItem(atPath: positional[1])
    do {
        let clock = ContinuousClock()
        let started = clock.now
        let connection = try SFTPConnection(configuration: configuration)
        let connected = clock.now
        let result = try connection.download(remotePath: positional[0], to: positional[1])
        connection.close()
        let elapsed = clock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let connectDuration = connected - started
        let connectMs = Double(connectDuration.components.attoseconds) / 1e15 + Double(connectDuration.components.seconds) * 1000
        let rate = Double(result.bytes) / 1_000_000 / seconds
        best = max(best, rate)
        print(
            "run=\(run) bytes=\(result.bytes) " + String(format: "seconds=%.3f mb_per_s=%.1f", seconds, rate)
                + " sha256=\(result.sha256) " + String(format: "connect_ms=%.0f", connectMs) + " streams=\(result.streams)")
    } catch {
        fail("\(error)")
    }
}
print(String(format: "best_mb_per_s=%.1f", best))
