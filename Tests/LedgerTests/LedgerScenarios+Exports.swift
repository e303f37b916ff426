import Foundation
import Ledger
import Testing

extension LedgerScenario {
    /// Two outbound feeds through plan, write, progress, failure, resume, delivery and resend, with every refusal the
    /// invariants call for.
    static func exports(_ ledger: any LedgerStore) async throws -> [String] {
        var seen: [String] = []
        func note(_ row: ExportRow?) { seen.append(Transcript.export(row)) }
        func refusal(_ expected: ExportLedgerError, _ step: () async throws -> ExportRow) async {
            do {
                let row = try await step()
                Issue.record("expected \(expected), got export #\(row.id) \(row.state)")
            } catch let error as ExportLedgerError {
                #expect(error == expected)
                seen.append("refused: \(error)")
            } catch {
                Issue.record("expected \(expected), got \(error)")
            }
        }
        let shaA = String(repeating: "a", count: 64)
        let shaB = String(repeating: "b", count: 64)
        let run = try await ledger.startRun(command: "export", host: "h", pid: 1, feeds: ["capita-new"])

        #expect(try await ledger.watermark(feed: "capita-new") == nil)
        await refusal(.notContiguous(feed: "capita-new", watermark: nil, after: "5.1")) {
            try await ledger.planExport(
                feed: "capita-new", runID: run, range: ExportRange(after: "5.1", upTo: "9.9"), fileName: "x", destination: "d")
        }
        let first = try await ledger.planExport(
            feed: "capita-new", runID: run, range: ExportRange(after: nil, upTo: "10.4"), fileName: "Reg01_DTR_20261206_030000_New.txt",
            destination: "sftp capita/outbound")
        #expect(first.state == .planned && first.attempts == 1)
        note(first)
        let again = try await ledger.planExport(
            feed: "capita-new", runID: run, range: first.range, fileName: first.fileName, destination: first.destination)
        #expect(again.id == first.id)
        await refusal(.unfinishedExport(feed: "capita-new", id: first.id)) {
            try await ledger.planExport(feed: "capita-new", runID: run, range: ExportRange(after: nil, upTo: "11.0"), fileName: "y", destination: "d")
        }
        await refusal(.notWritten(id: first.id)) { try await ledger.markProgress(id: first.id, .uploaded) }
        await refusal(.notWritten(id: first.id)) { try await ledger.markDelivered(id: first.id) }
        note(try await ledger.markWritten(id: first.id, records: 3, size: 258, sha256: shaA))
        note(try await ledger.markProgress(id: first.id, .uploaded))
        note(try await ledger.markExportFailed(id: first.id, reason: "sftp: connection lost during upload"))
        #expect(try await ledger.unfinishedExport(feed: "capita-new")?.id == first.id)

        let second = try await ledger.startRun(command: "export", host: "h", pid: 2, feeds: ["capita-new"])
        let resumed = try await ledger.resumeExport(id: first.id, runID: second)
        #expect(resumed.attempts == 2 && resumed.lastRunID == second && resumed.state == .failed)
        await refusal(.contentChanged(id: first.id, recorded: shaA, now: shaB)) {
            try await ledger.markWritten(id: first.id, records: 3, size: 258, sha256: shaB)
        }
        note(try await ledger.markWritten(id: first.id, records: 3, size: 258, sha256: shaA))
        note(try await ledger.markProgress(id: first.id, .verified))
        let delivered = try await ledger.markDelivered(id: first.id)
        #expect(delivered.state == .delivered && delivered.failureReason == nil && delivered.deliveredAt != nil)
        note(delivered)
        #expect(try await ledger.markDelivered(id: first.id) == delivered)
        let watermark = try #require(try await ledger.watermark(feed: "capita-new"))
        #expect(watermark.cursor == "10.4" && watermark.exportID == first.id)
        #expect(try await ledger.unfinishedExport(feed: "capita-new") == nil)
        await refusal(.alreadyDelivered(id: first.id)) { try await ledger.markExportFailed(id: first.id, reason: "late") }
        await refusal(.alreadyDelivered(id: first.id)) { try await ledger.markWritten(id: first.id, records: 3, size: 258, sha256: shaA) }

        await refusal(.notContiguous(feed: "capita-new", watermark: "10.4", after: nil)) {
            try await ledger.planExport(
                feed: "capita-new", runID: second, range: ExportRange(after: nil, upTo: "12.0"), fileName: "z", destination: "d")
        }
        await refusal(.fileNameTaken(feed: "capita-new", name: first.fileName)) {
            try await ledger.planExport(
                feed: "capita-new", runID: second, range: ExportRange(after: "10.4", upTo: "12.0"), fileName: first.fileName, destination: "d")
        }
        let empty = try await ledger.planExport(
            feed: "capita-new", runID: second, range: ExportRange(after: "10.4", upTo: "10.4"), fileName: "Reg01_DTR_20261207_030000_New.txt",
            destination: "sftp capita/outbound")
        #expect(empty.range.isEmpty)
        await refusal(.notDelivered(id: empty.id)) { try await ledger.planResend(of: empty.id, runID: second, destination: "d") }
        _ = try await ledger.markWritten(id: empty.id, records: 0, size: 0, sha256: shaB)
        note(try await ledger.markDelivered(id: empty.id))
        #expect(try await ledger.watermark(feed: "capita-new")?.cursor == "10.4")

        let other = try await ledger.planExport(
            feed: "prohibitions", runID: second, range: ExportRange(after: nil, upTo: nil), fileName: "prohibitions-20261207.csv",
            destination: "outbox")
        note(other)

        let resend = try await ledger.planResend(of: first.id, runID: second, destination: "folder /tmp/resend")
        #expect(resend.resendOf == first.id && resend.fileName == first.fileName && resend.sha256 == shaA && resend.range == first.range)
        note(resend)
        #expect(try await ledger.planResend(of: first.id, runID: second, destination: "elsewhere").id == resend.id)
        await refusal(.contentChanged(id: resend.id, recorded: shaA, now: shaB)) {
            try await ledger.markWritten(id: resend.id, records: 3, size: 258, sha256: shaB)
        }
        _ = try await ledger.markWritten(id: resend.id, records: 3, size: 258, sha256: shaA)
        note(try await ledger.markDelivered(id: resend.id))
        #expect(try await ledger.watermark(feed: "capita-new")?.exportID == empty.id)
        await refusal(.unknownExport(id: 99)) { try await ledger.resumeExport(id: 99, runID: second) }

        // A range with nothing to send settles the watermark with no export; an unfinished export comes first.
        func settle(_ feed: String, _ range: ExportRange) async {
            do {
                let watermark = try await ledger.settleEmptyRange(feed: feed, range: range)
                seen.append("settled \(feed) at \(watermark.cursor ?? "start") export \(watermark.exportID.map(String.init) ?? "-")")
            } catch {
                seen.append("refused: \(error)")
            }
        }
        await settle("prohibitions", ExportRange(after: nil, upTo: nil))
        await settle("gtcs", ExportRange(after: nil, upTo: nil))
        let firstCheck = try #require(try await ledger.watermark(feed: "gtcs")?.checkedAt)
        await settle("gtcs", ExportRange(after: "3.1", upTo: "4.0"))
        await settle("gtcs", ExportRange(after: nil, upTo: "3.1"))
        let settled = try #require(try await ledger.watermark(feed: "gtcs"))
        #expect(settled.cursor == "3.1" && settled.exportID == nil && settled.deliveredAt == nil && settled.checkedAt >= firstCheck)
        let afterEmpty = try await ledger.planExport(
            feed: "gtcs", runID: second, range: ExportRange(after: "3.1", upTo: "5.0"), fileName: "gtcs-1.csv", destination: "d")
        _ = try await ledger.markWritten(id: afterEmpty.id, records: 1, size: 10, sha256: shaA)
        #expect(try await ledger.markDelivered(id: afterEmpty.id).state == .delivered)
        #expect(try await ledger.watermark(feed: "gtcs")?.exportID == afterEmpty.id)
        await settle("gtcs", ExportRange(after: "5.0", upTo: "5.0"))
        #expect(try await ledger.watermark(feed: "gtcs")?.exportID == afterEmpty.id)

        let byRun = try await ledger.exports(runID: second)
        #expect(byRun.map(\.id) == [first.id, empty.id, other.id, resend.id, afterEmpty.id])
        let newest = try await ledger.exports(feed: "capita-new", limit: 2)
        #expect(newest.map(\.id) == [resend.id, empty.id])
        let summaries = try await ledger.exportSummaries()
        #expect(summaries.map(\.feed) == ["capita-new", "gtcs", "prohibitions"])
        #expect(summaries.map(\.delivered) == [3, 1, 0] && summaries.map(\.pending) == [0, 0, 1])
        #expect(summaries.map { $0.lastDelivered?.id } == [resend.id, afterEmpty.id, nil])
        seen += summaries.map { "\($0.feed) delivered \($0.delivered) pending \($0.pending) last \(Transcript.export($0.lastDelivered))" }
        return seen
    }
}

extension Transcript {
    /// An export without its clock readings (only which times are set).
    static func export(_ row: ExportRow?) -> String {
        guard let row else { return "no export" }
        let times = [row.writtenAt, row.uploadedAt, row.verifiedAt, row.deliveredAt].map { $0 == nil ? "-" : "t" }.joined()
        return [
            "#\(row.id) run \(row.runID)/\(row.lastRunID)", row.feed, "\(row.range)", row.fileName, row.destination,
            "records \(row.records.map(String.init) ?? "-") size \(row.size.map(String.init) ?? "-") sha \(row.sha256 ?? "-")",
            row.state.rawValue, "reason \(row.failureReason ?? "-")", "attempts \(row.attempts)",
            "resendOf \(row.resendOf.map(String.init) ?? "-")", "times \(times)",
        ].joined(separator: " | ")
    }
}
