import ChangeFeed
import DQTModel
import FeedMapping
import Foundation
import Ledger

/// Where an outbound feed's items come from, as ranges the ledger can record and read again identically.
///
/// - A change feed's range is two cursors of `GET /v3/changes` (after exclusive, up to inclusive); the change feed
///   answers the same range with the same changes forever.
/// - A problems feed's range is two file ids of its inbound feed (after exclusive, up to inclusive): the refused rows
///   of those files, in file then line order. Its upper end only passes files that are finished (terminal), so a
///   file still being worked on holds the range back until it is; the refused rows of a finished file never change.
struct ExportInput {
    let feed: OutboundFeedDefinition
    let ledger: any LedgerStore
    let changeFeed: (any ChangeFeed)?

    static let pageSize = 5000

    /// The next range: from `after` (the watermark) to what is there now. Empty (`upTo == after`) when there is
    /// nothing new.
    func nextRange(after: String?) async throws -> ExportRange {
        switch feed.input {
        case .changes(let kinds, _):
            // One change is enough: the page's end cursor fixes the range without reading it.
            let page = try await requireChangeFeed().changes(after: after, limit: 1, kinds: kinds)
            ExportFailPoint.pageFetched.hit()
            return ExportRange(after: after, upTo: page.changes.isEmpty ? after : page.endCursor)
        case .problems(let inbound):
            var upTo = after
            var afterID = try fileID(after)
            scan: while true {
                let files = try await ledger.files(feed: inbound, afterID: afterID, limit: 500)
                for file in files {
                    guard file.state.isTerminal else { break scan }
                    upTo = String(file.id)
                    afterID = file.id
                }
                if files.count < 500 { break }
            }
            return ExportRange(after: after, upTo: upTo)
        }
    }

    /// Passes each item of `range` to `body`, in order.
    func forEachItem(in range: ExportRange, _ body: (OutboundItem) throws -> Void) async throws {
        guard !range.isEmpty, let upTo = range.upTo else { return }
        switch feed.input {
        case .changes(let kinds, _):
            let changes = try requireChangeFeed()
            for try await change in PageCountingFeed(base: changes).changes(after: range.after, upTo: upTo, kinds: kinds, pageSize: Self.pageSize) {
                try body(.change(change))
            }
        case .problems(let inbound):
            let last = try fileID(upTo) ?? 0
            var afterID = try fileID(range.after)
            while true {
                let files = try await ledger.files(feed: inbound, afterID: afterID, limit: 100).filter { $0.id <= last }
                for file in files {
                    for record in try await ledger.records(fileID: file.id, outcomes: [.rejected], limit: Int(Int32.max)) {
                        for problem in Self.problems(record) {
                            try body(
                                .problem(
                                    ProblemRow(
                                        file: file.name, line: problem.line ?? record.line, field: problem.field ?? "", code: problem.code,
                                        message: problem.message, trn: nil)))
                        }
                    }
                    afterID = file.id
                }
                if files.count < 100 { return }
            }
        }
    }

    private func requireChangeFeed() throws -> any ChangeFeed {
        guard let changeFeed else { throw ExportFailure("no change feed is configured (the API's settings)") }
        return changeFeed
    }

    private func fileID(_ cursor: String?) throws -> Int64? {
        guard let cursor else { return nil }
        guard let id = Int64(cursor) else { throw ExportFailure("the problems feed's cursor \(cursor) is not a file id") }
        return id
    }

    /// The problems the ledger kept for a refused row (line, field, code, message; never a value).
    static func problems(_ record: RecordRow) -> [(line: Int?, field: String?, code: String, message: String)] {
        guard let text = record.problem, let array = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else { return [] }
        return array.map { object in
            (object["line"] as? Int, object["field"] as? String, object["code"] as? String ?? "", object["message"] as? String ?? "")
        }
    }
}

/// Hits ``ExportFailPoint/pageFetched`` after each page a range reads, so the crash suite can kill between pages.
struct PageCountingFeed: ChangeFeed {
    let base: any ChangeFeed

    func changes(after: String?, limit: Int, kinds: [String]) async throws -> ChangePage {
        let page = try await base.changes(after: after, limit: limit, kinds: kinds)
        ExportFailPoint.pageFetched.hit()
        return page
    }
}

/// An export step that failed in a way the next run can retry; the message has no personal data.
struct ExportFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
