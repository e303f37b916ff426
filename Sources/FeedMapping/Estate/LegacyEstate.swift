/// What the legacy estate holds, as DfE's inventory and integration diagram list it (shared/reference
/// legacy-exchanges.md): the inventory must have an entry for each, so no job or exchange can drop out of sight. The
/// estate only shrinks, so these lists never grow; new exchanges may be added to the inventory beside them.
public enum LegacyEstate {
    /// The three servers to switch off.
    public static let servers = ["sftp", "ssis", "mailbox"]

    /// The SSIS server's 19 scheduled jobs.
    public static let ssisJobs = [
        "dqt-ab-import", "capita-export-amend", "capita-export-new", "capita-import", "contact-data-retention", "data-file-retention",
        "dms-export-qts-data", "dms-export-trn", "dms-import", "documents-check", "edubase-import", "files-validation", "gtc-wales-import",
        "hesa-import", "hesa-import-multi", "npq-import", "pr-data-retention", "tp-import", "web-audit-import",
    ]

    /// The TQ unit mailbox's exchanges: prohibitions from and to EWC, GTC Scotland and GTC Northern Ireland, DBS's
    /// notices and its weekly and monthly reconciliations.
    public static let emailExchanges = [
        "email-prohibitions-from-ewc", "email-prohibitions-from-gtcs", "email-prohibitions-from-gtcni", "email-prohibitions-to-ewc",
        "email-prohibitions-to-gtcs", "email-prohibitions-to-gtcni", "email-dbs-notices", "email-dbs-reconciliations",
    ]

    /// The Capita (TPS) file portal's exchanges besides the two Capita export jobs.
    public static let portalExchanges = [
        "capita-portal-prohibitions-and-trns", "capita-portal-ewc-new-teachers", "capita-portal-deceased-teachers",
        "capita-portal-claim-payments-check-request", "capita-portal-claim-payments-check-return", "capita-portal-trn-reconciliation",
        "capita-portal-prohibitions-reconciliation", "capita-portal-duplicate-trn-reconciliation", "capita-portal-reconciliation-returns",
    ]

    /// Every entry the inventory must have, with its kind.
    public static var required: [(id: String, kind: EstateEntry.Kind)] {
        ssisJobs.map { ($0, .ssisJob) } + emailExchanges.map { ($0, .email) } + portalExchanges.map { ($0, .portal) }
    }
}
