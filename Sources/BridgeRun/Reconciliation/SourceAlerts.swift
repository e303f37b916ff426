/// An alert of the API by its natural key, as a reconciliation compares it (dqt-api's `SourceAlert`).
public struct SourceAlert: Sendable, Equatable {
    public var alertId: String
    public var trn: String
    public var reference: String
    public var alertTypeCode: String
    public var startDate: String
    public var endDate: String?

    public init(alertId: String, trn: String, reference: String, alertTypeCode: String, startDate: String, endDate: String?) {
        self.alertId = alertId
        self.trn = trn
        self.reference = reference
        self.alertTypeCode = alertTypeCode
        self.startDate = startDate
        self.endDate = endDate
    }
}

/// A page of a source's alerts in reference order, and where the next one starts.
public struct SourceAlertPage: Sendable {
    public var alerts: [SourceAlert]
    public var nextAfter: String?
    public var hasMore: Bool

    public init(alerts: [SourceAlert], nextAfter: String?, hasMore: Bool) {
        self.alerts = alerts
        self.nextAfter = nextAfter
        self.hasMore = hasMore
    }
}

/// Where a reconciliation reads the alerts of a source, page by page in reference order (byte by byte): dqt-api's
/// `GET /v3/alerts?source=` (``HTTPSourceAlerts``) or a list in memory (``MemorySourceAlerts``).
public protocol SourceAlerts: Sendable {
    func page(source: String, after: String?, limit: Int) async throws -> SourceAlertPage
}

/// Alerts held in memory, paged as dqt-api pages them; for fast tests.
public struct MemorySourceAlerts: SourceAlerts {
    /// Source -> its alerts.
    public var alerts: [String: [SourceAlert]]

    public init(_ alerts: [String: [SourceAlert]]) { self.alerts = alerts }

    public func page(source: String, after: String?, limit: Int) async throws -> SourceAlertPage {
        let sorted = (alerts[source] ?? []).sorted { PartnerCase.precedes($0.reference, $1.reference) }
        let rest = sorted.filter { after == nil || PartnerCase.precedes(after!, $0.reference) }
        let page = Array(rest.prefix(limit))
        return SourceAlertPage(alerts: page, nextAfter: page.last?.reference, hasMore: rest.count > limit)
    }
}

/// A source's alerts one at a time, fetched a page at a time.
struct AlertCursor {
    let alerts: any SourceAlerts
    let source: String
    let pageSize: Int
    private var buffered: [SourceAlert] = []
    private var position = 0
    private var after: String?
    private var exhausted = false
    private(set) var pagesRead = 0

    init(alerts: any SourceAlerts, source: String, pageSize: Int) {
        self.alerts = alerts
        self.source = source
        self.pageSize = pageSize
    }

    mutating func next() async throws -> SourceAlert? {
        while position == buffered.count {
            if exhausted { return nil }
            let page = try await alerts.page(source: source, after: after, limit: pageSize)
            pagesRead += 1
            buffered = page.alerts
            position = 0
            after = page.nextAfter ?? after
            exhausted = !page.hasMore || page.alerts.isEmpty
        }
        defer { position += 1 }
        return buffered[position]
    }
}
