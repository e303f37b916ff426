import DQTTesting
import Foundation
import LibPQ
import Testing

@testable import DQTAPI

/// `dqt-api retention` against real PostgreSQL, with the clock in the test's hands: the policy anonymises (never
/// deletes) exactly the persons past its period, audits each row it changes, and a second pass changes nothing.
@Suite(.enabled(if: TestServices.shouldRun(TestServices.databaseURL)))
struct RetentionPolicyTests {
    static let deceasedOnly = RetentionPolicy(rules: [
        .init(name: "deceased", condition: .deceased, afterYears: 2, fields: [.personEmail, .employmentMemberEmail, .employmentMemberPostcode])
    ])
    static let inactiveOnly = RetentionPolicy(rules: [
        .init(name: "inactive", condition: .inactive, afterYears: 6, fields: [.personEmail, .employmentMemberEmail])
    ])

    static func date(_ iso: String) -> Date { try! Date.ISO8601FormatStyle().parse(iso) }

    /// Persons 9000001-9000005 with emails, as the tests below describe them.
    static func insertPersons(_ connection: PGConnection) throws {
        let sevenYearsAgo = "now() - interval '7 years'"
        try connection.execute(
            """
            INSERT INTO persons (trn, last_name, date_of_birth, email, date_of_death, updated_at) VALUES
              ('9000001', 'Deceased-early', '1950-01-01', 'p1@example.invalid', '2020-01-01', now()),
              ('9000002', 'Deceased-late', '1950-01-01', 'p2@example.invalid', '2021-06-01', now()),
              ('9000003', 'Inactive', '1960-01-01', 'p3@example.invalid', NULL, \(sevenYearsAgo)),
              ('9000004', 'Audited-lately', '1960-01-01', 'p4@example.invalid', NULL, \(sevenYearsAgo)),
              ('9000005', 'Employed', '1960-01-01', 'p5@example.invalid', NULL, \(sevenYearsAgo))
            """)
        func employment(_ trn: String, end: String) -> String {
            """
            ('\(trn).201.4001.20100901', '\(trn)', '201', '4001', 'AB1 2CD', 'm\(trn)@example.invalid', '2010-09-01', \(end), 'FT', false,
             '2011-01-31', 'JA100037B', '1960-01-01', 'Male', \(sevenYearsAgo))
            """
        }
        try connection.execute(
            """
            INSERT INTO employments (employment_key, trn, local_authority_code, establishment_code, member_postcode, member_email,
                start_date, end_date, employment_type, withdrawn, extract_date, nino, date_of_birth, gender, updated_at) VALUES
            \(employment("9000001", end: "'2019-07-31'")), \(employment("9000003", end: "(current_date - 2600)")),
            \(employment("9000005", end: "NULL"))
            """)
        try connection.execute(
            "INSERT INTO audit (key_name, operation, method, path, trn) VALUES ('test', 'patchPerson', 'PATCH', '/v3/persons/9000004', '9000004')")
    }

    static func email(_ trn: String, _ connection: PGConnection) throws -> String? {
        try connection.query("SELECT email FROM persons WHERE trn = $1", [.text(trn)]).string(0, "email")
    }

    @Test func deceasedPersonsAreAnonymisedOnlyAfterTheirPeriod() async throws {
        try await Harness.with { h in
            try await h.sql { connection in
                try Self.insertPersons(connection)
                let persons = try connection.query("SELECT count(*) AS n FROM persons").int(0, "n")
                // 2021-12-31: two years before is 2019-12-31, before the death on 2020-01-01: inside the period.
                let inside = try ContactRetention.apply(connection, policy: Self.deceasedOnly, asOf: Self.date("2021-12-31T12:00:00Z"), dryRun: false)
                #expect(inside.map(\.persons) == [0] && inside.map(\.employments) == [0])
                #expect(try Self.email("9000001", connection) == "p1@example.invalid")

                let asOf = Self.date("2022-01-02T12:00:00Z")
                let preview = try ContactRetention.apply(connection, policy: Self.deceasedOnly, asOf: asOf, dryRun: true)
                #expect(preview.map(\.persons) == [1] && preview.map(\.employments) == [1])
                #expect(try Self.email("9000001", connection) == "p1@example.invalid", "a dry run changes nothing")
                #expect(try connection.query("SELECT count(*) AS n FROM audit WHERE operation = 'applyRetentionPolicy'").int(0, "n") == 0)

                let applied = try ContactRetention.apply(connection, policy: Self.deceasedOnly, asOf: asOf, dryRun: false)
                #expect(applied.map(\.persons) == [1] && applied.map(\.employments) == [1])
                #expect(try Self.email("9000001", connection) == nil)
                #expect(try Self.email("9000002", connection) == "p2@example.invalid", "died 2021-06-01: still inside the period")
                let row = try connection.query(
                    "SELECT last_name, date_of_birth::text AS dob, date_of_death::text AS dod FROM persons WHERE trn = '9000001'")
                #expect(
                    row.string(0, "last_name") == "Deceased-early" && row.string(0, "dob") == "1950-01-01" && row.string(0, "dod") == "2020-01-01")
                let employment = try connection.query("SELECT member_email, member_postcode, nino FROM employments WHERE trn = '9000001'")
                #expect(employment.rowCount == 1 && employment.string(0, "member_email") == nil && employment.string(0, "member_postcode") == nil)
                #expect(employment.string(0, "nino") == "JA100037B")
                #expect(try connection.query("SELECT count(*) AS n FROM persons").int(0, "n") == persons, "nothing deleted")

                // One audit row per row changed, before and after, read by the change feed as its kind.
                let audit = try connection.query(
                    """
                    SELECT a.trn, a.key_name, a.before->>'email' AS before_email, a.after->>'email' AS after_email,
                           a.before->>'member_email' AS before_member, a.after->>'member_email' AS after_member,
                           \(ChangeFeedQuery.kind(of: "a")) AS kind
                    FROM audit a WHERE a.operation = 'applyRetentionPolicy' ORDER BY a.id
                    """)
                #expect(audit.rows.map { $0["kind"] } == ["person.updated", "employment.upserted"])
                #expect(audit.rows.allSatisfy { $0["trn"] == "9000001" && $0["key_name"] == ContactRetention.keyName })
                #expect(audit.string(0, "before_email") == "p1@example.invalid" && audit.string(0, "after_email") == nil)
                #expect(audit.string(1, "before_member") == "m9000001@example.invalid" && audit.string(1, "after_member") == nil)

                let again = try ContactRetention.apply(connection, policy: Self.deceasedOnly, asOf: asOf, dryRun: false)
                #expect(again.map(\.persons) == [0] && again.map(\.employments) == [0], "nothing left to clear")
                #expect(try connection.query("SELECT count(*) AS n FROM audit WHERE operation = 'applyRetentionPolicy'").int(0, "n") == 2)
            }
        }
    }

    @Test func inactivePersonsAreThoseWithNothingWithinThePeriod() async throws {
        try await Harness.with { h in
            try await h.sql { connection in
                try Self.insertPersons(connection)
                let now = Date()
                // Six years on from an update seven years ago, with an employment that ended about 7 years ago: inactive.
                // 9000004 has an audited change today and 9000005 a current employment; the seeded persons were loaded today.
                let applied = try ContactRetention.apply(connection, policy: Self.inactiveOnly, asOf: now, dryRun: false)
                #expect(applied.map(\.persons) == [1] && applied.map(\.employments) == [1])
                for trn in ["9000001", "9000002", "9000004", "9000005"] {
                    #expect(try Self.email(trn, connection) != nil, "\(trn)")
                }
                #expect(try Self.email("9000003", connection) == nil)
                let postcode = try connection.query("SELECT member_email, member_postcode FROM employments WHERE trn = '9000003'")
                #expect(postcode.string(0, "member_email") == nil && postcode.string(0, "member_postcode") == "AB1 2CD", "only the fields named")
                // The anonymisation is itself a change: the person is no longer inactive, and nothing is left to clear.
                #expect(try ContactRetention.apply(connection, policy: Self.inactiveOnly, asOf: now, dryRun: true).map(\.persons) == [0])
            }
        }
    }

    @Test func policyMistakesAreLocated() throws {
        let good = try RetentionPolicy.load(path: repositoryRoot.appendingPathComponent("config/retention-policy.yaml").path)
        #expect(good.rules.map(\.name) == ["contact-data-of-deceased", "contact-data-of-inactive"])
        let cases: [(String, String)] = [
            (
                "rules:\n  - name: a\n    when: deceased\n    afterYears: 2\n    anonymise: [persons.nino]\n",
                "p.yaml:5: anonymise: unknown field 'persons.nino'"
            ),
            ("rules:\n  - name: a\n    when: retired\n    afterYears: 2\n    anonymise: [persons.email]\n", "p.yaml:3: when: must be one of"),
            ("rules:\n  - name: a\n    when: deceased\n    afterYears: 0\n    anonymise: [persons.email]\n", "p.yaml:4: afterYears"),
            ("rules:\n  - name: a\n    when: deceased\n    afterYear: 2\n", "p.yaml:4: unknown key 'afterYear'"),
            ("rule: []\n", "p.yaml:1: unknown key 'rule'"),
        ]
        for (text, expected) in cases {
            #expect(throws: RetentionPolicy.PolicyError.self) { try RetentionPolicy.parse(text, path: "p.yaml") }
            do {
                _ = try RetentionPolicy.parse(text, path: "p.yaml")
            } catch {
                #expect("\(error)".hasPrefix(expected), "\(error)")
            }
        }
    }

    @Test func theCommandAppliesThePolicyFile() async throws {
        try await TemporaryDatabase.with(prefix: "dqt_api_retention_cli") { database in
            let connection = try PGConnection(database.url)
            try Migrations.migrate(connection)
            try Self.insertPersons(connection)
            let policy = repositoryRoot.appendingPathComponent("config/retention-policy.yaml").path
            let arguments = ["retention", "--database-url", database.url, "--policy", policy]
            // The shipped policy as of today: 9000001 and 9000002 died over two years ago, 9000003 is inactive.
            let dry = try await ChildProcess.run(try apiBinary(), arguments + ["--dry-run"])
            #expect(dry.status == 0, "\(dry.stderr)")
            #expect(dry.stdout.contains("contact-data-of-deceased (before ") && dry.stdout.contains("would anonymise 2 person(s), 1 employment(s)"))
            #expect(dry.stdout.contains("would anonymise 1 person(s), 1 employment(s)"), "\(dry.stdout)")
            #expect(try connection.query("SELECT count(*) AS n FROM persons WHERE email IS NULL").int(0, "n") == 0)

            let applied = try await ChildProcess.run(try apiBinary(), arguments)
            #expect(applied.status == 0 && applied.stdout.contains("anonymised 2 person(s), 1 employment(s)"), "\(applied.stdout)")
            #expect(try connection.query("SELECT count(*) AS n FROM audit WHERE operation = 'applyRetentionPolicy'").int(0, "n") == 5)
            #expect(
                try connection.query("SELECT string_agg(trn, ',' ORDER BY trn) AS t FROM persons WHERE email IS NULL").string(0, "t")
                    == "9000001,9000002,9000003")

            let broken = NSTemporaryDirectory() + "retention-policy-\(UUID().uuidString.prefix(8)).yaml"
            defer { try? FileManager.default.removeItem(atPath: broken) }
            try "rules:\n  - name: a\n    when: deceased\n    afterYears: 2\n    anonymise: [persons.last_name]\n".write(
                toFile: broken, atomically: true, encoding: .utf8)
            let refused = try await ChildProcess.run(try apiBinary(), ["retention", "--database-url", database.url, "--policy", broken])
            #expect(refused.status != 0 && refused.stderr.contains("\(broken):5: anonymise: unknown field 'persons.last_name'"), "\(refused.stderr)")
        }
    }
}
