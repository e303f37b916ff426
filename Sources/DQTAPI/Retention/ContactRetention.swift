public import Foundation
public import LibPQ

/// Applies a ``RetentionPolicy``: for each rule, the persons it applies to as of `asOf` have the rule's contact fields
/// set to null, in their own rows and their employments' rows. Never deletes a row.
///
/// Invariants: a person is chosen and changed in one transaction that locks their row, so a write racing the pass
/// either lands first (and the person is no longer inactive) or waits; every changed row gets one audit row in the
/// same transaction (operation ``operationID``, key name ``keyName``), which the change feed reads as
/// `person.updated` or `employment.upserted`; a row with nothing left to clear is not touched again, so a second pass
/// changes nothing. The period is judged against `asOf`, which callers take from their clock.
public enum ContactRetention {
    /// The audit's operation for changes made by the retention policy.
    public static let operationID = "applyRetentionPolicy"
    /// The audit's key name: no API key makes these changes.
    public static let keyName = "retention"
    /// Persons per transaction.
    static let batchSize = 500

    /// What one rule changed (or, for a dry run, would change).
    public struct RuleResult: Sendable, Equatable {
        public var rule: String
        /// Persons whose own row had a field to clear.
        public var persons: Int
        /// Employment rows that had a field to clear.
        public var employments: Int
        /// Everything before this was due.
        public var cutoff: Date
    }

    public static func apply(_ connection: PGConnection, policy: RetentionPolicy, asOf: Date, dryRun: Bool) throws -> [RuleResult] {
        let correlation = UUID().uuidString.lowercased()
        return try policy.rules.map { rule in
            let cutoff = Self.cutoff(years: rule.afterYears, before: asOf)
            let parameters: [PGValue?] = [.timestamp(cutoff)]
            if dryRun {
                let persons = try count(
                    "SELECT count(*) AS n FROM persons p WHERE \(condition(rule)) AND \(dirty(rule, "persons", "p"))", parameters, connection)
                let employments = try count(
                    "SELECT count(*) AS n FROM employments e JOIN persons p ON p.trn = e.trn WHERE \(condition(rule)) AND \(dirty(rule, "employments", "e"))",
                    parameters, connection)
                return RuleResult(rule: rule.name, persons: persons, employments: employments, cutoff: cutoff)
            }
            var result = RuleResult(rule: rule.name, persons: 0, employments: 0, cutoff: cutoff)
            var after = ""
            while true {
                let done = try connection.transaction { connection -> Bool in
                    let trns = try connection.query(
                        """
                        SELECT p.trn FROM persons p WHERE p.trn > $2 AND \(condition(rule))
                          AND (\(dirty(rule, "persons", "p")) OR EXISTS (SELECT 1 FROM employments e WHERE e.trn = p.trn AND \(dirty(rule, "employments", "e"))))
                        ORDER BY p.trn LIMIT $3 FOR UPDATE OF p
                        """, parameters + [.text(after), .int(batchSize)]
                    ).rows.compactMap { $0["trn"] }
                    guard let last = trns.last else { return true }
                    after = last
                    result.persons += try clear(rule, table: "persons", key: "trn", trns: trns, correlation: correlation, connection)
                    result.employments += try clear(
                        rule, table: "employments", key: "employment_key", trns: trns, correlation: correlation, connection)
                    return trns.count < batchSize
                }
                if done { return result }
            }
        }
    }

    /// Clears the rule's columns of `table` in the rows of these persons that have one set, auditing each row changed.
    static func clear(_ rule: RetentionPolicy.Rule, table: String, key: String, trns: [String], correlation: String, _ connection: PGConnection)
        throws -> Int
    {
        let columns = rule.columns(of: table)
        guard !columns.isEmpty else { return 0 }
        let sets = columns.map { "\($0) = NULL" }.joined(separator: ", ")
        return try connection.execute(
            """
            WITH old AS (SELECT t.\(key) AS id, to_json(t) AS before FROM \(table) t WHERE t.trn = ANY($1::text[]) AND \(dirty(rule, table, "t"))),
            changed AS (UPDATE \(table) t SET \(sets), updated_at = now() FROM old WHERE t.\(key) = old.id
                        RETURNING t.trn, old.before, to_json(t) AS after)
            INSERT INTO audit (key_name, correlation_id, operation, method, path, trn, before, after)
            SELECT $2, $3, $4, 'RETENTION', $5, trn, before, after FROM changed
            """,
            [.textArray(trns), .text(keyName), .text(correlation), .text(operationID), .text("/retention/\(rule.name)")])
    }

    /// The cutoff's day in UTC, for dates (of death, of an employment's end).
    static let cutoffDay = "($1::timestamptz AT TIME ZONE 'UTC')::date"

    /// The persons (alias `p`) the rule applies to: $1 the cutoff instant.
    static func condition(_ rule: RetentionPolicy.Rule) -> String {
        switch rule.condition {
        case .deceased:
            return "p.date_of_death IS NOT NULL AND p.date_of_death < \(cutoffDay)"
        case .inactive:
            return """
                p.updated_at < $1 AND NOT EXISTS (SELECT 1 FROM audit a WHERE a.trn = p.trn AND a.at >= $1)
                  AND NOT EXISTS (SELECT 1 FROM employments c WHERE c.trn = p.trn AND (c.end_date IS NULL OR c.end_date >= \(cutoffDay) OR c.updated_at >= $1))
                """
        }
    }

    /// A row of `table` (alias) with at least one of the rule's columns still set; false when the rule clears none there.
    static func dirty(_ rule: RetentionPolicy.Rule, _ table: String, _ alias: String) -> String {
        let columns = rule.columns(of: table)
        return columns.isEmpty ? "false" : "(" + columns.map { "\(alias).\($0) IS NOT NULL" }.joined(separator: " OR ") + ")"
    }

    static func count(_ sql: String, _ parameters: [PGValue?], _ connection: PGConnection) throws -> Int {
        try connection.query(sql, parameters).int(0, "n") ?? 0
    }

    /// `years` calendar years before `date`, in UTC.
    public static func cutoff(years: Int, before date: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(byAdding: .year, value: -years, to: date)!
    }
}
