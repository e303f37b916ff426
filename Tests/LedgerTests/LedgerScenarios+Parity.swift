import Foundation
import Ledger
import Testing

extension LedgerScenario {
    /// Shadow records keep their planned bodies until their feed's parity window is wiped; parity results replace each
    /// other per file and come back newest file first; promotions come back newest first with their override reasons.
    static func parity(_ ledger: any LedgerStore) async throws -> [String] {
        var seen: [String] = []
        let run = try await ledger.startRun(command: "run", host: "h", pid: 1, feeds: ["f"])
        var ids: [Int64] = []
        for name in ["a.csv", "b.csv", "c.csv"] {
            let file = try await ledger.discover(
                runID: run, feed: "f", origin: .folder, transport: "folder", path: "in/\(name)", name: name, size: 1, mtime: t0, reason: "stable")
            try await ledger.setDownloaded(
                id: file.id, runID: run, sha256: String(repeating: String(name.prefix(1)), count: 64), size: 1, localPath: "/w")
            _ = try await ledger.stage(fileID: file.id, runID: run) { writer in
                try writer.accepted(line: 2, key: "k2", method: "PUT", path: "/p/1", body: #"{"a":1}"#, shadow: true)
                try writer.rejected(line: 3, key: nil, problemsJSON: #"[{"field":"dob","code":"type-error","message":"not a date"}]"#)
                try writer.accepted(line: 4, key: "k4", method: "PUT", path: "/p/2", body: #"{"a":2}"#, shadow: true)
                return StageDecision(state: .shadowed, rowsRead: 3, accepted: 2, rejected: 1, warnings: 0, summaryJSON: "{}")
            }
            ids.append(file.id)
        }
        let planned = try await ledger.plannedRecords(fileID: ids[0], afterSeq: 1, limit: 5)
        #expect(planned.map(\.seq) == [2, 3], "every record after seq 1, rejected ones too")
        #expect(planned.map(\.body) == [nil, #"{"a":2}"#], "a shadow record keeps its planned body")
        #expect(planned.first?.problem != nil)
        seen += planned.map { "\($0.seq) line \($0.line) \($0.outcome.rawValue) \($0.method ?? "-") \($0.path ?? "-") \($0.body ?? "-")" }

        #expect(try await ledger.wipeShadowBodies(feed: "f", before: Date().addingTimeInterval(-86_400)) == 0, "inside the window")
        #expect(try await ledger.wipeShadowBodies(feed: "g", before: Date().addingTimeInterval(86_400)) == 0, "another feed's window")
        #expect(try await ledger.wipeShadowBodies(feed: "f", before: Date().addingTimeInterval(86_400)) == 6)
        #expect(try await ledger.plannedRecords(fileID: ids[2], afterSeq: 0, limit: 5).allSatisfy { $0.body == nil })
        #expect(try await ledger.plannedRecords(fileID: ids[2], afterSeq: 0, limit: 5).map(\.method) == ["PUT", nil, "PUT"], "the call stays")

        let comparedAt = Date(timeIntervalSince1970: 1_700_000_000)
        for (index, id) in ids.enumerated() {
            let summary = ParitySummary(feed: "f", fileID: id, fileName: "n\(index)", comparedAt: comparedAt, rowsCompared: 10, rowsAgreed: 7 + index)
            try await ledger.recordParity(ParityResult(summary: summary, readBack: ["noOp": index], reportPath: "/r/\(index).json"))
        }
        let again = ParitySummary(feed: "f", fileID: ids[0], fileName: "n0", comparedAt: comparedAt + 60, rowsCompared: 10, rowsAgreed: 10)
        try await ledger.recordParity(ParityResult(summary: again, readBack: ["wouldChange": 1], reportPath: nil))
        let history = try await ledger.parityHistory(feed: "f", limit: 2)
        #expect(history.map(\.fileID) == [ids[2], ids[1]], "newest file first")
        #expect(history.first?.agreement == 0.9)
        #expect(try await ledger.parityHistory(feed: "g", limit: 5).isEmpty)
        let replaced = try await ledger.parity(fileID: ids[0])
        #expect(replaced?.summary == again && replaced?.readBack == ["wouldChange": 1] && replaced?.reportPath == nil, "a comparison replaces")
        seen += try await ledger.parityHistory(feed: "f", limit: 5).map { "\($0.fileName) \($0.rowsAgreed)/\($0.rowsCompared)" }

        try await ledger.recordPromotion(
            Promotion(feed: "f", from: "shadow", to: "live", at: comparedAt, by: "ops", evidence: "3 files", overrideReason: nil))
        try await ledger.recordPromotion(
            Promotion(feed: "f", from: "live", to: "retired", at: comparedAt + 1, by: "ops", evidence: "busy folder", overrideReason: "partner moved")
        )
        let promotions = try await ledger.promotions(feed: "f", limit: 5)
        #expect(promotions.map(\.to) == ["retired", "live"])
        #expect(promotions.first?.overrideReason == "partner moved" && promotions.first?.at == comparedAt + 1)
        #expect(try await ledger.promotions(feed: "g", limit: 5).isEmpty)
        seen += promotions.map { "\($0.from)->\($0.to) by \($0.by): \($0.evidence) / \($0.overrideReason ?? "-")" }
        return seen
    }
}
