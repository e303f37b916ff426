import ArgumentParser
import BridgeRun
import Foundation
import Ledger

/// `dqt-bridge notices`: the mail outbox's notices as the ledger knows them, sending them now, and an operator's
/// decision for one the sender could not settle.
struct NoticesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notices",
        abstract: "The notices sent from the mail outbox: list them, send them now, resolve a held, refused or given-up one.",
        subcommands: [NoticesListCommand.self, NoticesSendCommand.self, NoticesResolveCommand.self],
        defaultSubcommand: NoticesListCommand.self)
}

/// `dqt-bridge notices list`.
struct NoticesListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Every notice not yet sent (or every one with --all): state, attempts, the server's last reply, its transitions with --events.")

    @OptionGroup var options: RunConfigOptions

    @Flag(help: "Sent notices too.")
    var all = false

    @Flag(help: "Each notice's audited transitions.")
    var events = false

    func run() async throws {
        try await runReportingFailures {
            let ledger = try LedgerAccess.open(options)
            defer { ledger.close() }
            do {
                try await ledger.migrate()
                let rows = try await ledger.notices(states: all ? nil : NoticeState.allCases.filter { $0 != .sent })
                if rows.isEmpty { print(all ? "no notices" : "no notices waiting (all sent)") }
                for row in rows {
                    print(Self.line(row))
                    guard events else { continue }
                    for event in try await ledger.noticeEvents(id: row.id) {
                        let run = event.runID.map { "run \($0)" } ?? "operator"
                        print("    \(Self.time(event.at)) \(event.from?.rawValue ?? "-") -> \(event.to.rawValue) (\(run)): \(event.detail)")
                    }
                }
            } catch {
                throw CommandFailure(message: "\(error)", status: 2)
            }
        }
    }

    static func line(_ row: NoticeRow) -> String {
        let reply = row.reply.map { ", last reply: \($0.prefix(160))" } ?? ""
        let queue = row.queueID.map { ", queue id \($0)" } ?? ""
        return
            "\(row.entry): \(row.state.rawValue), \(row.attempts) attempt(s), to \(row.recipients.joined(separator: ", ")), Message-ID <\(row.messageID)>"
            + queue + reply
    }

    static func time(_ date: Date) -> String { date.formatted(Date.ISO8601FormatStyle()) }
}

/// `dqt-bridge notices send`.
struct NoticesSendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send the mail outbox's notices now (run and export do this after their exports), under the run lock.",
        discussion: "Exit status: 0 all sent or waiting for proof, 2 a notice was refused, given up or held, or the pass failed.")

    @OptionGroup var options: RunConfigOptions

    func run() async throws {
        try await runReportingFailures {
            let stopper = SignalStopper(logger: BridgeLogging.logger())
            let outcome = try await withSession(options, needsAPI: false, stop: stopper.flag) { session in
                await BridgeRunner(environment: session.environment).sendNotices()
            }
            print(outcome.summary)
            if outcome.exitStatus != 0 { throw ExitCode(outcome.exitStatus) }
        }
    }
}

/// `dqt-bridge notices resolve ENTRY --sent|--resend --reason TEXT`.
struct NoticesResolveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve",
        abstract: "Decide a held, refused or given-up notice: --sent (it arrived; never send it again) or --resend (send it again).",
        discussion: """
            --sent records it as submitted; the next pass moves its entry to sent/. --resend makes it pending with a new retry
            budget; the next pass sends it. Only after checking: --resend of a notice that did arrive sends it twice. The
            decision, its reason and the operator ($USER) are recorded in the ledger.
            """)

    @OptionGroup var options: RunConfigOptions

    @Argument(help: "The outbox entry (see dqt-bridge notices list).")
    var entry: String

    @Flag(help: "The notice arrived: record it as submitted.")
    var sent = false

    @Flag(help: "Send the notice again.")
    var resend = false

    @Option(help: "Why (recorded in the ledger).")
    var reason: String

    func validate() throws {
        if sent == resend { throw ValidationError("give exactly one of --sent and --resend") }
        if reason.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--reason must say why") }
    }

    func run() async throws {
        try await runReportingFailures {
            let ledger = try LedgerAccess.open(options)
            defer { ledger.close() }
            do {
                try await ledger.migrate()
                let who = ProcessInfo.processInfo.environment["USER"] ?? "an operator"
                let row = try await BridgeRunner.resolveNotice(entry: entry, sent ? .sent : .resend, reason: reason, who: who, ledger: ledger)
                print("\(row.entry): now \(row.state.rawValue); the next run (or dqt-bridge notices send) takes it on")
            } catch {
                throw CommandFailure(message: "\(error)", status: 2)
            }
        }
    }
}
