public import Foundation
import Synchronization

extension MemoryLedger: ArrivalLedger {
    public func firstArrival(feed: String, from: Date, before: Date) async throws -> Date? {
        state.withLock { state in
            state.files.filter { file in
                file.feed == feed && file.state != .left && file.state != .duplicate && file.replayOf == nil && file.createdAt >= from
                    && file.createdAt < before
            }.map(\.createdAt).min()
        }
    }
}
