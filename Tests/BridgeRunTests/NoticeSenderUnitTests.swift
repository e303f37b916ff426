import CurlMail
import DQTTesting
import Delivery
import Foundation
import Ledger
import Testing

@testable import BridgeRun

/// The notice sender's state machine on the in-memory ledger with a scripted submitter and sent copy: each path of
/// ``NoticeState`` and what it sends (nothing twice).
struct NoticeSenderUnitTests {
    let ledger = MemoryLedger()

    @Test func sendsAnEntryOnceThenMovesItToSent() async throws {
        let box = try NoticeOutbox("notice-unit-once")
        let (entry, _) = try box.add(to: ["alerts@ewc.example"])
        let submitter = ScriptedSubmitter()
        let outcomes = try await noticePass(ledger: ledger, outbox: box.outbox, submitter: submitter, sentCopy: ScriptedSentCopy(), policy: .test())
        #expect(outcomes.map(\.state) == [.sent])
        #expect(box.outbox.location(of: entry) == .sent)
        #expect(submitter.envelopes == [["alerts@ewc.example", "tq-unit@dqt.test"]])
        let row = try #require(try await ledger.notice(entry: entry))
        #expect(row.state == .sent && row.attempts == 1 && row.queueID != nil)
        #expect(try await ledger.noticeEvents(id: row.id).map(\.to) == [.pending, .submitting, .submitted, .sent])
        // The message: the manifest's To and Subject, the stable Message-ID, the Bcc in no header.
        let text = String(decoding: try #require(submitter.messages.first), as: UTF8.self)
        #expect(text.contains("To: alerts@ewc.example\r\n"))
        #expect(text.contains("Subject: Teaching alerts and prohibitions from the DQT\r\n"))
        #expect(text.contains("Message-ID: <\(row.messageID)>\r\n"))
        #expect(row.messageID.hasPrefix(String(row.sha256.prefix(16)) + ".") && row.messageID.hasSuffix("@dqt-bridge.test"))
        #expect(!text.contains("tq-unit@dqt.test"))

        let again = try await noticePass(ledger: ledger, outbox: box.outbox, submitter: submitter, sentCopy: ScriptedSentCopy(), policy: .test())
        #expect(again.isEmpty)
        #expect(submitter.messages.count == 1)
    }

    @Test func refusalIsFinalAndNotRetried() async throws {
        let box = try NoticeOutbox("notice-unit-refused")
        let (entry, _) = try box.add(to: ["gone@gtcs.example"])
        let submitter = ScriptedSubmitter([.fails(MailTransportError(.refused, "550 5.1.1 no such user", replyCode: 550), afterMessage: false)])
        let outcomes = try await noticePass(ledger: ledger, outbox: box.outbox, submitter: submitter, sentCopy: nil, policy: .test())
        #expect(outcomes.map(\.state) == [.refused])
        #expect(outcomes.first?.needsAttention == true)
        #expect(box.outbox.location(of: entry) == .outbox)
        _ = try await noticePass(ledger: ledger, outbox: box.outbox, submitter: submitter, sentCopy: nil, policy: .test())
        let row = try #require(try await ledger.notice(entry: entry))
        #expect(row.state == .refused && row.attempts == 1 && row.reply?.contains("550") == true)
    }

    @Test func deferralIsRetriedWithinAndAcrossRunsThenGivenUp() async throws {
        let box = try NoticeOutbox("notice-unit-deferred")
        let (entry, _) = try box.add(to: ["busy@ewc.example"])
        let deferred = ScriptedSubmitter.Answer.fails(MailTransportError(.transient, "450 4.2.0 try later", replyCode: 450), afterMessage: false)
        let submitter = ScriptedSubmitter(Array(repeating: deferred, count: 10))
        let first = try await noticePass(ledger: ledger, outbox: box.outbox, submitter: submitter, sentCopy: nil, policy: .test())
        #expect(first.map(\.state) == [.pending])
        #expect(try await ledger.notice(entry: entry)?.attempts == 2)  // attemptsPerRun
        let second = try await noticePass(ledger: ledger, outbox: box.outbox, submitter: submitter, sentCopy: nil, policy: .test())
        #expect(second.map(\.state) == [.givenUp])
        let row = try #require(try await ledger.notice(entry: entry))
        #expect(row.state == .givenUp && row.attempts == 4)
        #expect(try await noticePass(ledger: ledger, outbox: box.outbox, submitter: submitter, sentCopy: nil, policy: .test()).isEmpty)

        // An operator grants a new budget: sent on the next pass.
        _ = try await BridgeRunner.resolveNotice(entry: entry, .resend, reason: "their server is back", who: "tester", ledger: ledger)
        let submitterNow = ScriptedSubmitter()
        let third = try await noticePass(ledger: ledger, outbox: box.outbox, submitter: submitterNow, sentCopy: nil, policy: .test())
        #expect(third.map(\.state) == [.sent])
        #expect(try await ledger.noticeEvents(id: row.id).contains { $0.runID == nil && $0.detail.contains("their server is back") })
    }

    @Test func unreachableServerLeavesTheOtherNoticesForTheNextRun() async throws {
        let box = try NoticeOutbox("notice-unit-unreachable")
        try box.add(to: ["a@ewc.example"])
        try box.add(to: ["b@ewc.example"])
        let refusedConnection = ScriptedSubmitter.Answer.fails(MailTransportError(.transient, "connection refused"), afterMessage: false)
        let submitter = ScriptedSubmitter([refusedConnection, refusedConnection])
        let outcomes = try await noticePass(ledger: ledger, outbox: box.outbox, submitter: submitter, sentCopy: nil, policy: .test())
        #expect(outcomes.map(\.state) == [.pending, .pending])
        #expect(outcomes.last?.detail.hasPrefix("not tried") == true)
        #expect(try await ledger.notices(states: nil).map(\.attempts) == [2, 0])
    }

    /// The attempt's outcome is unknown (the message went, no reply came), and the sent copy holds it: never sent again.
    @Test func unknownOutcomeWithItsCopyFoundIsNotResent() async throws {
        let box = try NoticeOutbox("notice-unit-found")
        let (entry, _) = try box.add(to: ["alerts@ewc.example"])
        let copy = ScriptedSentCopy()
        let submitter = ScriptedSubmitter([.fails(MailTransportError(.transient, "connection lost"), afterMessage: true)])
        let first = try await noticePass(ledger: ledger, outbox: box.outbox, submitter: submitter, sentCopy: copy, policy: .test())
        #expect(first.map(\.state) == [.submitting])
        let row = try #require(try await ledger.notice(entry: entry))
        copy.put(row.messageID)
        let second = try await noticePass(ledger: ledger, outbox: box.outbox, submitter: submitter, sentCopy: copy, policy: .test())
        #expect(second.map(\.state) == [.sent])
        #expect(submitter.messages.count == 1)
        #expect(box.outbox.location(of: entry) == .sent)
    }

    /// No copy: waits out the grace period, then sends once more, the same bytes.
    @Test func unknownOutcomeWithoutACopyIsResentOnceAfterTheGracePeriod() async throws {
        let box = try NoticeOutbox("notice-unit-absent")
        let (entry, _) = try box.add(to: ["alerts@ewc.example"])
        let clock = NoticeClock()
        let now: @Sendable () -> Date = { clock.date }
        let submitter = ScriptedSubmitter([.fails(MailTransportError(.transient, "timeout"), afterMessage: true)])
        _ = try await noticePass(ledger: ledger, outbox: box.outbox, submitter: submitter, sentCopy: ScriptedSentCopy(), policy: .test(), clock: now)
        clock.advance(30)
        let waiting = try await noticePass(
            ledger: ledger, outbox: box.outbox, submitter: submitter, sentCopy: ScriptedSentCopy(), policy: .test(), clock: now)
        #expect(waiting.map(\.state) == [.submitting])
        #expect(waiting.first?.needsAttention == false)
        #expect(submitter.messages.count == 1)
        clock.advance(31)
        let resent = try await noticePass(
            ledger: ledger, outbox: box.outbox, submitter: submitter, sentCopy: ScriptedSentCopy(), policy: .test(), clock: now)
        #expect(resent.map(\.state) == [.sent])
        #expect(submitter.messages.count == 2)
        #expect(submitter.messages[0] == submitter.messages[1], "every attempt sends the same bytes")
        #expect(try await ledger.notice(entry: entry)?.attempts == 2)
    }

    /// Without a sent copy an unknown outcome is held for an operator, who says it arrived.
    @Test func unknownOutcomeWithoutASentCopyIsHeldUntilResolved() async throws {
        let box = try NoticeOutbox("notice-unit-held")
        let (entry, _) = try box.add(to: ["alerts@ewc.example"])
        let submitter = ScriptedSubmitter([.fails(MailTransportError(.transient, "timeout"), afterMessage: true)])
        let first = try await noticePass(ledger: ledger, outbox: box.outbox, submitter: submitter, sentCopy: nil, policy: .test(sentCopy: nil))
        #expect(first.map(\.state) == [.held])
        #expect(try await noticePass(ledger: ledger, outbox: box.outbox, submitter: submitter, sentCopy: nil, policy: .test(sentCopy: nil)).isEmpty)
        await #expect(throws: NoticeLedgerError.self) {
            _ = try await BridgeRunner.resolveNotice(entry: "no-such-entry", .sent, reason: "x", who: "tester", ledger: ledger)
        }
        _ = try await BridgeRunner.resolveNotice(entry: entry, .sent, reason: "EWC confirmed receipt", who: "tester", ledger: ledger)
        let after = try await noticePass(ledger: ledger, outbox: box.outbox, submitter: submitter, sentCopy: nil, policy: .test(sentCopy: nil))
        #expect(after.map(\.state) == [.sent])
        #expect(submitter.messages.count == 1)
        #expect(box.outbox.location(of: entry) == .sent)
    }

    /// A crash after the move to sent/ (before the ledger knew) and one before it: the next pass finishes either.
    @Test func submittedNoticeIsFinishedWhereverItsEntryIs() async throws {
        let box = try NoticeOutbox("notice-unit-finish")
        let (moved, _) = try box.add(to: ["a@ewc.example"])
        let (notMoved, _) = try box.add(to: ["b@ewc.example"])
        let runID = try await ledger.startRun(command: "test", host: "h", pid: 1, feeds: [])
        for entry in [moved, notMoved] {
            let manifest = try box.outbox.manifest(of: entry)
            let row = try await ledger.registerNotice(
                entry: entry, messageID: "\(entry)@t", sha256: manifest.sha256, size: manifest.size, recipients: manifest.to,
                subject: manifest.subject, runID: runID, at: Date())
            try await ledger.transitionNotice(
                id: row.id, from: [.pending], NoticeChange(to: .submitting, detail: "t", startsAttempt: true), runID: runID, at: Date())
            try await ledger.transitionNotice(
                id: row.id, from: [.submitting], NoticeChange(to: .submitted, detail: "t", reply: "250 ok"), runID: runID, at: Date())
        }
        try box.outbox.moveToSent(moved)
        let submitter = ScriptedSubmitter()
        let outcomes = try await noticePass(ledger: ledger, outbox: box.outbox, submitter: submitter, sentCopy: nil, policy: .test())
        #expect(outcomes.map(\.state) == [.sent, .sent])
        #expect(submitter.messages.isEmpty)
        #expect(box.outbox.location(of: notMoved) == .sent)
    }

    @Test func changedAttachmentIsNotSent() async throws {
        let box = try NoticeOutbox("notice-unit-changed")
        let (entry, _) = try box.add(to: ["a@ewc.example"])
        let manifest = try box.outbox.manifest(of: entry)
        try Data("tampered\n".utf8).write(to: URL(fileURLWithPath: box.outbox.attachmentPath(of: entry, manifest)))
        let submitter = ScriptedSubmitter()
        let outcomes = try await noticePass(ledger: ledger, outbox: box.outbox, submitter: submitter, sentCopy: nil, policy: .test())
        #expect(outcomes.count == 1 && outcomes[0].needsAttention && outcomes[0].detail.contains("SHA-256"))
        #expect(submitter.messages.isEmpty)
        #expect(try await ledger.notice(entry: entry) == nil)
    }
}
