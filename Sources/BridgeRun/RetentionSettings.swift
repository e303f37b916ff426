public import Foundation
public import Ledger

/// How long the bridge keeps what it has finished with, per ``RetentionClass``, in days (`retention:` in
/// `bridge.yaml`). A class's items older than its period are removed by `run` (its last stage) and by
/// `dqt-bridge retention`; nothing younger is touched. Defaults:
/// - `archivedFilesDays: 90`: partners' files in `processed/` and `quarantine/` (long enough to replay a quarter);
/// - `recordBodiesDays: 30`: the request bodies still kept (a shadow feed's planned calls): personal data, kept no
///   longer than a parity window;
/// - `recordsDays: 365`: the per-record rows (line, key, outcome, problems; no values), a year of evidence;
/// - `reportsDays: 90`: run and mapping reports and shadow exports in the reports folder.
public struct RetentionSettings: Sendable, Codable, Equatable {
    public var archivedFilesDays: Int?
    public var recordBodiesDays: Int?
    public var recordsDays: Int?
    public var reportsDays: Int?

    public init(archivedFilesDays: Int? = nil, recordBodiesDays: Int? = nil, recordsDays: Int? = nil, reportsDays: Int? = nil) {
        self.archivedFilesDays = archivedFilesDays
        self.recordBodiesDays = recordBodiesDays
        self.recordsDays = recordsDays
        self.reportsDays = reportsDays
    }

    /// The configuration's keys, each with its default, in ``RetentionClass`` order.
    static let keys: [(key: String, retentionClass: RetentionClass, days: Int)] = [
        ("archivedFilesDays", .archivedFiles, 90), ("recordBodiesDays", .recordBodies, 30), ("recordsDays", .records, 365),
        ("reportsDays", .reports, 90),
    ]

    /// The period of a class, in days (the configured one, else the default).
    public func days(_ retentionClass: RetentionClass) -> Int {
        let configured: Int? =
            switch retentionClass {
            case .archivedFiles: archivedFilesDays
            case .recordBodies: recordBodiesDays
            case .records: recordsDays
            case .reports: reportsDays
            }
        return configured ?? Self.keys.first { $0.retentionClass == retentionClass }!.days
    }

    /// Items of the class that became old before this are due: exactly `days` whole days before `now`.
    public func cutoff(_ retentionClass: RetentionClass, now: Date) -> Date {
        now.addingTimeInterval(-Double(days(retentionClass)) * 86_400)
    }

    /// The first period outside 1...36500 days, as a message naming its key.
    func problem(path: String) -> String? {
        for entry in Self.keys where !(1...36_500).contains(days(entry.retentionClass)) {
            return "\(path): retention.\(entry.key) must be a whole number of days, 1...36500"
        }
        return nil
    }
}
