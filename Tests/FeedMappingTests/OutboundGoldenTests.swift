import DQTModel
import FlatFile
import Foundation
import Testing

@testable import FeedMapping

/// The repository's root, found from this file's place in it.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The committed catalog, loaded once.
let committedCatalog: FeedCatalog = try! FeedCatalog.load(directory: repositoryRoot.appendingPathComponent("mappings").path)

/// The time every golden outbound file is named for.
let goldenRunTime = Date(timeIntervalSince1970: 1_796_526_000)  // 2026-12-06 03:00:00 UTC

/// An outbound feed's synthetic input: `fixtures/outbound/<feed>/changes.ndjson` or `problems.ndjson`, in order.
func outboundInput(_ feed: OutboundFeedDefinition) throws -> [OutboundItem] {
    let folder = repositoryRoot.appendingPathComponent("fixtures/outbound/\(feed.id)")
    let isProblems = if case .problems = feed.input { true } else { false }
    let text = try String(contentsOf: folder.appendingPathComponent(isProblems ? "problems.ndjson" : "changes.ndjson"), encoding: .utf8)
    return try text.split(separator: "\n").map { line in
        isProblems
            ? OutboundItem.problem(try JSONDecoder().decode(ProblemRow.self, from: Data(line.utf8)))
            : OutboundItem.change(try JSONDecoder().decode(Change.self, from: Data(line.utf8)))
    }
}

/// SHA-256 of bytes, worked out apart from the writer's running digest (through a file).
func sha256(_ bytes: [UInt8]) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("digest-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return try FileDigest.sha256(path: path)
}

/// The bytes an outbound feed writes for its fixture input, with what `finish()` says about them.
func renderFixture(_ feed: OutboundFeedDefinition) throws -> (bytes: [UInt8], size: Int64, sha256: String, records: Int) {
    var writer = try OutboundFileWriter(definition: feed, sink: MemoryByteSink())
    for item in try outboundInput(feed) { try writer.write(item) }
    let result = try writer.finish()
    return (writer.sink.bytes, result.size, result.sha256, result.records)
}

/// Every outbound mapping over its fixture input, compared byte for byte with `fixtures/outbound/<feed>/<file name>`
/// (the name the feed gives a file written at `goldenRunTime`). `DQT_UPDATE_GOLDEN=1` rewrites them; they are the
/// specification, so review every change by eye.
@Suite("Outbound golden files")
struct OutboundGoldenTests {
    @Test("the committed mappings hold the outbound feeds")
    func catalogHasOutboundFeeds() {
        #expect(
            Set(committedCatalog.outboundFeeds.map(\.id)) == [
                "capita-export-amend", "capita-export-new", "prohibitions-ewc", "prohibitions-gtcni", "prohibitions-gtcs", "tps-workforce-problems",
            ])
        #expect(committedCatalog.feeds.count == 13, "inbound feeds are unchanged")
        #expect(committedCatalog.outboundFeed(id: "prohibitions-gtcni")?.status == .legacy)
    }

    @Test("each outbound feed writes its golden file", arguments: committedCatalog.outboundFeeds.map(\.id))
    func golden(_ id: String) throws {
        let feed = try #require(committedCatalog.outboundFeed(id: id))
        let folder = repositoryRoot.appendingPathComponent("fixtures/outbound/\(id)")
        let expected = folder.appendingPathComponent(feed.fileName(at: goldenRunTime))
        let written = try renderFixture(feed)
        if ProcessInfo.processInfo.environment["DQT_UPDATE_GOLDEN"] == "1" { try Data(written.bytes).write(to: expected) }
        #expect(written.bytes == Array(try Data(contentsOf: expected)), "\(id): the file differs from \(expected.lastPathComponent)")
        #expect(written.size == Int64(written.bytes.count))
        let digest = try sha256(written.bytes)
        #expect(written.sha256 == digest)
        #expect(written.records > 0)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasSuffix(".ndjson") }
        #expect(names == [expected.lastPathComponent], "\(id): one golden file, named as the feed names it")
    }

    @Test("the same input gives the same bytes; the name alone carries the time")
    func pureFunctionOfInput() throws {
        let feed = try #require(committedCatalog.outboundFeed(id: "capita-export-new"))
        let (first, second) = (try renderFixture(feed).bytes, try renderFixture(feed).bytes)
        #expect(first == second)
        #expect(feed.fileName(at: goldenRunTime) == "Reg01_DTR_20261206_030000_New.txt")
        #expect(feed.fileName(at: goldenRunTime.addingTimeInterval(86_400 + 61)) == "Reg01_DTR_20261207_030101_New.txt")
        #expect(feed.input.kinds == ["person.created"])
        #expect(feed.destination == .sftp(folder: "capita/outbound"))
        #expect(feed.schedule == .daily(hour: 3, minute: 0))
        #expect(feed.emptyFile == .skip)
        let problems = try #require(committedCatalog.outboundFeed(id: "tps-workforce-problems"))
        #expect(problems.input == .problems(feed: "tps-workforce"))
        #expect(problems.schedule == .afterEachFile(feed: "tps-workforce"))
    }

    @Test("an empty input writes a delimited file's header only, and a fixed-width file no bytes")
    func emptyInput() throws {
        var csv = try OutboundFileWriter(definition: try #require(committedCatalog.outboundFeed(id: "prohibitions-ewc")), sink: MemoryByteSink())
        #expect(try csv.finish().records == 0)
        #expect(csv.sink.bytes == Array("TRN,Date of birth,Full name,Sanction name,Alert start date,Alert end date\r\n".utf8))
        var register = try OutboundFileWriter(
            definition: try #require(committedCatalog.outboundFeed(id: "capita-export-new")), sink: MemoryByteSink())
        let empty = try register.finish()
        #expect(empty.size == 0 && empty.records == 0 && register.sink.bytes.isEmpty)
        #expect(empty.sha256 == (try sha256([])))
    }
}
