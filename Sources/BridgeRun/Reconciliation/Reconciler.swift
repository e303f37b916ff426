import BridgeReport
import FeedMapping

/// Merges the partner's cases, sorted by reference, with the source's alerts read page by page in the same order:
/// one pass over each, memory bounded by a page and the report's lists.
struct Reconciler {
    let settings: ReconcileSettings
    let scope: ReconcileSettings.Scope
    let alerts: any SourceAlerts
    var pageSize = 500

    func merge(_ theirs: inout SortedCases, into report: inout ReconciliationReport) async throws {
        var ours = AlertCursor(alerts: alerts, source: settings.source, pageSize: pageSize)
        var partner = try theirs.next()
        var alert = try await ours.next()
        if alert != nil { report.counts.ours += 1 }
        while partner != nil || alert != nil {
            if let theirCase = partner, alert == nil || PartnerCase.precedes(theirCase.reference, alert!.reference) {
                report.counts.theirs += 1
                report.counts.onlyInTheirs += 1
                if report.onlyInTheirs.count < ReconciliationReport.listLimit { report.onlyInTheirs.append(Self.entry(theirCase)) }
                partner = try theirs.next()
            } else if let ourAlert = alert, partner == nil || PartnerCase.precedes(ourAlert.reference, partner!.reference) {
                // A weekly file lists only its week's cases: an alert it does not list says nothing.
                if scope == .full {
                    report.counts.onlyInOurs += 1
                    if report.onlyInOurs.count < ReconciliationReport.listLimit { report.onlyInOurs.append(Self.entry(ourAlert)) }
                }
                alert = try await ours.next()
                if alert != nil { report.counts.ours += 1 }
            } else if let theirCase = partner, let ourAlert = alert {
                report.counts.theirs += 1
                let fields = differences(theirCase, ourAlert)
                if fields.isEmpty {
                    report.counts.matched += 1
                } else {
                    report.counts.different += 1
                    if report.different.count < ReconciliationReport.listLimit {
                        report.different.append(
                            .init(reference: theirCase.reference, line: theirCase.line, alertId: ourAlert.alertId, trn: theirCase.trn, fields: fields)
                        )
                    }
                }
                partner = try theirs.next()
                alert = try await ours.next()
                if alert != nil { report.counts.ours += 1 }
            }
        }
    }

    /// The compared fields on which the case and the alert disagree. A removed case does not say when the person was
    /// barred, so its start date is not compared.
    func differences(_ theirs: PartnerCase, _ ours: SourceAlert) -> [ReconciliationReport.FieldDifference] {
        var found: [ReconciliationReport.FieldDifference] = []
        for field in settings.compared {
            switch field {
            case .trn where theirs.trn != ours.trn:
                found.append(.init(field: "trn", theirs: theirs.trn, ours: ours.trn))
            case .alertTypeCode where theirs.alertTypeCode != ours.alertTypeCode:
                found.append(.init(field: "alertTypeCode", theirs: theirs.alertTypeCode, ours: ours.alertTypeCode))
            case .startDate where theirs.startDate != nil && theirs.startDate != ours.startDate:
                found.append(.init(field: "startDate", theirs: theirs.startDate, ours: ours.startDate))
            case .endDate where theirs.endDate != ours.endDate:
                found.append(.init(field: "endDate", theirs: theirs.endDate, ours: ours.endDate))
            default:
                break
            }
        }
        return found
    }

    static func entry(_ theirs: PartnerCase) -> ReconciliationReport.Entry {
        .init(
            reference: theirs.reference, trn: theirs.trn, alertTypeCode: theirs.alertTypeCode, startDate: theirs.startDate, endDate: theirs.endDate,
            status: theirs.status.rawValue, line: theirs.line)
    }

    static func entry(_ ours: SourceAlert) -> ReconciliationReport.Entry {
        .init(
            reference: ours.reference, trn: ours.trn, alertTypeCode: ours.alertTypeCode, startDate: ours.startDate, endDate: ours.endDate,
            alertId: ours.alertId)
    }
}
