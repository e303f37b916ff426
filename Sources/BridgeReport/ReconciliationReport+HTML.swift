import Foundation

extension ReconciliationReport {
    /// A self-contained page: the verdict, the counts, then each category's rows (TRNs masked unless unmasked).
    public var html: String {
        var page = HTMLPage(title: "Reconciliation of \(feed): \(file)")
        let verdict = agrees ? ("ok", "Agrees") : ("partial", "Differences found")
        page.raw("<header><h1>Reconciliation: \(escape(feed)) <code>\(escape(file))</code></h1>")
        page.raw("<p class=\"verdict \(verdict.0)\">\(verdict.1)</p>")
        let scopeText =
            scope == "weekly"
            ? "A weekly file: only the references it lists are compared, so alerts it does not list are not counted as only in ours."
            : "A monthly file: every case the partner holds, compared with every alert of the source."
        page.raw(
            "<p>Compared \(escape(ISO8601DateFormatter().string(from: comparedAt))) with the API's alerts of source <code>\(escape(source))</code> on \(comparedFields.map { "<code>\(escape($0))</code>" }.joined(separator: ", ")). \(escape(scopeText))</p></header>"
        )
        page.raw("<section><h2>Counts</h2><table class=\"counts\"><tr>")
        for name in ["in their file", "our alerts read", "matched", "only in theirs", "only in ours", "different"] { page.raw("<th>\(name)</th>") }
        page.raw("</tr><tr>")
        for count in [counts.theirs, counts.ours, counts.matched, counts.onlyInTheirs, counts.onlyInOurs, counts.different] {
            page.raw("<td>\(count)</td>")
        }
        page.raw("</tr></table></section>")

        section(&page, "Only in theirs", "Cases the partner holds that no alert of the source names.", onlyInTheirs, counts.onlyInTheirs)
        if scope != "weekly" {
            section(&page, "Only in ours", "Alerts of the source whose reference the partner does not hold.", onlyInOurs, counts.onlyInOurs)
        }
        page.raw("<section><h2>Different</h2>")
        if different.isEmpty {
            page.raw("<p>None.</p>")
        } else {
            page.raw("<table><tr><th>reference</th><th>line</th><th>alert</th><th>TRN</th><th>field</th><th>theirs</th><th>ours</th></tr>")
            for row in different {
                let fields = row.fields.map(shown)
                page.raw(
                    "<tr class=\"warning\"><td><code>\(escape(row.reference))</code></td><td>\(row.line)</td><td><code>\(escape(row.alertId))</code></td><td>\(escape(shown(trn: row.trn)))</td>"
                )
                page.raw("<td>\(fields.map { escape($0.field) }.joined(separator: "<br>"))</td>")
                page.raw("<td>\(fields.map { escape($0.theirs ?? "(none)") }.joined(separator: "<br>"))</td>")
                page.raw("<td>\(fields.map { escape($0.ours ?? "(none)") }.joined(separator: "<br>"))</td></tr>")
            }
            page.raw("</table>")
            if counts.different > different.count { page.raw("<p>\(counts.different - different.count) more not listed (counted above).</p>") }
        }
        page.raw("</section>")
        page.raw(
            "<footer>dqt-bridge reconciliation report, SHA-256 <code>\(escape(sha256))</code>. No name or date of birth appears here; TRNs are \(unmasked ? "shown in full (made with --unmask)" : "masked to their last two digits").</footer>"
        )
        return page.finished
    }

    private func section(_ page: inout HTMLPage, _ title: String, _ meaning: String, _ entries: [Entry], _ count: Int) {
        page.raw("<section><h2>\(title)</h2><p>\(escape(meaning))</p>")
        if entries.isEmpty {
            page.raw("<p>None.</p></section>")
            return
        }
        page.raw(
            "<table><tr><th>reference</th><th>TRN</th><th>alert type</th><th>start</th><th>end</th><th>status</th><th>line or alert</th></tr>")
        for e in entries {
            let whereText = e.line.map { "line \($0)" } ?? e.alertId.map { "alert \($0)" } ?? ""
            page.raw(
                "<tr><td><code>\(escape(e.reference))</code></td><td>\(escape(shown(trn: e.trn)))</td><td>\(escape(e.alertTypeCode))</td><td>\(escape(e.startDate ?? ""))</td><td>\(escape(e.endDate ?? ""))</td><td>\(escape(e.status ?? ""))</td><td>\(escape(whereText))</td></tr>"
            )
        }
        page.raw("</table>")
        if count > entries.count { page.raw("<p>\(count - entries.count) more not listed (counted above).</p>") }
        page.raw("</section>")
    }
}
