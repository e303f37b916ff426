import Crypto
import CurlMail
import DQTTesting
import Delivery
import FileSources
import Foundation
import Ledger
import Logging
import Synchronization

@testable import BridgeRun

/// An outbox with entries made by the real ``MailOutboxDelivery``, for the notice sender's tests.
struct NoticeOutbox {
    let scratch: TemporaryFolder
    let outbox: MailOutbox

    init(_ name: String) throws {
        scratch = try TemporaryFolder(name)
        let folder = scratch.path("outbox")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        outbox = MailOutbox(folder: folder)
    }

    /// Puts a prohibitions CSV of about `size` bytes into the outbox for `to`; returns the entry's name and the file.
    @discardableResult
    func add(to: [String], size: Int = 2_000, subject: String = "Teaching alerts and prohibitions from the DQT") throws -> (
        entry: String, file: String
    ) {
        try Self.add(to: to, outbox: outbox.folder, scratch: scratch.path(""), size: size, subject: subject)
    }

    /// Puts a prohibitions CSV into `outbox` through the real ``MailOutboxDelivery``, the file kept in `scratch`.
    static func add(
        to: [String], outbox: String, scratch: String, size: Int = 2_000, subject: String = "Teaching alerts and prohibitions from the DQT"
    )
        throws -> (entry: String, file: String)
    {
        let name = "Prohibitions_\(UUID().uuidString.prefix(8)).csv"
        var csv = "trn,alert_type,start_date\n"
        var row = 0
        while csv.utf8.count < size {
            csv += "\(1_000_000 + row),T1,2026-01-01\n"
            row += 1
        }
        let file = joinPath(scratch, name)
        try Data(csv.utf8).write(to: URL(fileURLWithPath: file))
        let digest = SHA256.hash(data: Data(csv.utf8)).map { String(format: "%02x", $0) }.joined()
        _ = try MailOutboxDelivery(outbox: outbox, to: to, subject: subject).deliver(
            localFile: file, name: name, expectedSize: Int64(csv.utf8.count), expectedSHA256: digest
        ) { _ in }
        return (name, file)
    }
}

/// A submitter that reads each message whole (as libcurl would) and answers from a script: a receipt, or an error
/// raised before (`started: false`) or after the message's bytes went.
final class ScriptedSubmitter: NoticeSubmitter, @unchecked Sendable {
    enum Answer {
        case queued
        case fails(MailTransportError, afterMessage: Bool)
    }

    private let state = Mutex<(answers: [Answer], messages: [[UInt8]], envelopes: [[String]])>(([], [], []))

    init(_ answers: [Answer] = []) { state.withLock { $0.answers = answers } }

    func script(_ answers: [Answer]) { state.withLock { $0.answers += answers } }
    var messages: [[UInt8]] { state.withLock { $0.messages } }
    var envelopes: [[String]] { state.withLock { $0.envelopes } }

    func submit(from sender: String, to recipients: [String], message: some SMTPMessageSource) throws -> SMTPReceipt {
        let answer = state.withLock { $0.answers.isEmpty ? Answer.queued : $0.answers.removeFirst() }
        if case .fails(let error, false) = answer { throw error }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = try buffer.withUnsafeMutableBytes { try message.read(into: $0) }
            if count == 0 { break }
            bytes += buffer[0..<count]
        }
        state.withLock {
            $0.messages.append(bytes)
            $0.envelopes.append(recipients)
        }
        if case .fails(let error, true) = answer { throw error }
        return SMTPReceipt(reply: "250 2.0.0 Ok: queued as Q\(bytes.count)")
    }
}

/// A sent copy that holds the Message-IDs a test puts there.
final class ScriptedSentCopy: SentCopyFinder, @unchecked Sendable {
    private let held = Mutex<Set<String>>([])
    func put(_ messageID: String) { _ = held.withLock { $0.insert(messageID) } }
    func containsMessage(id messageID: String) throws -> Bool { held.withLock { $0.contains(messageID) } }
}

/// A clock a test moves.
final class NoticeClock: @unchecked Sendable {
    private let now = Mutex(Date(timeIntervalSince1970: 1_796_500_000))
    var date: Date { now.withLock { $0 } }
    func advance(_ seconds: Double) { now.withLock { $0 += seconds } }
}

extension NoticePolicy {
    static func test(sentCopy: String? = "tq-unit@dqt.test", grace: Double = 60) -> NoticePolicy {
        var policy = NoticePolicy(from: "dqt-bridge@dqt.test", messageIDDomain: "dqt-bridge.test")
        policy.sentCopyAddress = sentCopy
        policy.attempts = 4
        policy.attemptsPerRun = 2
        policy.backoffSeconds = 0.01
        policy.graceSeconds = grace
        return policy
    }
}

/// One pass of a sender as a run would make it.
func noticePass(
    ledger: any LedgerStore, outbox: MailOutbox, submitter: any NoticeSubmitter, sentCopy: (any SentCopyFinder)?, policy: NoticePolicy,
    clock: @escaping @Sendable () -> Date = { Date() }
) async throws -> [NoticeOutcome] {
    let runID = try await ledger.startRun(command: "test", host: "test", pid: 1, feeds: [])
    let sender = NoticeSender(
        ledger: ledger, outbox: outbox, mailer: NoticeMailer(submitter: submitter, sentCopy: sentCopy), policy: policy, runID: runID,
        logger: Logger(label: "notice-tests"), metrics: RunMetrics(), clock: clock, sleep: { _ in })
    return try await sender.pass { false }
}
