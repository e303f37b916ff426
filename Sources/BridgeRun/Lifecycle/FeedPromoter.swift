public import FeedMapping
import FileSources
public import Foundation
import Ledger
import Logging

/// What `dqt-bridge feeds promote` asks for.
public struct PromotionRequest: Sendable {
    public var feed: String
    /// The status to move to (default: the next one, legacy -> shadow -> live -> retired).
    public var to: FeedStatus?
    /// Moves on although the bar is not met; recorded in the ledger with the evidence.
    public var overrideReason: String?
    /// Who asks (recorded).
    public var by: String

    public init(feed: String, to: FeedStatus? = nil, overrideReason: String? = nil, by: String) {
        self.feed = feed
        self.to = to
        self.overrideReason = overrideReason
        self.by = by
    }
}

public struct PromotionOutcome: Sendable {
    /// 0 moved, 1 refused by the bar (nothing changed), 2 the request cannot be done.
    public let exitStatus: Int32
    public let summary: String
}

/// Moves an inbound feed along its lifecycle: checks the bar (``PromotionGate``), edits the mapping's `status:` line
/// and records the move with its evidence in the ledger. A move whose ledger record fails puts the mapping back.
///
/// Moves: legacy -> shadow and live -> shadow (a rollback) need no evidence; shadow -> live needs parity; live ->
/// retired needs the legacy folder quiet.
public struct FeedPromoter: Sendable {
    let environment: RunEnvironment

    public init(environment: RunEnvironment) {
        self.environment = environment
    }

    public func promote(_ request: PromotionRequest, now: Date = Date()) async -> PromotionOutcome {
        func outcome(_ status: Int32, _ message: String) -> PromotionOutcome {
            PromotionOutcome(exitStatus: status, summary: "dqt-bridge feeds promote: \(message)")
        }
        guard let feed = environment.catalog.feed(id: request.feed) else {
            let outbound = environment.catalog.outboundFeed(id: request.feed) != nil
            return outcome(2, outbound ? "\(request.feed) is outbound: change its status: line by hand" : "no inbound feed \(request.feed)")
        }
        let from = feed.status
        guard let to = request.to ?? Self.next(from) else { return outcome(2, "\(feed.id) is \(from.rawValue): there is no next status") }
        guard Self.allowedMoves.contains([from, to]) else {
            return outcome(2, "\(feed.id) cannot move from \(from.rawValue) to \(to.rawValue)")
        }
        if let reason = request.overrideReason, reason.trimmingCharacters(in: .whitespaces).isEmpty {
            return outcome(2, "--override needs a --reason")
        }
        do {
            try await environment.ledger.migrate()
            let verdict = try await judge(feed, to: to, now: now)
            if !verdict.allowed && request.overrideReason == nil {
                return outcome(1, "\(feed.id) stays \(from.rawValue): \(verdict.evidence) (or --override --reason TEXT)")
            }
            let edit = try MappingStatusEdit.apply(file: feed.mappingFile, from: from, to: to)
            do {
                try await environment.ledger.recordPromotion(
                    Promotion(
                        feed: feed.id, from: from.rawValue, to: to.rawValue, at: now, by: request.by, evidence: verdict.evidence,
                        overrideReason: verdict.allowed ? nil : request.overrideReason))
            } catch {
                try MappingStatusEdit.write(edit.before, to: feed.mappingFile)
                throw error
            }
            environment.logger.info(
                "feed promoted",
                metadata: ["feed": "\(feed.id)", "from": "\(from.rawValue)", "to": "\(to.rawValue)", "override": "\(!verdict.allowed)"])
            let how = verdict.allowed ? verdict.evidence : "override (\(request.overrideReason ?? "")); the bar said: \(verdict.evidence)"
            return outcome(0, "\(feed.id) moved from \(from.rawValue) to \(to.rawValue) in \(feed.mappingFile): \(how)")
        } catch {
            return outcome(2, "\(error)")
        }
    }

    static let allowedMoves: Set<[FeedStatus]> = [[.legacy, .shadow], [.shadow, .live], [.live, .retired], [.live, .shadow]]

    static func next(_ status: FeedStatus) -> FeedStatus? {
        switch status {
        case .legacy: .shadow
        case .shadow: .live
        case .live: .retired
        case .retired: nil
        }
    }

    func judge(_ feed: FeedDefinition, to: FeedStatus, now: Date) async throws -> PromotionGate.Verdict {
        let ledger = environment.ledger
        switch to {
        case .live:
            let history = try await ledger.parityHistory(feed: feed.id, limit: feed.lifecycle.promotionFiles)
            let newest = try await ledger.newestFile(feed: feed.id, state: .shadowed)
            return PromotionGate.shadowToLive(feed.lifecycle, history: history, newestShadowFileID: newest?.id)
        case .retired:
            let liveSince = try await ledger.promotions(feed: feed.id, limit: 100).first { $0.to == FeedStatus.live.rawValue }?.at
            var listing: [RemoteFile]?
            if let folder = feed.lifecycle.legacyFolder {
                let source = try environment.makeSource(environment.configuration.source(for: feed.id))
                do {
                    listing = try await source.list(folder: folder).filter { !$0.name.hasPrefix(".") }
                    await source.close()
                } catch {
                    await source.close()
                    throw error
                }
            }
            return PromotionGate.liveToRetired(feed.lifecycle, liveSince: liveSince, legacyFiles: listing, now: now)
        case .shadow, .legacy:
            return PromotionGate.Verdict(allowed: true, evidence: "no bar for moving to \(to.rawValue)")
        }
    }
}

extension FileLedger {
    /// The feed's newest file in `state` (replays and left files excluded), reading the feed's files in pages.
    func newestFile(feed: String, state: FileState) async throws -> FileRow? {
        var newest: FileRow?
        var after: Int64?
        while true {
            let page = try await files(feed: feed, afterID: after, limit: 500)
            guard let last = page.last else { return newest }
            after = last.id
            newest = page.last(where: { $0.state == state }) ?? newest
        }
    }
}
