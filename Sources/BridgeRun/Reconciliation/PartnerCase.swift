import DQTModel
import FeedMapping

/// A case as the partner's reconciliation file states it, with the line it came from. Its values are checked by the
/// feed's mapping before it is made (``DBSReconciliationCase``): a reference of printable ASCII without spaces, a
/// TRN of 7 digits, an alert type code, a status and an ISO date, so none holds a tab or a line end.
struct PartnerCase: Sendable, Equatable {
    var reference: String
    var trn: String
    var alertTypeCode: String
    var status: DBSReconciliationCase.Status
    var statusDate: String
    var line: Int

    /// From the row's expectation as the checker built it; nil when one of its members is missing.
    init?(expectation: JSONValue?, line: Int) {
        guard case .string(let reference)? = expectation?["reference"], case .string(let trn)? = expectation?["trn"],
            case .string(let code)? = expectation?["alertTypeCode"], case .string(let statusText)? = expectation?["status"],
            let status = DBSReconciliationCase.Status(rawValue: statusText), case .string(let date)? = expectation?["statusDate"]
        else { return nil }
        self.init(reference: reference, trn: trn, alertTypeCode: code, status: status, statusDate: date, line: line)
    }

    init(reference: String, trn: String, alertTypeCode: String, status: DBSReconciliationCase.Status, statusDate: String, line: Int) {
        self.reference = reference
        self.trn = trn
        self.alertTypeCode = alertTypeCode
        self.status = status
        self.statusDate = statusDate
        self.line = line
    }

    /// The alert's start date the case implies: the barring decision's date; nil for a removed case (the file does
    /// not say when it was barred).
    var startDate: String? { status == .barred ? statusDate : nil }
    /// The alert's end date the case implies: the removal's date; none while barred.
    var endDate: String? { status == .removed ? statusDate : nil }

    /// One line of a sorted run on disk: the values tab-separated.
    var spillLine: String { "\(reference)\t\(trn)\t\(alertTypeCode)\t\(status.rawValue)\t\(statusDate)\t\(line)\n" }

    init?(spillLine text: Substring) {
        let parts = text.split(separator: "\t", omittingEmptySubsequences: false)
        guard parts.count == 6, let status = DBSReconciliationCase.Status(rawValue: String(parts[3])), let line = Int(parts[5]) else {
            return nil
        }
        self.init(
            reference: String(parts[0]), trn: String(parts[1]), alertTypeCode: String(parts[2]), status: status,
            statusDate: String(parts[4]), line: line)
    }

    /// References order byte by byte, as dqt-api pages them (`COLLATE "C"`).
    static func precedes(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
}
