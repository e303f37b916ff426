import Foundation
import Ledger
import Testing

extension LedgerScenario {
    /// Retention with a clock on either side of the files' finishing: nothing inside its period is touched, nothing of
    /// an unfinished file ever, records held for a problems feed stay, each removal is counted once.
    static func retention(_ ledger: any LedgerStore) async throws -> [String] {
        var seen: [String] = []
        func counted(_ step: (files: Int, records: Int)) -> [Int] { [step.files, step.records] }
        let run = try await ledger.startRun(command: "run", host: "h", pid: 1, feeds: ["f", "g"])
        func file(_ feed: String, _ name: String, _ records: @escaping @Sendable (any StagingWriter) throws -> Void) async throws -> FileRow {
            let row = try await ledger.discover(
                runID: run, feed: feed, origin: .folder, transport: "folder", path: "\(feed)/in/\(name)", name: name, size: 1, mtime: t0,
                reason: "stable")
            try await ledger.setDownloaded(
                id: row.id, runID: run, sha256: String(repeating: name.first!, count: 64), size: 1, localPath: "/w/\(row.id)")
            _ = try await ledger.stage(fileID: row.id, runID: run) { writer in
                try records(writer)
                return StageDecision(state: .parsed, rowsRead: writer.written, accepted: 0, rejected: 0, warnings: 0, summaryJSON: "{}")
            }
            return row
        }
        func finish(_ row: FileRow, _ state: FileState, archivedTo path: String?) async throws {
            try await ledger.setState(id: row.id, runID: run, state: state)
            if let path {
                try await ledger.planArchive(id: row.id, path: path)
                try await ledger.markArchived(id: row.id)
            } else {
                try await ledger.markArchiveSkipped(id: row.id)
            }
        }
        // a: published and archived, one body left behind on a record never acknowledged; b: still publishing;
        // c: feed g, whose refused rows a problems feed has not sent yet; d: quarantined, no records.
        let a = try await file("f", "a") { writer in
            try writer.accepted(line: 1, key: "a1", method: "PUT", path: "/p/1", body: #"{"n":1}"#, shadow: false)
            try writer.accepted(line: 2, key: "a2", method: "PUT", path: "/p/2", body: #"{"n":2}"#, shadow: false)
            try writer.rejected(line: 3, key: nil, problemsJSON: "[]")
        }
        try await ledger.acknowledge(
            fileID: a.id, [RecordAcknowledgement(seq: 1, outcome: .published, apiStatus: 204, replayed: false, problem: nil)])
        try await finish(a, .published, archivedTo: "f/processed/a")
        let b = try await file("f", "b") { writer in
            try writer.accepted(line: 1, key: "b1", method: "PUT", path: "/p/3", body: #"{"n":3}"#, shadow: false)
        }
        try await ledger.setState(id: b.id, runID: run, state: .publishing)
        let c = try await file("g", "c") { writer in try writer.rejected(line: 1, key: nil, problemsJSON: "[]") }
        try await finish(c, .published, archivedTo: "g/processed/c")
        let d = try await file("f", "d") { _ in }
        try await ledger.markQuarantined(id: d.id, runID: run, code: "binary-file", message: "binary")
        try await finish(d, .quarantined, archivedTo: "f/quarantine/d")

        // Inside every period: nothing is due, nothing goes.
        let early = Date().addingTimeInterval(-3600)
        #expect(try await ledger.archivedCopiesDue(before: early, afterID: nil, limit: 10).isEmpty)
        for retentionClass in [RetentionClass.archivedFiles, .recordBodies, .records] {
            #expect(try await ledger.retentionDue(retentionClass, before: early, holds: [:]).count == 0, "\(retentionClass)")
        }
        #expect(counted(try await ledger.wipeRecordBodies(before: early, runID: run, files: 10)) == [0, 0])
        #expect(counted(try await ledger.deleteRecords(before: early, holds: [:], runID: run, files: 10)) == [0, 0])

        // Past every period.
        let late = Date().addingTimeInterval(3600)
        let due = try await ledger.archivedCopiesDue(before: late, afterID: nil, limit: 10)
        #expect(due.map(\.id) == [a.id, c.id, d.id], "finished and archived, in id order; b is unfinished")
        #expect(try await ledger.archivedCopiesDue(before: late, afterID: a.id, limit: 1).map(\.id) == [c.id])
        #expect(try await ledger.retentionDue(.archivedFiles, before: late, holds: [:]).count == 3)
        #expect(try await ledger.recordArchivedCopyRemoved(fileID: a.id, runID: run, bytes: 10))
        #expect(try await ledger.recordArchivedCopyRemoved(fileID: a.id, runID: run, bytes: 10) == false, "counted once")
        try await ledger.recordArchivedCopyRemoved(fileID: d.id, runID: run, bytes: 5)
        #expect(try await ledger.archivedCopiesDue(before: late, afterID: nil, limit: 10).map(\.id) == [c.id])

        #expect(try await ledger.retentionDue(.recordBodies, before: late, holds: [:]).count == 1, "a's stale body; b's pending one stays")
        var wiped = 0
        while true {
            let step = try await ledger.wipeRecordBodies(before: late, runID: run, files: 1)
            if step.files == 0 { break }
            wiped += step.records
        }
        #expect(wiped == 1)
        #expect(try await ledger.pendingRecords(fileID: b.id, afterSeq: 0, limit: 10).map(\.body) == [#"{"n":3}"#])
        #expect(try await ledger.pendingRecords(fileID: a.id, afterSeq: 0, limit: 10).map(\.body) == [nil])

        let holds: RecordHolds = ["g": 0]
        #expect(try await ledger.retentionDue(.records, before: late, holds: holds).count == 3, "a's three; c's held; b unfinished")
        #expect(counted(try await ledger.deleteRecords(before: late, holds: holds, runID: run, files: 100)) == [2, 3])
        #expect(counted(try await ledger.deleteRecords(before: late, holds: holds, runID: run, files: 100)) == [0, 0])
        #expect(try await ledger.recordCounts(fileID: c.id) == [.rejected: 1])
        #expect(try await ledger.recordCounts(fileID: b.id) == [.accepted: 1])
        #expect(counted(try await ledger.deleteRecords(before: late, holds: ["g": c.id], runID: run, files: 100)) == [1, 1])
        #expect(try await ledger.recordCounts(fileID: c.id).isEmpty)
        #expect(try await ledger.file(id: a.id)?.state == .published, "the file's row stays")

        try await ledger.countRetention(runID: run, .reports, deleted: 2, bytes: 300, failed: 1, oldestDeleted: t0)
        for retentionClass in RetentionClass.allCases {
            try await ledger.closeRetention(
                runID: run, retentionClass, periodDays: 30, cutoff: late, oldestKept: retentionClass == .reports ? t0 : nil)
        }
        let counts = try await ledger.retentionCounts(runID: run)
        #expect(counts.map(\.retentionClass) == RetentionClass.allCases)
        #expect(counts.map(\.deleted) == [2, 1, 4, 2])
        #expect(counts.map(\.bytes) == [15, 0, 0, 300])
        #expect(counts.first { $0.retentionClass == .archivedFiles }?.oldestKept != nil, "c's archived copy is kept")
        seen += counts.map { count in
            "\(count.retentionClass.rawValue) period \(count.periodDays ?? -1) deleted \(count.deleted) bytes \(count.bytes) failed \(count.failed) "
                + "oldestDeleted \(count.oldestDeleted != nil) oldestKept \(count.oldestKept != nil) cutoff \(count.cutoff != nil)"
        }
        return seen
    }
}
