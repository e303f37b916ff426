import Foundation
import Ledger
import Testing

/// Scenarios that exercise one concern of the ledger each, asserting what any store must do and returning a transcript
/// of everything observed, so that ``MemoryLedger`` can be held to ``PostgresLedger``'s behaviour.
enum LedgerScenario: String, CaseIterable, Sendable, CustomStringConvertible {
    case runs, listings, fileStates, records, exports, retention, runLock, parity

    var description: String { rawValue }

    func play(_ ledger: any LedgerStore) async throws -> [String] {
        switch self {
        case .runs: try await Self.runs(ledger)
        case .listings: try await Self.listings(ledger)
        case .fileStates: try await Self.fileStates(ledger)
        case .records: try await Self.records(ledger)
        case .exports: try await Self.exports(ledger)
        case .retention: try await Self.retention(ledger)
        case .runLock: try await Self.runLock(ledger)
        case .parity: try await Self.parity(ledger)
        }
    }

    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)
    static let sha = String(repeating: "a", count: 64)

    static func runs(_ ledger: any LedgerStore) async throws -> [String] {
        var seen: [String] = []
        let first = try await ledger.startRun(command: "run", host: "h", pid: 1, feeds: ["f", "g"])
        let second = try await ledger.startRun(command: "replay", host: "h", pid: 2, feeds: ["f"])
        #expect(try await ledger.runningRun()?.id == second)
        let interrupted = try await ledger.markInterruptedRuns(exceptRun: second)
        #expect(interrupted == [first])
        let stopped = try await ledger.run(id: first)
        #expect(stopped?.status == .interrupted)
        #expect(stopped?.finishedAt != nil)
        seen.append(Transcript.run(stopped))
        try await ledger.finishRun(
            id: second, status: .refusals, exitStatus: 1, countsJSON: #"{"files":2,"rejected":1}"#, summary: "done", error: nil)
        #expect(try await ledger.runningRun() == nil)
        let recent = try await ledger.recentRuns(limit: 1)
        #expect(recent.map(\.id) == [second])
        seen += recent.map(Transcript.run)
        seen.append(Transcript.run(try await ledger.run(id: 99)))
        return seen
    }

    static func listings(_ ledger: any LedgerStore) async throws -> [String] {
        func describe(_ seen: ListingObservation) -> String {
            "size \(seen.size) listings \(seen.listings) first \(seen.firstSeen.timeIntervalSince1970) last \(seen.lastSeen.timeIntervalSince1970)"
        }
        let first = try await ledger.observe(feed: "f", path: "in/a.csv", size: 10, mtime: t0, now: t0)
        let same = try await ledger.observe(feed: "f", path: "in/a.csv", size: 10, mtime: t0, now: t0 + 60)
        #expect(same.firstSeen == t0 && same.listings == 2)
        try await ledger.noteDecision(feed: "f", path: "in/a.csv", decision: "left: too young")
        let grown = try await ledger.observe(feed: "f", path: "in/a.csv", size: 12, mtime: t0 + 30, now: t0 + 120)
        #expect(grown.firstSeen == t0 + 120 && grown.listings == 1)
        let other = try await ledger.observe(feed: "g", path: "in/a.csv", size: 10, mtime: t0, now: t0 + 120)
        #expect(other.listings == 1)
        return [first, same, grown, other].map(describe)
    }

    static func fileStates(_ ledger: any LedgerStore) async throws -> [String] {
        var seen: [String] = []
        let run1 = try await ledger.startRun(command: "run", host: "h", pid: 1, feeds: ["f"])
        try await ledger.recordLeft(
            runID: run1, feed: "f", origin: .sftp, transport: "sftp", path: "in/a.csv", name: "a.csv", size: 10, mtime: t0, reason: "too young")
        let run2 = try await ledger.startRun(command: "run", host: "h", pid: 2, feeds: ["f"])
        try await ledger.recordLeft(
            runID: run2, feed: "f", origin: .sftp, transport: "sftp", path: "in/a.csv", name: "a.csv", size: 12, mtime: t0 + 1, reason: "growing")
        let leftRows = try await ledger.files(runID: run2)
        #expect(leftRows.count == 1, "one left row per path, updated in place")
        #expect(try await ledger.takenFile(feeds: ["f"], path: "in/a.csv", size: 12, mtime: t0 + 1) == nil, "left files are not taken")
        #expect(try await ledger.unfinishedFiles(feeds: nil).isEmpty, "left files are not unfinished")

        let a = try await ledger.discover(
            runID: run2, feed: "f", origin: .sftp, transport: "sftp", path: "in/a.csv", name: "a.csv", size: 12, mtime: t0 + 1, reason: "stable")
        #expect(a.id == leftRows.first?.id && a.state == .discovered, "the left row is taken")
        #expect(try await ledger.takenFile(feeds: ["f", "x"], path: "in/a.csv", size: 12, mtime: t0 + 1)?.id == a.id)
        #expect(try await ledger.takenFile(feeds: ["f"], path: "in/a.csv", size: 13, mtime: t0 + 1) == nil)
        try await ledger.setDownloaded(id: a.id, runID: run2, sha256: sha, size: 99, localPath: "/work/1")
        _ = try await ledger.stage(fileID: a.id, runID: run2) { _ in
            StageDecision(state: .parsed, rowsRead: 0, accepted: 0, rejected: 0, warnings: 0, summaryJSON: "{}")
        }

        let b = try await ledger.discover(
            runID: run2, feed: "f", origin: .folder, transport: "folder", path: "in/b.csv", name: "b.csv", size: nil, mtime: nil, reason: "stable")
        try await ledger.recordError(id: b.id, runID: run2, code: "fetch-failed", message: "timeout")
        try await ledger.setDownloaded(id: b.id, runID: run2, sha256: sha, size: 12, localPath: "/work/2")
        let original = try await ledger.original(feed: "f", sha256: sha, excluding: b.id)
        #expect(original?.id == a.id)
        #expect(try await ledger.original(feed: "f", sha256: sha, excluding: a.id) == nil, "a downloaded file is not an original")
        try await ledger.markDuplicate(id: b.id, runID: run2, of: a.id, reason: "same content as 1")

        let mail = try await ledger.discover(
            runID: run2, feed: "mail:drop", origin: .mail, transport: "folder", path: "mail/m.eml", name: "m.eml", size: 5, mtime: t0,
            reason: "mail")
        try await ledger.setRouted(id: mail.id, feed: "g", sender: "a@example.org", attachments: ["x.csv", "y.csv"])
        try await ledger.markQuarantined(id: mail.id, runID: run2, code: "sender", message: "sender not allowed")

        let replay = try await ledger.discover(
            runID: run2, feed: "f", origin: .replay, transport: "folder", path: "in/a.csv", name: "a.csv", size: 12, mtime: t0 + 1,
            reason: "replay", replayOf: a.id)
        try await ledger.setState(id: replay.id, runID: run2, state: .gone)

        let unfinished = try await ledger.unfinishedFiles(feeds: ["f"])
        #expect(unfinished.map(\.id) == [a.id, b.id, mail.id, replay.id], "mail drops are always resumed")
        #expect(try await ledger.unfinishedFiles(feeds: ["h"]).map(\.id) == [mail.id])

        try await ledger.setState(id: a.id, runID: run2, state: .publishing)
        try await ledger.setState(id: a.id, runID: run2, state: .published, reason: "all acknowledged")
        try await ledger.planArchive(id: a.id, path: "archive/a.csv")
        try await ledger.markArchived(id: a.id)
        try await ledger.markArchiveSkipped(id: b.id)
        try await ledger.markArchiveSkipped(id: replay.id)
        try await ledger.markArchived(id: mail.id, note: "moved to quarantine")
        #expect(try await ledger.unfinishedFiles(feeds: nil).isEmpty)
        #expect(try await ledger.latestFile(feed: "f", sha256: sha)?.id == b.id)

        let run3 = try await ledger.startRun(command: "run", host: "h", pid: 3, feeds: ["f"])
        try await ledger.recordLeft(
            runID: run3, feed: "f", origin: .sftp, transport: "sftp", path: "in/c.csv", name: "c.csv", size: 1, mtime: t0, reason: "too young")
        let c = try await ledger.discover(
            runID: run3, feed: "f", origin: .sftp, transport: "folder", path: "in/c.csv", name: "c.csv", size: 1, mtime: t0, reason: "other transport"
        )
        let leftC = try await ledger.files(runID: run3).filter { $0.state == .left }
        #expect(leftC.count == 1 && leftC.first?.id != c.id, "a left row of another transport is not taken")

        // Ids are increasing but may have gaps (PostgreSQL's sequence advances on every upsert): compare their order.
        var byID: [Int64: FileRow] = [:]
        for run in [run1, run2, run3] {
            for file in try await ledger.files(runID: run) { byID[file.id] = file }
        }
        let all = byID.values.sorted { $0.id < $1.id }
        let ranks = Transcript.ranks(all.map(\.id))
        seen += all.map { Transcript.file($0, ranks: ranks) }
        seen.append(Transcript.file(try await ledger.file(id: (all.map(\.id).max() ?? 0) + 100), ranks: ranks))
        seen.append("run2: \(try await ledger.files(runID: run2).map { ranks[$0.id] ?? 0 })")
        seen.append("run3: \(try await ledger.files(runID: run3).map { ranks[$0.id] ?? 0 })")
        seen += try await ledger.fileCountsByState().map { "\($0.feed) \($0.state.rawValue) \($0.count)" }
        seen += try await ledger.lastFilePerFeed().map { "last \($0.feed) #\(ranks[$0.id] ?? 0)" }
        let ofFeed = try await ledger.files(feed: "f", afterID: nil, limit: 10)
        #expect(ofFeed.map(\.id) == [a.id, b.id, c.id], "left rows and replays are not among a feed's files")
        #expect(try await ledger.files(feed: "f", afterID: a.id, limit: 1).map(\.id) == [b.id])
        seen.append("files of f: \(ofFeed.map { ranks[$0.id] ?? 0 })")
        return seen
    }

    static func records(_ ledger: any LedgerStore) async throws -> [String] {
        var seen: [String] = []
        let run = try await ledger.startRun(command: "run", host: "h", pid: 1, feeds: ["f"])
        let file = try await ledger.discover(
            runID: run, feed: "f", origin: .folder, transport: "folder", path: "in/a.csv", name: "a.csv", size: 1, mtime: t0, reason: "stable")
        try await ledger.setDownloaded(id: file.id, runID: run, sha256: sha, size: 1, localPath: "/work/1")
        let decision = try await ledger.stage(fileID: file.id, runID: run) { writer in
            try writer.accepted(line: 2, key: "k2", method: "PUT", path: "/p/1", body: #"{"a":1}"#, shadow: false)
            try writer.accepted(line: 3, key: "k3", method: "PUT", path: "/p/2", body: #"{"a":2}"#, shadow: true)
            try writer.rejected(line: 4, key: nil, problemsJSON: #"[{"code":"type-error","message":"not a date"}]"#)
            try writer.accepted(line: 5, key: "k5", method: "POST", path: "/p/3", body: nil, shadow: false)
            try writer.accepted(line: 6, key: "k6", method: "PUT", path: "/p/4", body: #"{"a":4}"#, shadow: false)
            #expect(writer.written == 5)
            return StageDecision(state: .parsed, rowsRead: 5, accepted: 4, rejected: 1, warnings: 2, summaryJSON: #"{"rows":5}"#)
        }
        #expect(decision.accepted == 4)
        seen.append(Transcript.file(try await ledger.file(id: file.id), ranks: [file.id: 1]))

        let firstPage = try await ledger.pendingRecords(fileID: file.id, afterSeq: 0, limit: 2)
        #expect(firstPage.map(\.seq) == [1, 4], "shadow and rejected records are not pending")
        let secondPage = try await ledger.pendingRecords(fileID: file.id, afterSeq: 4, limit: 2)
        #expect(secondPage.map(\.seq) == [5])
        seen += (firstPage + secondPage).map(Transcript.pending)

        try await ledger.acknowledge(
            fileID: file.id,
            [
                RecordAcknowledgement(seq: 1, outcome: .published, apiStatus: 204, replayed: false, problem: nil),
                RecordAcknowledgement(seq: 4, outcome: .failed, apiStatus: 404, replayed: true, problem: #"{"status":404,"title":"Not found"}"#),
            ])
        try await ledger.acknowledge(
            fileID: file.id,
            [
                RecordAcknowledgement(seq: 1, outcome: .failed, apiStatus: 400, replayed: false, problem: #"{"status":400}"#),
                RecordAcknowledgement(seq: 3, outcome: .published, apiStatus: 204, replayed: false, problem: nil),
            ])
        #expect(try await ledger.pendingRecords(fileID: file.id, afterSeq: 0, limit: 10).map(\.seq) == [5])
        let counts = try await ledger.recordCounts(fileID: file.id)
        #expect(counts == [.published: 1, .failed: 1, .rejected: 1, .shadow: 1, .accepted: 1], "acknowledged once, only while accepted")
        seen.append(Transcript.counts(counts))
        let refreshed = try await ledger.refreshPublishCounts(fileID: file.id)
        #expect(refreshed.published == 1 && refreshed.failed == 1 && refreshed.pending == 1)
        seen.append(Transcript.file(try await ledger.file(id: file.id), ranks: [file.id: 1]))
        seen += try await ledger.records(fileID: file.id, outcomes: [.rejected, .failed, .published], limit: 10).map(Transcript.record)
        seen += try await ledger.records(fileID: file.id, outcomes: RecordOutcome.allCases, limit: 2).map(Transcript.record)

        // A replay of the same content: its published outcome wins over the original's failure.
        let replay = try await ledger.discover(
            runID: run, feed: "f", origin: .replay, transport: "folder", path: "in/a.csv", name: "a.csv", size: 1, mtime: t0, reason: "replay",
            replayOf: file.id)
        try await ledger.setDownloaded(id: replay.id, runID: run, sha256: sha, size: 1, localPath: "/work/2")
        _ = try await ledger.stage(fileID: replay.id, runID: run) { writer in
            try writer.accepted(line: 5, key: "k5", method: "POST", path: "/p/3", body: nil, shadow: false)
            return StageDecision(state: .parsed, rowsRead: 1, accepted: 1, rejected: 0, warnings: 0, summaryJSON: "{}")
        }
        try await ledger.acknowledge(
            fileID: replay.id,
            [
                RecordAcknowledgement(seq: 1, outcome: .published, apiStatus: 200, replayed: true, problem: nil)
            ])
        let outcomes = try await ledger.outcomes(feed: "f", sha256: sha)
        #expect(outcomes == ["k2": .published, "k3": .shadow, "k5": .published, "k6": .accepted])
        seen.append(outcomes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.rawValue)" }.joined(separator: " "))

        // Staging that throws changes nothing; staging that quarantines keeps no records.
        struct Unreadable: Error {}
        await #expect(throws: Unreadable.self) {
            _ = try await ledger.stage(fileID: file.id, runID: run) { writer in
                try writer.accepted(line: 2, key: "k2", method: "PUT", path: "/p/1", body: nil, shadow: false)
                throw Unreadable()
            }
        }
        #expect(try await ledger.recordCounts(fileID: file.id) == counts)
        _ = try await ledger.stage(fileID: file.id, runID: run) { writer in
            try writer.accepted(line: 2, key: "k2", method: "PUT", path: "/p/1", body: nil, shadow: false)
            return StageDecision(
                state: .quarantined, rowsRead: 1, accepted: 1, rejected: 0, warnings: 0, summaryJSON: "{}", refusalCode: "control-total",
                refusalMessage: "control-total at line 9: 3 rows announced, 1 read")
        }
        #expect(try await ledger.recordCounts(fileID: file.id).isEmpty)
        seen.append(Transcript.file(try await ledger.file(id: file.id), ranks: [file.id: 1]))
        return seen
    }

    static func runLock(_ ledger: any LedgerStore) async throws -> [String] {
        let first = try #require(try await ledger.acquireRunLock())
        #expect(try await ledger.acquireRunLock() == nil, "the lock is exclusive")
        try await first.verify()
        await first.release()
        let second = try #require(try await ledger.acquireRunLock(), "a released lock can be taken")
        await #expect(throws: RunLockLost.self, "the released holder cannot take it back while another holds it") {
            try await first.verify()
        }
        await second.release()
        await second.release()
        try await first.verify()
        #expect(try await ledger.acquireRunLock() == nil, "verifying a free lock takes it again")
        await first.release()
        return ["lock scenario done"]
    }
}
