import DQTTesting
import Foundation
import Ledger
import Testing

/// `dqt-bridge notices list` and `notices resolve` as an operator runs them, on a ledger of the test's own.
@Suite(.enabled(if: TestServices.shouldRun(TestServices.databaseURL)))
struct NoticeCommandTests {
    func bridge(_ arguments: [String], database: String, scratch: TemporaryFolder) async throws -> (status: Int32, output: String) {
        var environment = ProcessInfo.processInfo.environment
        environment["DQT_BRIDGE_DATABASE_URL"] = database
        environment["USER"] = "operator-test"
        let process = try ChildProcess(
            try bridgeBinary(), arguments + ["--config", scratch.path("absent.yaml")], environment: environment,
            output: scratch.path("out-\(UUID().uuidString).log"))
        let status = await process.wait()
        return (status, process.output)
    }

    @Test func heldNoticeIsListedAndResolvedByAnOperator() async throws {
        try await TemporaryDatabase.with(prefix: "notice_cli") { database in
            let scratch = try TemporaryFolder("notice-cli")
            let ledger = PostgresLedger(conninfo: database.url)
            defer { ledger.close() }
            try await ledger.migrate()
            let runID = try await ledger.startRun(command: "test", host: "h", pid: 1, feeds: [])
            let row = try await ledger.registerNotice(
                entry: "Prohibitions_20261207_030000.csv", messageID: "0123456789abcdef.Prohibitions@bridge.test",
                sha256: String(repeating: "a", count: 64), size: 10, recipients: ["alerts@ewc.example"], subject: "s", runID: runID, at: Date())
            try await ledger.transitionNotice(
                id: row.id, from: [.pending], NoticeChange(to: .submitting, detail: "attempt 1 of 6", startsAttempt: true), runID: runID, at: Date())
            try await ledger.transitionNotice(
                id: row.id, from: [.submitting], NoticeChange(to: .held, detail: "outcome unknown"), runID: runID, at: Date())

            let list = try await bridge(["notices", "list", "--events"], database: database.url, scratch: scratch)
            #expect(list.status == 0, "\(list.output)")
            #expect(list.output.contains("Prohibitions_20261207_030000.csv: held, 1 attempt(s), to alerts@ewc.example"), "\(list.output)")
            #expect(list.output.contains("submitting -> held (run \(runID)): outcome unknown"), "\(list.output)")

            let status = try await bridge(["status"], database: database.url, scratch: scratch)
            #expect(status.output.contains("Notices: 1 held (dqt-bridge notices)"), "\(status.output)")
            #expect(status.output.contains("Prohibitions_20261207_030000.csv: held, needs an operator"), "\(status.output)")

            let noReason = try await bridge(["notices", "resolve", row.entry, "--sent", "--reason", " "], database: database.url, scratch: scratch)
            #expect(noReason.status == 2)
            let both = try await bridge(
                ["notices", "resolve", row.entry, "--sent", "--resend", "--reason", "x"], database: database.url, scratch: scratch)
            #expect(both.status == 2)

            let resolved = try await bridge(
                ["notices", "resolve", row.entry, "--sent", "--reason", "in the relay's log"], database: database.url, scratch: scratch)
            #expect(resolved.status == 0, "\(resolved.output)")
            #expect(try await ledger.notice(id: row.id)?.state == .submitted)
            let last = try #require(try await ledger.noticeEvents(id: row.id).last)
            #expect(last.runID == nil && last.detail.contains("operator-test") && last.detail.contains("in the relay's log"))

            let again = try await bridge(["notices", "resolve", row.entry, "--resend", "--reason", "x"], database: database.url, scratch: scratch)
            #expect(again.status == 2, "a submitted notice is not resolved again")
            #expect(again.output.contains("is submitted, not held or refused or given-up"), "\(again.output)")
        }
    }
}
