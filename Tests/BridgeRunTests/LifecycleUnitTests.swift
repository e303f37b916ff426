import BridgeRun
import FeedMapping
import FileSources
import Foundation
import Ledger
import Testing

/// The promotion bar, the mapping edit and the legacy outcome file, without services.
@Suite("Lifecycle units: promotion bar, status edit, legacy outcome file")
struct LifecycleUnitTests {
    static func summary(_ id: Int64, _ agreed: Int, of compared: Int = 1000) -> ParitySummary {
        ParitySummary(feed: "f", fileID: id, fileName: "f\(id)", comparedAt: Date(), rowsCompared: compared, rowsAgreed: agreed)
    }

    @Test("shadow -> live: refused without K compared files, below the bar or with a newer uncompared file; allowed at the bar")
    func shadowToLiveBar() {
        let settings = LifecycleSettings()  // 3 files at 99.9 %
        #expect(!PromotionGate.shadowToLive(settings, history: [], newestShadowFileID: nil).allowed)
        let two = [Self.summary(5, 1000), Self.summary(4, 1000)]
        let short = PromotionGate.shadowToLive(settings, history: two, newestShadowFileID: 5)
        #expect(!short.allowed && short.evidence.contains("2 compared shadow files, 3 needed"))
        let below = PromotionGate.shadowToLive(settings, history: two + [Self.summary(3, 998)], newestShadowFileID: 5)
        #expect(!below.allowed && below.evidence.contains("file 3"))
        let atBar = PromotionGate.shadowToLive(settings, history: two + [Self.summary(3, 999)], newestShadowFileID: 5)
        #expect(atBar.allowed, "999 of 1,000 is 99.9 %: \(atBar.evidence)")
        let newer = PromotionGate.shadowToLive(settings, history: two + [Self.summary(3, 999)], newestShadowFileID: 6)
        #expect(!newer.allowed && newer.evidence.contains("shadow file 6"))
    }

    @Test("live -> retired: needs the legacy folder, the quiet period since going live, and no recent file there")
    func retirementBar() {
        var settings = LifecycleSettings()
        let now = Date()
        let day = 86_400.0
        let old = RemoteFile(path: "legacy/a.csv", name: "a.csv", size: 1, mtime: now - 40 * day)
        #expect(!PromotionGate.liveToRetired(settings, liveSince: now - 60 * day, legacyFiles: nil, now: now).allowed, "no legacy folder")
        settings.legacyFolder = "legacy"
        #expect(!PromotionGate.liveToRetired(settings, liveSince: nil, legacyFiles: [old], now: now).allowed, "never recorded live")
        #expect(!PromotionGate.liveToRetired(settings, liveSince: now - 10 * day, legacyFiles: [old], now: now).allowed, "live too briefly")
        let recent = RemoteFile(path: "legacy/b.csv", name: "b.csv", size: 1, mtime: now - 2 * day)
        let busy = PromotionGate.liveToRetired(settings, liveSince: now - 60 * day, legacyFiles: [old, recent], now: now)
        #expect(!busy.allowed && busy.evidence.contains("a file arrived in the legacy folder legacy"))
        #expect(PromotionGate.liveToRetired(settings, liveSince: now - 60 * day, legacyFiles: [old], now: now).allowed)
        #expect(PromotionGate.liveToRetired(settings, liveSince: now - 60 * day, legacyFiles: [], now: now).allowed)
    }

    @Test("the status edit changes only the value of the status line")
    func statusEdit() throws {
        let text = "# feed\r\nid: x\r\nstatus: \"shadow\"   # lifecycle\r\nnotes: |\r\n  status: shadow in a block\r\n"
        let edited = try MappingStatusEdit.replacing(in: text, from: .shadow, to: .live, file: "x.yaml")
        #expect(edited == text.replacingOccurrences(of: "status: \"shadow\"   #", with: "status: \"live\"   #"))
        #expect(throws: MappingStatusEdit.Failure.self) { try MappingStatusEdit.replacing(in: text, from: .live, to: .retired, file: "x.yaml") }
        #expect(throws: MappingStatusEdit.Failure.self) {
            try MappingStatusEdit.replacing(in: "status: live\nstatus: live\n", from: .live, to: .retired, file: "x.yaml")
        }
    }

    static func outcomeFile(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "outcome-\(UInt64.random(in: 0...UInt64.max)).csv"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("the legacy outcome file: header by name, any case and order, extra columns ignored, a quoted message")
    func legacyOutcomeReads() throws {
        let path = try Self.outcomeFile("\u{FEFF}Message,STATUS,Other,line\r\n,success,x,2\r\n\"a, b\",Failure,y,3\r\n\r\nfine,Warning,z,7\r\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        var reader = try LegacyOutcomeReader(path: path)
        var rows: [LegacyOutcome] = []
        while let row = try reader.next() { rows.append(row) }
        #expect(
            rows == [
                LegacyOutcome(line: 2, status: .success, message: nil), LegacyOutcome(line: 3, status: .failure, message: "a, b"),
                LegacyOutcome(line: 7, status: .warning, message: "fine"),
            ])
        #expect(reader.rowsRead == 3)
    }

    @Test(
        "a bad legacy outcome file names its line, field and code",
        arguments: [
            ("Line,Status\n2,Success\n", 1, "Message", "missing-label"),
            ("Line,Status,Message\nx,Success,\n", 2, "Line", "type-error"),
            ("Line,Status,Message\n2,Done,\n", 2, "Status", "constraint-error"),
            ("Line,Status,Message\n3,Success,\n2,Success,\n", 3, "Line", "line-order-error"),
            ("Line,Status,Message\n3,Success,\n3,Failure,\n", 3, "Line", "line-order-error"),
        ])
    func legacyOutcomeErrors(_ text: String, _ line: Int, _ field: String, _ code: String) throws {
        let path = try Self.outcomeFile(text)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do throws(LegacyOutcomeReader.Failure) {
            var reader = try LegacyOutcomeReader(path: path)
            while try reader.next() != nil {}
            Issue.record("read without an error")
        } catch {
            #expect(error.file == path && error.line == line && error.field == field && error.code == code, "\(error)")
        }
    }
}
