import Yams

/// What a feed must show before it moves on (`dqt-bridge feeds promote`), and how long its shadow evidence is kept.
public struct LifecycleSettings: Sendable, Hashable {
    /// shadow -> live: the feed's last `promotionFiles` compared shadow files each agree with the legacy job on at
    /// least `promotionAgreement` percent of their rows.
    public var promotionFiles = 3
    public var promotionAgreement = 99.9
    /// A shadow record's planned body (personal data) is kept this many days after its file arrived, for parity.
    public var parityWindowDays = 30
    /// live -> retired: the legacy job's pickup folder (on the feed's source), which must have had no file arriving for
    /// `quietPeriodDays`; without it the feed cannot be retired except by an override.
    public var legacyFolder: String?
    public var quietPeriodDays = 30

    public init() {}
}

extension NodeReader {
    /// `promotion: {files, agreement, parityWindowDays}` and `retirement: {legacyFolder, quietPeriodDays}`.
    func lifecycle(promotion: Node?, retirement: Node?) throws(MappingError) -> LifecycleSettings {
        var settings = LifecycleSettings()
        if let promotion {
            let values = try entries(promotion, allowed: ["files", "agreement", "parityWindowDays"], what: "promotion")
            if let files = values["files"] {
                settings.promotionFiles = try int(files, "promotion.files")
                guard settings.promotionFiles >= 1 else { throw fail(files, "promotion.files must be at least 1") }
            }
            if let agreement = values["agreement"] {
                guard let text = agreement.scalar?.string, let value = Double(text), value > 0, value <= 100 else {
                    throw fail(agreement, "promotion.agreement must be a percentage above 0 and at most 100")
                }
                settings.promotionAgreement = value
            }
            if let window = values["parityWindowDays"] {
                settings.parityWindowDays = try int(window, "promotion.parityWindowDays")
                guard settings.parityWindowDays >= 0 else { throw fail(window, "promotion.parityWindowDays cannot be negative") }
            }
        }
        if let retirement {
            let values = try entries(retirement, allowed: ["legacyFolder", "quietPeriodDays"], what: "retirement")
            if let folder = values["legacyFolder"] { settings.legacyFolder = try string(folder, "retirement.legacyFolder") }
            if let quiet = values["quietPeriodDays"] {
                settings.quietPeriodDays = try int(quiet, "retirement.quietPeriodDays")
                guard settings.quietPeriodDays >= 1 else { throw fail(quiet, "retirement.quietPeriodDays must be at least 1") }
            }
        }
        return settings
    }
}
