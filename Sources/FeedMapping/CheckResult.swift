/// What a check found in one file: counts, problems (the first ``CheckResult/detailLimit`` in full, all of them
/// counted), field profiles and control totals. Memory stays bounded whatever the file's size.
public struct CheckResult: Sendable {
    public static let detailLimit = 1000

    public let feed: String
    public let file: String
    public var sha256: String
    public let encoding: String
    /// For emailed exchanges: the sender and the attachments that held records.
    public var sender: String?
    public var attachments: [String] = []

    public var rowsRead = 0
    public var accepted = 0
    public var rejected = 0
    /// Accepted rows that carry at least one warning.
    public var rowsWithWarnings = 0

    /// The first problems in file order, in full.
    public private(set) var errors: [Problem] = []
    public private(set) var warnings: [Problem] = []
    public private(set) var errorCount = 0
    public private(set) var warningCount = 0
    /// Every error and warning counted by code and field, with the first lines where each occurs.
    public private(set) var groups: [ProblemGroup] = []
    private var groupIndex: [ProblemGroup.Key: Int] = [:]

    /// Set when the whole file is refused (control totals, binary content, a header that does not fit).
    public var refusal: Problem?
    public var fields: [FieldProfile] = []
    /// Data records by fixed-width record type.
    public var recordTypes: [String: Int] = [:]
    /// Control totals the trailer declared, and whether they matched.
    public var controlTotals: String?

    public init(feed: String, file: String, sha256: String, encoding: String) {
        self.feed = feed
        self.file = file
        self.sha256 = sha256
        self.encoding = encoding
    }

    mutating func record(_ problem: Problem) {
        if problem.severity == .error {
            errorCount += 1
            if errors.count < Self.detailLimit { errors.append(problem) }
        } else {
            warningCount += 1
            if warnings.count < Self.detailLimit { warnings.append(problem) }
        }
        let key = ProblemGroup.Key(code: problem.code, field: problem.field, severity: problem.severity)
        if let index = groupIndex[key] {
            groups[index].count += 1
            if let line = problem.line, groups[index].lines.count < ProblemGroup.lineLimit { groups[index].lines.append(line) }
        } else {
            groupIndex[key] = groups.count
            groups.append(ProblemGroup(key: key, count: 1, lines: problem.line.map { [$0] } ?? []))
        }
    }

    /// The process exit status `check` uses: 0 all accepted, 1 some rows rejected, 2 the file refused.
    public var exitStatus: Int32 { refusal != nil ? 2 : (rejected > 0 ? 1 : 0) }
}

public struct ProblemGroup: Sendable {
    static let lineLimit = 20
    public struct Key: Hashable, Sendable {
        public let code: String
        public let field: String?
        public let severity: Severity
    }
    public let key: Key
    public internal(set) var count: Int
    /// The first lines where it occurs.
    public internal(set) var lines: [Int]
}

/// How one mapped field was filled across a file: for analysts checking a mapping.
public struct FieldProfile: Sendable {
    public static let distinctLimit = 1000
    static let unmappedLimit = 200

    public let name: String
    public let column: String
    public let recordType: String?
    public let pii: Bool
    public internal(set) var rows = 0
    public internal(set) var filled = 0
    public internal(set) var invalid = 0
    /// Value counts, up to ``distinctLimit`` distinct values (personal data: never counted).
    var counter = ValueCounter(limit: distinctLimit)
    /// True when the field has more than ``distinctLimit`` distinct values, so no top values are kept.
    public var highCardinality: Bool { counter.saturated }
    /// Lookup codes with no entry in the mapping's table, with counts.
    public internal(set) var unmappedCodes: [String: Int] = [:]

    init(spec: FieldSpec) {
        name = spec.name
        column = spec.source.description
        recordType = spec.recordType
        pii = spec.pii
    }

    public var fillRate: Double { rows == 0 ? 0 : Double(filled) / Double(rows) }

    /// The most common values, most frequent first (ties by value).
    public func topValues(_ limit: Int = 10) -> [(value: String, count: Int)] {
        zip(counter.values, counter.counts)
            .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
            .prefix(limit)
            .map { ($0.0, $0.1) }
    }

    public var distinctValues: Int { counter.values.count }

    mutating func countUnmapped(_ code: String, _ count: Int = 1) {
        let shown = pii ? "(masked)" : code
        if unmappedCodes[shown] != nil || unmappedCodes.count < Self.unmappedLimit { unmappedCodes[shown, default: 0] += count }
    }
}
