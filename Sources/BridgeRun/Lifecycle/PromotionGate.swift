public import FeedMapping
public import FileSources
public import Foundation
public import Ledger

/// The bar a feed must meet to move on, as a pure decision over the evidence: what the ledger recorded and what the
/// legacy folder holds. Each verdict says in words what it saw, which the ledger keeps with the promotion.
public enum PromotionGate {
    public struct Verdict: Sendable, Equatable {
        public let allowed: Bool
        public let evidence: String
    }

    /// shadow -> live: the last `promotionFiles` compared shadow files each agree on at least `promotionAgreement`
    /// percent of their rows, and no shadow file newer than them is left uncompared.
    public static func shadowToLive(_ settings: LifecycleSettings, history: [ParitySummary], newestShadowFileID: Int64?) -> Verdict {
        let needed = settings.promotionFiles
        let bar = settings.promotionAgreement
        let lastK = Array(history.prefix(needed))
        let seen = lastK.map { "file \($0.fileID) \(percent($0.agreement * 100)) % of \($0.rowsCompared) rows" }.joined(separator: ", ")
        let rule = "bar: \(needed) files at \(percent(bar)) %"
        guard lastK.count == needed else {
            return Verdict(
                allowed: false, evidence: "\(lastK.count) compared shadow files, \(needed) needed (\(rule))\(seen.isEmpty ? "" : ": \(seen)")")
        }
        if let newest = newestShadowFileID, let compared = lastK.first?.fileID, newest > compared {
            return Verdict(
                allowed: false, evidence: "shadow file \(newest) is newer than the last compared file \(compared): compare it first (\(rule))")
        }
        // A tiny tolerance so that 99.9 % written in the mapping is met by exactly 999 of 1,000 rows.
        let below = lastK.filter { $0.agreement * 100 + 1e-9 < bar }
        guard below.isEmpty else {
            return Verdict(
                allowed: false, evidence: "below the bar: \(below.map { "file \($0.fileID)" }.joined(separator: ", ")) (\(rule)): \(seen)")
        }
        return Verdict(allowed: true, evidence: "\(rule) met: \(seen)")
    }

    /// live -> retired: live (the legacy job off) for the quiet period, and no file arrived in the legacy folder in it.
    public static func liveToRetired(_ settings: LifecycleSettings, liveSince: Date?, legacyFiles: [RemoteFile]?, now: Date) -> Verdict {
        let days = settings.quietPeriodDays
        guard let folder = settings.legacyFolder, let legacyFiles else {
            return Verdict(allowed: false, evidence: "the mapping names no retirement.legacyFolder to check for \(days) quiet days")
        }
        let quietSince = now.addingTimeInterval(-Double(days) * 86_400)
        guard let liveSince else {
            return Verdict(
                allowed: false, evidence: "the ledger has no promotion to live for this feed: its legacy job's quiet period cannot be measured")
        }
        guard liveSince <= quietSince else {
            return Verdict(allowed: false, evidence: "live since \(day(liveSince)), less than the quiet period of \(days) days")
        }
        if let newest = legacyFiles.max(by: { $0.mtime < $1.mtime }), newest.mtime > quietSince {
            return Verdict(
                allowed: false,
                evidence: "a file arrived in the legacy folder \(folder) on \(day(newest.mtime)), within the quiet period of \(days) days")
        }
        return Verdict(
            allowed: true,
            evidence: "live since \(day(liveSince)); legacy folder \(folder): \(legacyFiles.count) files, none in the last \(days) days")
    }

    static func percent(_ value: Double) -> String { String(format: "%.3f", value) }

    static func day(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.string(from: date)
    }
}
