import Foundation
import Synchronization

extension MemoryLedger: RecordLedger {
    /// `body` runs on the caller's task; its records replace the file's only once it has returned.
    public func stage(
        fileID: Int64, runID: Int64,
        _ body: @escaping @Sendable (any StagingWriter) throws -> StageDecision
    ) async throws -> StageDecision {
        let writer = MemoryStagingWriter()
        let decision = try body(writer)
        let staged = decision.state == .quarantined ? [] : writer.records
        state.withLock { state in
            state.records[fileID] = staged
            guard let index = state.fileIndex(fileID) else { return }
            state.files[index].state = decision.state
            state.files[index].lastRunID = runID
            state.files[index].rowsRead = decision.rowsRead
            state.files[index].accepted = decision.accepted
            state.files[index].rejected = decision.rejected
            state.files[index].warnings = decision.warnings
            if let message = decision.refusalMessage { state.files[index].reason = message }
            state.files[index].errorCode = decision.refusalCode
            state.files[index].errorMessage = decision.refusalMessage
            state.files[index].published = 0
            state.files[index].failed = 0
            state.files[index].updatedAt = Date()
        }
        return decision
    }

    public func pendingRecords(fileID: Int64, afterSeq: Int, limit: Int) async throws -> [PendingRecord] {
        state.withLock { state in
            let pending = (state.records[fileID] ?? []).lazy.filter { $0.seq > afterSeq && $0.outcome == .accepted }.prefix(limit)
            return pending.map { record in
                PendingRecord(
                    seq: record.seq, line: record.line, key: record.key ?? "", method: record.method ?? "", path: record.path ?? "",
                    body: record.body)
            }
        }
    }

    public func acknowledge(fileID: Int64, _ acknowledgements: [RecordAcknowledgement]) async throws {
        state.withLock { state in
            guard var records = state.records[fileID] else { return }
            for acknowledgement in acknowledgements {
                let index = acknowledgement.seq - 1
                guard records.indices.contains(index), records[index].outcome == .accepted else { continue }
                records[index].outcome = acknowledgement.outcome
                records[index].apiStatus = acknowledgement.apiStatus
                records[index].replayed = acknowledgement.replayed
                records[index].problem = acknowledgement.problem
                records[index].body = nil
            }
            state.records[fileID] = records
        }
    }

    public func recordCounts(fileID: Int64) async throws -> [RecordOutcome: Int] {
        state.withLock { state in
            (state.records[fileID] ?? []).reduce(into: [:]) { counts, record in counts[record.outcome, default: 0] += 1 }
        }
    }

    @discardableResult
    public func refreshPublishCounts(fileID: Int64) async throws -> (published: Int, failed: Int, pending: Int) {
        let counts = try await recordCounts(fileID: fileID)
        let published = counts[.published] ?? 0
        let failed = counts[.failed] ?? 0
        state.withLock { state in
            guard let index = state.fileIndex(fileID) else { return }
            state.files[index].published = published
            state.files[index].failed = failed
            state.files[index].updatedAt = Date()
        }
        return (published, failed, counts[.accepted] ?? 0)
    }

    public func records(fileID: Int64, outcomes: [RecordOutcome], limit: Int) async throws -> [RecordRow] {
        state.withLock { state in
            let chosen = (state.records[fileID] ?? []).lazy.filter { outcomes.contains($0.outcome) }.prefix(limit)
            return chosen.map { record in
                RecordRow(
                    fileID: fileID, seq: record.seq, line: record.line, key: record.key, outcome: record.outcome,
                    apiStatus: record.apiStatus, problem: record.problem)
            }
        }
    }

    public func outcomes(feed: String, sha256: String) async throws -> [String: RecordOutcome] {
        state.withLock { state in
            var found: [String: RecordOutcome] = [:]
            for file in state.files where file.feed == feed && file.sha256 == sha256 {
                for record in state.records[file.id] ?? [] {
                    guard let key = record.key else { continue }
                    if found[key] != .published { found[key] = record.outcome }
                }
            }
            return found
        }
    }
}

/// Staging into memory: the records a ``MemoryLedger`` keeps once `stage`'s body has returned.
final class MemoryStagingWriter: StagingWriter {
    private(set) var records: [MemoryLedger.StoredRecord] = []

    var written: Int { records.count }

    func accepted(line: Int, key: String, method: String, path: String, body: String?, shadow: Bool) throws {
        records.append(
            MemoryLedger.StoredRecord(
                seq: records.count + 1, line: line, key: key, outcome: shadow ? .shadow : .accepted, method: method, path: path,
                body: body))
    }

    func rejected(line: Int, key: String?, problemsJSON: String) throws {
        records.append(
            MemoryLedger.StoredRecord(
                seq: records.count + 1, line: line, key: key, outcome: .rejected, method: nil, path: nil, problem: problemsJSON))
    }
}
