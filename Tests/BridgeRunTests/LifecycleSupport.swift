import AsyncHTTPClient
import BridgeRun
import FeedMapping
import FileSources
import Foundation
import Ledger
import NIOCore
import NIOHTTP1

/// What the parity and promotion tests share: a writable copy of the mappings with one feed's status and extra lines,
/// the synthetic parity fixtures, writes made as the legacy job would make them, and shadow files in the ledger.
extension BridgeHarness {
    /// A copy of `mappings/` in the scratch folder, `ewc-induction` set to `status` with `extra` appended.
    func mappingsCopy(status: FeedStatus, extra: String = "") throws -> String {
        let copy = joinPath(scratch, "mappings-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        let original = joinPath(Self.repository, "mappings")
        for name in try FileManager.default.contentsOfDirectory(atPath: original) where name.hasSuffix(".yaml") {
            var text = try String(contentsOfFile: joinPath(original, name), encoding: .utf8)
            if name == "ewc-induction.yaml" {
                text = text.replacingOccurrences(of: "\nstatus: live\n", with: "\nstatus: \(status.rawValue)\n") + extra
            }
            try Data(text.utf8).write(to: URL(fileURLWithPath: joinPath(copy, name)))
        }
        return copy
    }

    static let parityFixture = "IND_20261115_0800.csv"
    static var parityFixtures: String { joinPath(repository, "fixtures/parity/ewc-induction") }

    /// Puts the parity fixture (and, when asked, its legacy outcome beside it) in the EWC pickup folder.
    func dropParityFixture(withOutcome: Bool) throws {
        let pickup = joinPath(localRoot, "ewc/pickup")
        var names = [Self.parityFixture]
        if withOutcome { names.append(Self.parityFixture + LegacyOutcomeReader.suffix) }
        for name in names {
            try FileManager.default.copyItem(atPath: joinPath(Self.parityFixtures, name), toPath: joinPath(pickup, name))
        }
    }

    /// A PUT straight to the API, as the legacy job writes; returns the status.
    func legacyWrite(_ path: String, body: String) async throws -> Int {
        var request = HTTPClientRequest(url: apiBaseURL.absoluteString + path)
        request.method = .PUT
        request.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Idempotency-Key", value: "legacy-\(UInt64.random(in: 0...UInt64.max))")
        request.body = .bytes(ByteBuffer(string: body))
        return Int(try await httpClient.execute(request, timeout: .seconds(10)).status.code)
    }
}

extension LedgerStore {
    /// A shadowed file of `feed` with one shadow record, as a run leaves it.
    func shadowFile(feed: String, runID: Int64, number: Int) async throws -> Int64 {
        let name = "IND_\(number).csv"
        let file = try await discover(
            runID: runID, feed: feed, origin: .sftp, transport: "sftp", path: "ewc/pickup/\(name)", name: name, size: 1, mtime: Date(),
            reason: "stable")
        try await setDownloaded(id: file.id, runID: runID, sha256: String(format: "%064d", number), size: 1, localPath: "/nowhere")
        _ = try await stage(fileID: file.id, runID: runID) { writer in
            try writer.accepted(line: 2, key: "k\(number)", method: "PUT", path: "/v3/persons/1000002/welsh-induction", body: "{}", shadow: true)
            return StageDecision(state: .shadowed, rowsRead: 1, accepted: 1, rejected: 0, warnings: 0, summaryJSON: "{}")
        }
        return file.id
    }

    func recordParity(feed: String, fileID: Int64, agreed: Int, of compared: Int) async throws {
        try await recordParity(
            ParityResult(
                summary: ParitySummary(
                    feed: feed, fileID: fileID, fileName: "f\(fileID)", comparedAt: Date(), rowsCompared: compared, rowsAgreed: agreed),
                readBack: [:], reportPath: nil))
    }
}
