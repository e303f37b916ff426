public import DQTModel
public import Foundation

/// A partner's reconciliation file compared with the API's alerts of its source, by the partner's reference: the
/// cases only in theirs, the alerts only in ours (a full file only), and the cases both hold with different values,
/// field by field. Lists keep the first ``listLimit`` rows of each category; the counts are always complete.
///
/// No name or date of birth is ever in it (neither side carries them); TRNs are masked unless made with `unmasked`.
public struct ReconciliationReport: Sendable {
    public static let listLimit = 10_000

    /// One side's view of a case: the partner's row (with its line and status) or the API's alert (with its id).
    public struct Entry: Sendable, Equatable {
        public var reference: String
        public var trn: String
        public var alertTypeCode: String
        public var startDate: String?
        public var endDate: String?
        /// Theirs: the row's status (`Barred`, `Removed`) and line.
        public var status: String?
        public var line: Int?
        /// Ours: the alert's id.
        public var alertId: String?

        public init(
            reference: String, trn: String, alertTypeCode: String, startDate: String?, endDate: String?, status: String? = nil, line: Int? = nil,
            alertId: String? = nil
        ) {
            self.reference = reference
            self.trn = trn
            self.alertTypeCode = alertTypeCode
            self.startDate = startDate
            self.endDate = endDate
            self.status = status
            self.line = line
            self.alertId = alertId
        }
    }

    /// A field the two sides disagree on.
    public struct FieldDifference: Sendable, Equatable {
        public var field: String
        public var theirs: String?
        public var ours: String?
        public init(field: String, theirs: String?, ours: String?) {
            self.field = field
            self.theirs = theirs
            self.ours = ours
        }
    }

    /// A case both sides hold, with the fields that differ.
    public struct Difference: Sendable, Equatable {
        public var reference: String
        public var line: Int
        public var alertId: String
        /// The partner's TRN for the case.
        public var trn: String
        public var fields: [FieldDifference]
        public init(reference: String, line: Int, alertId: String, trn: String, fields: [FieldDifference]) {
            self.reference = reference
            self.line = line
            self.alertId = alertId
            self.trn = trn
            self.fields = fields
        }
    }

    public struct Counts: Sendable, Equatable {
        /// Rows in the partner's file.
        public var theirs = 0
        /// Alerts of the source read from the API (all of them, for a listed-only file too).
        public var ours = 0
        public var matched = 0
        public var onlyInTheirs = 0
        public var onlyInOurs = 0
        public var different = 0
        public init() {}
    }

    public var feed: String
    public var file: String
    public var sha256: String
    /// `weekly` (only the listed references compared) or `monthly` (full).
    public var scope: String
    public var source: String
    public var comparedFields: [String]
    public var comparedAt: Date
    public var unmasked: Bool
    public var counts = Counts()
    public var onlyInTheirs: [Entry] = []
    public var onlyInOurs: [Entry] = []
    public var different: [Difference] = []

    public init(
        feed: String, file: String, sha256: String, scope: String, source: String, comparedFields: [String], comparedAt: Date, unmasked: Bool
    ) {
        self.feed = feed
        self.file = file
        self.sha256 = sha256
        self.scope = scope
        self.source = source
        self.comparedFields = comparedFields
        self.comparedAt = comparedAt
        self.unmasked = unmasked
    }

    /// True when the two sides agree on everything compared.
    public var agrees: Bool { counts.onlyInTheirs == 0 && counts.onlyInOurs == 0 && counts.different == 0 }

    /// A TRN as the report shows it: itself when unmasked, else only its last two digits.
    public func shown(trn: String) -> String { unmasked ? trn : String(repeating: "*", count: max(0, trn.count - 2)) + trn.suffix(2) }

    func shown(_ difference: FieldDifference) -> FieldDifference {
        guard difference.field == "trn" else { return difference }
        return FieldDifference(field: "trn", theirs: difference.theirs.map(shown(trn:)), ours: difference.ours.map(shown(trn:)))
    }

    public var json: JSONValue {
        func entry(_ e: Entry) -> JSONValue {
            var members: [(String, JSONValue)] = [
                ("reference", .string(e.reference)), ("trn", .string(shown(trn: e.trn))), ("alertTypeCode", .string(e.alertTypeCode)),
                ("startDate", JSONValue(e.startDate)), ("endDate", JSONValue(e.endDate)),
            ]
            if let status = e.status { members.append(("status", .string(status))) }
            if let line = e.line { members.append(("line", .int(line))) }
            if let alertId = e.alertId { members.append(("alertId", .string(alertId))) }
            return .object(members)
        }
        let different = different.map { d -> JSONValue in
            .object([
                ("reference", .string(d.reference)), ("line", .int(d.line)), ("alertId", .string(d.alertId)), ("trn", .string(shown(trn: d.trn))),
                (
                    "fields",
                    .array(
                        d.fields.map(shown).map {
                            .object([("field", .string($0.field)), ("theirs", JSONValue($0.theirs)), ("ours", JSONValue($0.ours))])
                        })
                ),
            ])
        }
        return .object([
            ("feed", .string(feed)), ("file", .string(file)), ("sha256", .string(sha256)), ("scope", .string(scope)), ("source", .string(source)),
            ("compared", .array(comparedFields.map(JSONValue.string))), ("comparedAt", .string(RFC3339DateTime.format(comparedAt))),
            ("masked", .bool(!unmasked)), ("agrees", .bool(agrees)),
            (
                "counts",
                .object([
                    ("theirs", .int(counts.theirs)), ("ours", .int(counts.ours)), ("matched", .int(counts.matched)),
                    ("onlyInTheirs", .int(counts.onlyInTheirs)), ("onlyInOurs", .int(counts.onlyInOurs)), ("different", .int(counts.different)),
                ])
            ),
            ("listLimit", .int(Self.listLimit)),
            ("onlyInTheirs", .array(onlyInTheirs.map(entry))), ("onlyInOurs", .array(onlyInOurs.map(entry))), ("different", .array(different)),
        ])
    }
}
