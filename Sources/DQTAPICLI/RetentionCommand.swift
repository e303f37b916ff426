import ArgumentParser
import DQTAPI
import Foundation
import LibPQ

/// `dqt-api retention`: anonymises the contact data the retention policy names, once its period has passed.
struct Retention: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Anonymise (never delete) the contact data the retention policy names, once its period has passed.",
        discussion: """
            Each rule of the policy (--policy, default $DQT_API_RETENTION_POLICY, else config/retention-policy.yaml) names
            which persons (deceased, inactive), after how many years, and which contact fields are set to null. Every row
            changed gets an audit row (operation applyRetentionPolicy, key name retention), read by the change feed as
            person.updated or employment.upserted. A second pass changes nothing. --dry-run counts and changes nothing.
            """)
    @OptionGroup var database: DatabaseOptions
    @Option(help: "The retention policy file.")
    var policy: String = ProcessInfo.processInfo.environment["DQT_API_RETENTION_POLICY"] ?? "config/retention-policy.yaml"
    @Flag(help: "Count what would be anonymised; change nothing.") var dryRun = false

    func run() async throws {
        let loaded: RetentionPolicy
        do {
            loaded = try RetentionPolicy.load(path: policy)
        } catch {
            throw ValidationError("\(error)")
        }
        let connection = try PGConnection(try database.url())
        let now = Date()
        let results = try ContactRetention.apply(connection, policy: loaded, asOf: now, dryRun: dryRun)
        let verb = dryRun ? "would anonymise" : "anonymised"
        print("dqt-api retention\(dryRun ? " --dry-run (nothing changed)" : ""): policy \(policy), as of \(now.formatted(Date.ISO8601FormatStyle()))")
        for result in results {
            print(
                "  \(result.rule) (before \(result.cutoff.formatted(Date.ISO8601FormatStyle()))): \(verb) \(result.persons) person(s), \(result.employments) employment(s)"
            )
        }
    }
}
