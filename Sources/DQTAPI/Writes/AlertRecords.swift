import LibPQ

/// An alert row as the alert writes need it, locked for the change.
struct AlertState {
    var alertID: String
    var trn: String
    /// What a notice states: type, details, start, scheduled end and sender, as stored.
    var content: AlertContent
    /// Set once the alert has been ended through `POST /v3/alerts/{alertId}/end`; an ended alert no longer changes.
    var endReason: String?
    /// The row as JSON (the audit's `before`).
    var document: String

    var isEnded: Bool { endReason != nil }
}

/// The fields of an alert a notice states. Two notices with equal content are the same notice: a resent one
/// changes nothing.
struct AlertContent: Equatable {
    var alertTypeCode: String
    var details: String?
    var startDate: String
    var endDate: String?
    var sender: String?
}

extension WriteTransaction {
    static let alertColumns = """
        alert_id, trn, alert_type_code, details, start_date::text AS start_date, end_date::text AS end_date, sender, end_reason,
        to_json(alerts)::text AS doc
        """

    /// The alert with this id, locked until the transaction ends; 404 when there is none.
    func requireAlert(_ alertID: String) throws -> AlertState {
        let result = try connection.query("SELECT \(Self.alertColumns) FROM alerts WHERE alert_id = $1 FOR UPDATE", [.text(alertID)])
        guard let alert = try Self.alertState(result) else { throw Problem.notFound("The alert") }
        return alert
    }

    /// The alert with this natural key, locked until the transaction ends; nil when there is none.
    func loadAlert(source: String, reference: String) throws -> AlertState? {
        try Self.alertState(
            try connection.query(
                "SELECT \(Self.alertColumns) FROM alerts WHERE source = $1 AND reference = $2 FOR UPDATE", [.text(source), .text(reference)]))
    }

    /// Replaces the alert's content and audits the change (kind `alert.updated`); nothing happens when the content
    /// is already `content`. Returns whether the alert changed.
    @discardableResult
    func updateAlert(_ request: WriteRequest, _ alert: AlertState, to content: AlertContent) throws -> Bool {
        guard content != alert.content else { return false }
        let after = try connection.query(
            """
            UPDATE alerts SET alert_type_code = $2, details = $3, start_date = $4::date, end_date = $5::date, sender = $6,
                updated_at = now()
            WHERE alert_id = $1 RETURNING to_json(alerts)::text AS doc
            """,
            [
                .text(alert.alertID), .text(content.alertTypeCode), content.details.map { .text($0) }, .text(content.startDate),
                content.endDate.map { .text($0) }, content.sender.map { .text($0) },
            ]
        ).string(0, "doc")
        try audit(request, trn: alert.trn, before: alert.document, after: after)
        return true
    }

    private static func alertState(_ result: PGResult) throws -> AlertState? {
        guard result.rowCount == 1 else { return nil }
        return AlertState(
            alertID: try result.requireString(0, "alert_id"), trn: try result.requireString(0, "trn"),
            content: AlertContent(
                alertTypeCode: try result.requireString(0, "alert_type_code"), details: result.string(0, "details"),
                startDate: try result.requireString(0, "start_date"), endDate: result.string(0, "end_date"), sender: result.string(0, "sender")),
            endReason: result.string(0, "end_reason"), document: try result.requireString(0, "doc"))
    }
}
