import DQTTesting
import FileSources
import Foundation
import Logging
import Testing

/// The HTTPS source against a real HTTPS server on loopback whose certificate a CA made for the test signed.
@Suite("HTTPS source")
struct HTTPSDownloaderTests {
    static let day = Date(timeIntervalSince1970: 1_796_515_200)  // 2026-12-06 UTC

    /// A server, its CA, a pickup folder and a downloader of `edubasealldata{yyyyMMdd}.csv` from it.
    struct Setup {
        let scratch: Scratch
        let ca: TestCA
        let script = ServerScript()
        let server: LocalHTTPSServer

        init() async throws {
            scratch = try Scratch()
            ca = try TestCA.make(in: scratch.root)
            server = try await LocalHTTPSServer.start(ca: ca, script: script)
        }

        var pickup: String { scratch.path("pickup") }

        func downloader(maxBytes: Int64 = 1 << 20, trusted: Bool = true, attempts: Int = 4) -> HTTPSDownloader {
            HTTPSDownloader(
                settings: HTTPSDownloadSettings(
                    urlTemplate: "https://127.0.0.1:\(server.port)/downloads/edubasealldata{yyyyMMdd}.csv", maxBytes: maxBytes,
                    caFile: trusted ? ca.caFile : nil, attempts: attempts, baseDelaySeconds: 0.01, timeoutSeconds: 20),
                folder: pickup, logger: Logger(label: "https-test"))
        }

        /// The pickup folder's files, hidden ones left out as the poller leaves them out.
        func visibleFiles() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: pickup).filter { !$0.hasPrefix(".") }.sorted()
        }
    }

    @Test("The URL template takes the day's date; only https URLs naming a file are accepted")
    func urlTemplate() throws {
        let settings = HTTPSDownloadSettings(urlTemplate: "https://example.invalid/x/edubasealldata{yyyyMMdd}.csv", maxBytes: 1)
        #expect(try settings.url(on: Self.day).absoluteString == "https://example.invalid/x/edubasealldata20261206.csv")
        #expect(throws: FileSourceError.self) {
            try HTTPSDownloadSettings(urlTemplate: "http://example.invalid/a.csv", maxBytes: 1).url(on: Self.day)
        }
        #expect(throws: FileSourceError.self) { try HTTPSDownloadSettings(urlTemplate: "https://example.invalid/", maxBytes: 1).url(on: Self.day) }
    }

    @Test("Downloaded once; 304 when unchanged (nothing written); downloaded again when the ETag changes, never over a name")
    func conditionalDownloads() async throws {
        let setup = try await Setup()
        let server = setup.server
        defer { Task { await server.stop() } }
        let first = Array("URN,LA (code)\r\n100000,201\r\n".utf8)
        setup.script.serve(first, etag: "\"v1\"")
        let downloader = setup.downloader()

        guard case .downloaded(let path, let bytes, let sha256) = try await downloader.download(on: Self.day) else {
            Issue.record("the first download was not made")
            return
        }
        #expect(path.hasSuffix("/edubasealldata20261206.csv"))
        #expect(bytes == Int64(first.count))
        #expect(sha256 == sha256Hex(first))
        #expect(FileManager.default.contents(atPath: path) == Data(first))
        #expect(setup.script.requests.last?.path == "/downloads/edubasealldata20261206.csv")

        #expect(try await downloader.download(on: Self.day) == .notModified)
        #expect(setup.script.requests.last?.ifNoneMatch == "\"v1\"")
        #expect(try setup.visibleFiles() == ["edubasealldata20261206.csv"])

        let second = Array("URN,LA (code)\r\n100001,202\r\n".utf8)
        setup.script.serve(second, etag: "\"v2\"")
        guard case .downloaded(let changed, _, let changedHash) = try await downloader.download(on: Self.day) else {
            Issue.record("the changed file was not downloaded")
            return
        }
        #expect(changedHash == sha256Hex(second))
        #expect(changed != path)
        #expect(FileManager.default.contents(atPath: path) == Data(first), "the earlier download was overwritten")
        #expect(try setup.visibleFiles().count == 2)
        // The next day's URL is another file: no validators are sent for it.
        _ = try await downloader.download(on: Self.day.addingTimeInterval(86_400))
        #expect(setup.script.requests.last?.ifNoneMatch == nil)
    }

    @Test("503 answers are retried with backoff until the file comes")
    func retriesAfter503() async throws {
        let setup = try await Setup()
        let server = setup.server
        defer { Task { await server.stop() } }
        setup.script.serve(Array("a,b\r\n".utf8), etag: "\"r\"")
        setup.script.fail(next: 2)
        let outcome = try await setup.downloader(attempts: 4).download(on: Self.day)
        guard case .downloaded = outcome else {
            Issue.record("not downloaded: \(outcome)")
            return
        }
        #expect(setup.script.requests.count == 3)

        setup.script.fail(next: 5)
        let error = await #expect(throws: FileSourceError.self) { try await setup.downloader(attempts: 2).download(on: Self.day) }
        #expect(error?.isFatal == false)
        #expect(error?.description.contains("HTTP 503") == true)
    }

    @Test("A file over maxBytes is refused, announced or counted, naming the URL and the limit; nothing is left")
    func sizeLimit() async throws {
        let setup = try await Setup()
        let server = setup.server
        defer { Task { await server.stop() } }
        setup.script.serve([UInt8](repeating: 0x41, count: 200_000), etag: "\"big\"")
        for announced in [true, false] {
            setup.script.announceLength(announced)
            let error = await #expect(throws: FileSourceError.self) { try await setup.downloader(maxBytes: 100_000).download(on: Self.day) }
            let message = error?.description ?? ""
            #expect(message.contains("edubasealldata20261206.csv"), "\(message)")
            #expect(message.contains("maxBytes (100000)"), "\(message)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: setup.pickup).filter { $0.hasSuffix(".part") || !$0.hasPrefix(".") }.isEmpty)
        }
    }

    @Test("A certificate from a CA the source does not trust is refused at once, and nothing is downloaded")
    func untrustedCertificate() async throws {
        let setup = try await Setup()
        let server = setup.server
        defer { Task { await server.stop() } }
        setup.script.serve(Array("a\r\n".utf8), etag: "\"u\"")
        let error = await #expect(throws: FileSourceError.self) { try await setup.downloader(trusted: false).download(on: Self.day) }
        #expect(error?.isFatal == true, "\(String(describing: error))")
        #expect(setup.script.requests.isEmpty)
        #expect(try setup.visibleFiles().isEmpty)
    }
}
