import Foundation

extension ParityReport {
    /// A self-contained page: the verdict, the confusion matrix, the disagreements and the read-back.
    public var html: String {
        var page = HTMLPage(title: "Parity of \(feed) file \(fileID)")
        let percent = String(format: "%.3f", agreementPercent)
        let verdict = matrix.compared == matrix.agreed ? ("ok", "Full agreement") : ("partial", "\(percent) % agreement")
        page.raw("<header><h1>Parity: \(escape(feed)), file \(fileID) <code>\(escape(fileName))</code></h1>")
        page.raw("<p class=\"verdict \(verdict.0)\">\(escape(verdict.1))</p>")
        page.raw(
            "<p>Compared \(ISO8601DateFormatter().string(from: comparedAt)) with the legacy outcome <code>\(escape(legacySource))</code> (\(legacyRows) rows). \(matrix.agreed) of \(matrix.compared) rows agreed.</p></header>"
        )
        page.raw("<section><h2>Accepted and rejected, both sides</h2><table>")
        page.raw("<tr><th></th><th>legacy accepted (Success, Warning)</th><th>legacy rejected (Failure)</th><th>not in the legacy outcome</th></tr>")
        page.raw(
            "<tr><th>bridge accepted</th><td>\(matrix.bothAccepted)</td><td>\(matrix.onlyBridgeAccepted)</td><td rowspan=\"2\">\(matrix.missingInLegacy)</td></tr>"
        )
        page.raw("<tr><th>bridge rejected</th><td>\(matrix.onlyLegacyAccepted)</td><td>\(matrix.bothRejected)</td></tr>")
        page.raw("<tr><th>no bridge row</th><td colspan=\"2\">\(matrix.missingInBridge)</td><td></td></tr></table></section>")

        page.raw("<section><h2>Disagreements</h2>")
        if disagreements.isEmpty {
            page.raw("<p>None.</p>")
        } else {
            page.raw("<table><tr><th>line</th><th>bridge</th><th>legacy</th><th>field</th><th>code</th><th>legacy message</th></tr>")
            for row in disagreements {
                let fields = row.problems.map { escape($0.field ?? "") }.joined(separator: "<br>")
                let codes = row.problems.map { "<code>\(escape($0.code))</code>" }.joined(separator: "<br>")
                let legacyMessage = escape(shownMessage(row.legacyMessage) ?? "")
                page.raw(
                    "<tr class=\"error\"><td>\(row.line)</td><td>\(row.bridge.rawValue)</td><td>\(escape(row.legacy))</td><td>\(fields)</td><td>\(codes)</td><td>\(legacyMessage)</td></tr>"
                )
            }
            page.raw("</table>")
            if disagreementsNotListed > 0 { page.raw("<p>\(disagreementsNotListed) more disagreements not listed (counted above).</p>") }
        }
        page.raw("</section><section><h2>Planned writes against the API's state</h2><table class=\"counts\"><tr>")
        for kind in ReadBackClass.allCases { page.raw("<th>\(kind.rawValue)</th>") }
        page.raw("</tr><tr>")
        for kind in ReadBackClass.allCases { page.raw("<td>\(readBack[kind] ?? 0)</td>") }
        page.raw("</tr></table>")
        if !changedFields.isEmpty {
            page.raw("<p>Fields that would change: ")
            page.raw(changedFields.sorted { $0.key < $1.key }.map { "<code>\(escape($0.key))</code> \($0.value)" }.joined(separator: ", "))
            page.raw("</p>")
        }
        if !readBackRows.isEmpty {
            page.raw("<table><tr><th>line</th><th>class</th><th>fields</th><th>note</th></tr>")
            for row in readBackRows {
                page.raw(
                    "<tr><td>\(row.line)</td><td>\(row.kind.rawValue)</td><td>\(escape(row.fields.joined(separator: ", ")))</td><td>\(escape(row.note ?? ""))</td></tr>"
                )
            }
            page.raw("</table>")
            if readBackNotListed > 0 { page.raw("<p>\(readBackNotListed) more writes not listed (counted above).</p>") }
        }
        page.raw("</section>")
        page.raw(
            "<footer>dqt-bridge parity report. No value from the file appears here; the legacy job's messages are masked unless the report was made with --unmask.</footer>"
        )
        return page.finished
    }
}
