public import Foundation
import Synchronization

extension MemoryLedger: ParityLedger {
    public func plannedRecords(fileID: Int64, afterSeq: Int, limit: Int) async throws -> [PlannedRecord] {
        state.withLock { state in
            (state.records[fileID] ?? []).lazy.filter { $0.seq > afterSeq }.prefix(limit).map { record in
                PlannedRecord(
                    seq: record.seq, line: record.line, key: record.key, outcome: record.outcome, method: record.method, path: record.path,
                    body: record.body, problem: record.problem)
            }
        }
    }

    @discardableResult
    public func wipeShadowBodies(feed: String, before: Date) async throws -> Int {
        state.withLock { state in
            var wiped = 0
            for file in state.files where file.feed == feed && file.createdAt < before {
                guard var records = state.records[file.id] else { continue }
                for index in records.indices where records[index].outcome == .shadow && records[index].body != nil {
                    records[index].body = nil
                    wiped += 1
                }
                state.records[file.id] = records
            }
            return wiped
        }
    }

    public func recordParity(_ result: ParityResult) async throws {
        state.withLock { $0.parity[result.summary.fileID] = result }
    }

    public func parityHistory(feed: String, limit: Int) async throws -> [ParitySummary] {
        state.withLock { state in
            Array(state.parity.values.filter { $0.summary.feed == feed }.map(\.summary).sorted { $0.fileID > $1.fileID }.prefix(limit))
        }
    }

    public func parity(fileID: Int64) async throws -> ParityResult? {
        state.withLock { $0.parity[fileID] }
    }

    public func recordPromotion(_ promotion: Promotion) async throws {
        state.withLock { $0.promotions.append(promotion) }
    }

    public func promotions(feed: String, limit: Int) async throws -> [Promotion] {
        state.withLock { state in Array(state.promotions.filter { $0.feed == feed }.reversed().prefix(limit)) }
    }
}
