public import DQTModel
public import FeedMapping
import Foundation

/// The mapping report for analysts: what a file became under its feed's mapping, as JSON and as a self-contained
/// HTML page (inline styles, no scripts, no network). Personal data is masked: PII fields show fill rates only.
public struct MappingReport {
    public let result: CheckResult
    public let feed: FeedDefinition

    public init(result: CheckResult, feed: FeedDefinition) {
        self.result = result
        self.feed = feed
    }

    public var json: JSONValue {
        func problem(_ problem: Problem) -> JSONValue { problem.json(withSeverity: false) }
        let fields: [JSONValue] = result.fields.map { profile in
            var members: [(String, JSONValue)] = [
                ("name", .string(profile.name)),
                ("column", .string(profile.column)),
                ("recordType", JSONValue(profile.recordType)),
                ("pii", .bool(profile.pii)),
                ("rows", .int(profile.rows)),
                ("filled", .int(profile.filled)),
                ("fillRate", .number(Self.rate(profile.fillRate))),
                ("invalid", .int(profile.invalid)),
            ]
            if profile.pii {
                members.append(("topValues", .string("masked")))
            } else if profile.highCardinality {
                members.append(("topValues", .string("more than \(FieldProfile.distinctLimit) distinct values")))
            } else {
                members.append(("distinctValues", .int(profile.distinctValues)))
                members.append(("topValues", .array(profile.topValues().map { .object([("value", .string($0.value)), ("count", .int($0.count))]) })))
            }
            return .object(members)
        }
        let unmapped: [JSONValue] = result.fields.flatMap { profile in
            profile.unmappedCodes.sorted { $0.key < $1.key }.map { code, count in
                .object([("field", .string(profile.name)), ("code", .string(code)), ("count", .int(count))])
            }
        }
        return .object([
            ("feed", .string(result.feed)),
            ("file", .string(result.file)),
            ("sha256", .string(result.sha256)),
            ("encoding", .string(result.encoding)),
            (
                "rows",
                .object([
                    ("read", .int(result.rowsRead)), ("accepted", .int(result.accepted)),
                    ("rejected", .int(result.rejected)), ("warnings", .int(result.rowsWithWarnings)),
                ])
            ),
            ("errors", .array(result.errors.map(problem))),
            ("warnings", .array(result.warnings.map(problem))),
            ("errorCount", .int(result.errorCount)),
            ("warningCount", .int(result.warningCount)),
            ("errorsTruncated", .bool(result.errorCount > result.errors.count)),
            (
                "summary",
                .array(
                    result.groups.map { group in
                        .object([
                            ("code", .string(group.key.code)), ("field", JSONValue(group.key.field)),
                            ("severity", .string(group.key.severity.rawValue)), ("count", .int(group.count)),
                            ("lines", .array(group.lines.map(JSONValue.int))),
                        ])
                    })
            ),
            ("fields", .array(fields)),
            ("unmappedCodes", .array(unmapped)),
            ("recordTypes", .object(result.recordTypes.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
            ("controlTotals", JSONValue(result.controlTotals)),
            ("refusal", result.refusal.map(problem) ?? .null),
            ("sender", JSONValue(result.sender)),
            ("attachments", .array(result.attachments.map(JSONValue.string))),
            (
                "mapping",
                .object([
                    ("id", .string(feed.id)), ("title", .string(feed.title)), ("partner", .string(feed.partner)),
                    ("status", .string(feed.status.rawValue)), ("replaces", .array(feed.replaces.map(JSONValue.string))),
                    ("file", .string((feed.mappingFile as NSString).lastPathComponent)),
                ])
            ),
        ])
    }

    static func rate(_ value: Double) -> String { String(format: "%.4f", value) }

    public var html: String {
        var page = HTMLPage(title: "Mapping report: \(result.file)")
        let verdict =
            result.refusal != nil
            ? ("refused", "The whole file is refused") : result.rejected > 0 ? ("partial", "Some rows are rejected") : ("ok", "Every row is accepted")
        page.raw("<header><h1>\(escape(result.file))</h1><p class=\"verdict \(verdict.0)\">\(verdict.1)</p>")
        page.raw(
            "<p>Feed <b>\(escape(feed.id))</b>: \(escape(feed.title)) from \(escape(feed.partner)) (status \(feed.status.rawValue); replaces \(escape(feed.replaces.joined(separator: ", ")))). "
        )
        page.raw("Encoding \(escape(result.encoding)). SHA-256 <code>\(result.sha256)</code>.</p></header>")
        if let sender = result.sender {
            page.raw("<p>Sent by \(escape(sender)); attachments: \(escape(result.attachments.joined(separator: ", ")))</p>")
        }
        if let refusal = result.refusal {
            page.raw(
                "<section class=\"refusal\"><h2>Why the file is refused</h2><p><code>\(escape(refusal.code))</code> \(refusal.line.map { "at line \($0)" } ?? ""): \(escape(refusal.message))</p></section>"
            )
        }
        page.raw("<section><h2>Rows</h2><table class=\"counts\"><tr><th>read</th><th>accepted</th><th>rejected</th><th>with warnings</th></tr>")
        page.raw(
            "<tr><td>\(result.rowsRead)</td><td>\(result.accepted)</td><td>\(result.rejected)</td><td>\(result.rowsWithWarnings)</td></tr></table>")
        if !result.recordTypes.isEmpty {
            page.raw(
                "<p>Record types: "
                    + result.recordTypes.sorted { $0.key < $1.key }.map { "<code>\(escape($0.key))</code> \($0.value)" }.joined(separator: ", ")
                    + "</p>")
        }
        if let totals = result.controlTotals { page.raw("<p>Control totals: \(escape(totals))</p>") }
        page.raw("</section>")

        page.raw("<section><h2>Problems by code and field</h2>")
        if result.groups.isEmpty {
            page.raw("<p>None.</p>")
        } else {
            page.raw("<table><tr><th>severity</th><th>code</th><th>field</th><th>count</th><th>first lines</th></tr>")
            for group in result.groups.sorted(by: { $0.count > $1.count }) {
                page.raw(
                    "<tr class=\"\(group.key.severity.rawValue)\"><td>\(group.key.severity.rawValue)</td><td><code>\(escape(group.key.code))</code></td><td>\(escape(group.key.field ?? "(row)"))</td><td>\(group.count)</td><td>\(group.lines.map(String.init).joined(separator: ", "))</td></tr>"
                )
            }
            page.raw("</table>")
        }
        page.raw("</section>")

        page.raw(
            "<section><h2>Fields</h2><table><tr><th>field</th><th>column</th><th>fill rate</th><th>invalid</th><th>most common values</th><th>codes with no lookup entry</th></tr>"
        )
        for profile in result.fields {
            let values =
                profile.pii
                ? "<i>masked (personal data)</i>"
                : profile.highCardinality
                    ? "<i>more than \(FieldProfile.distinctLimit) distinct values</i>"
                    : profile.topValues(5).map { "\(escape($0.value.isEmpty ? "(empty)" : $0.value)) <small>×\($0.count)</small>" }.joined(
                        separator: "<br>")
            let unmapped = profile.unmappedCodes.sorted { $0.key < $1.key }.map { "<code>\(escape($0.key))</code> ×\($0.value)" }.joined(
                separator: "<br>")
            let name = profile.recordType.map { "\(profile.name) <small>(\(escape($0)))</small>" } ?? profile.name
            page.raw(
                "<tr><td>\(name)</td><td><code>\(escape(profile.column))</code></td><td>\(String(format: "%.1f%%", profile.fillRate * 100)) <small>(\(profile.filled)/\(profile.rows))</small></td><td>\(profile.invalid)</td><td>\(values)</td><td>\(unmapped)</td></tr>"
            )
        }
        page.raw("</table></section>")

        for (title, problems, total) in [("Errors", result.errors, result.errorCount), ("Warnings", result.warnings, result.warningCount)]
        where total > 0 {
            page.raw("<section><h2>\(title) (\(total)\(total > problems.count ? ", the first \(problems.count) shown" : ""))</h2>")
            page.raw("<table><tr><th>line</th><th>field</th><th>column</th><th>code</th><th>message</th></tr>")
            for problem in problems {
                page.raw(
                    "<tr><td>\(problem.line.map(String.init) ?? "")</td><td>\(escape(problem.field ?? ""))</td><td><code>\(escape(problem.column ?? ""))</code></td><td><code>\(escape(problem.code))</code></td><td>\(escape(problem.message))</td></tr>"
                )
            }
            page.raw("</table></section>")
        }
        page.raw(
            "<footer>Mapping <code>\(escape((feed.mappingFile as NSString).lastPathComponent))</code>. Personal data fields are masked.</footer>")
        return page.finished
    }
}
