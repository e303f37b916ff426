import FeedMapping
import Foundation

extension EstateReport {
    static let style = """
        .server{border:1px solid #b1b4b6;border-left-width:8px;padding:.2rem 1rem 1rem;margin:1rem 0}.server.ok{border-left-color:#00703c;background:#fff}
        .server.refused{border-left-color:#d4351c;background:#fff}.server h3{margin:.6rem 0}.server .verdict{font-size:.9rem;margin-left:.5rem}
        .badge{display:inline-block;padding:0 .4rem;border-radius:.2rem;font-size:.8rem;font-weight:bold;color:#fff;white-space:nowrap}
        .badge.live{background:#00703c}.badge.shadow{background:#f47738;color:#0b0c0c}.badge.legacy{background:#505a5f}.badge.retired{background:#1d70b8}
        .badge.broken,.badge.late{background:#d4351c}.badge.done{background:#00703c}.badge.todo{background:#f3f2f1;color:#0b0c0c;border:1px solid #b1b4b6}
        ul.missing{margin:0;padding-left:1.1rem}.feed{margin-bottom:.5rem}.feed:last-child{margin-bottom:0}td.entry b{display:block}
        .late-list{border-left:6px solid #d4351c;padding:.2rem 1rem;background:#fdf0ee}.summary-counts td{font-size:1.3rem;font-weight:bold}
        """

    public var html: String {
        var page = HTMLPage(title: "Legacy estate: what is left to switch off", style: Self.style)
        let done = progress.entries.filter(\.done).count
        let switchable = progress.servers.filter(\.canSwitchOff)
        page.raw("<header><h1>Legacy estate: what is left to switch off</h1>")
        page.raw(
            "<p>As of \(escape(ArrivalCheck.format(generatedAt))). The SFTP server, the SSIS server and the TQ unit mailbox go when every job and exchange on them has been replaced and switched off.</p>"
        )
        let verdict =
            switchable.count == progress.servers.count
            ? ("ok", "Every server can be switched off today")
            : switchable.isEmpty
                ? ("refused", "No server can be switched off yet")
                : ("partial", "Can be switched off today: " + switchable.map(\.server.title).joined(separator: "; "))
        page.raw("<p class=\"verdict \(verdict.0)\">\(escape(verdict.1))</p>")
        page.raw(
            "<table class=\"summary-counts\"><tr><th>jobs and exchanges</th><th>done</th><th>still to do</th><th>servers that can go today</th><th>files late</th></tr>"
        )
        page.raw(
            "<tr><td>\(progress.entries.count)</td><td>\(done)</td><td>\(progress.entries.count - done)</td><td>\(switchable.count) of \(progress.servers.count)</td><td>\(lateFeeds.count)</td></tr></table></header>"
        )
        if !lateFeeds.isEmpty {
            page.raw("<section class=\"late-list\"><h2>Files late</h2><ul>")
            for feed in lateFeeds { page.raw("<li><b>\(escape(feed.id))</b>: \(escape(feed.arrival!.summary))</li>") }
            page.raw("</ul></section>")
        }

        page.raw("<section><h2>Servers</h2>")
        for server in progress.servers { page.raw(serverHTML(server)) }
        page.raw("</section>")

        let groups: [(EstateEntry.Kind, String)] = [
            (.ssisJob, "SSIS jobs"), (.email, "Email exchanges (TQ unit mailbox)"), (.portal, "Capita file portal exchanges"),
            (.other, "Other exchanges"),
        ]
        for (kind, title) in groups {
            let entries = progress.entries.filter { $0.entry.kind == kind }
            guard !entries.isEmpty else { continue }
            page.raw("<section><h2>\(title) (\(entries.filter(\.done).count) of \(entries.count) done)</h2>")
            page.raw(
                "<table><tr><th>job or exchange</th><th>runs on</th><th>legacy side</th><th>replaced by</th><th>feeds: state, last file, parity over the last \(parityFiles) files, expected arrival</th><th>what is missing</th></tr>"
            )
            for entry in entries { page.raw(entryHTML(entry)) }
            page.raw("</table></section>")
        }

        page.raw(
            """
            <section><h2>How to read this page</h2><ul>
            <li>A job or exchange is <b>done</b> when its legacy side is switched off (disabled or removed) and its replacement is complete: every feed live or retired, nothing still planned, its capability available, its decision agreed, its layout known.</li>
            <li>A server <b>can be switched off</b> when every job and exchange still on it is done. One whose legacy side is removed is no longer on any server.</li>
            <li>Feed states: <span class="badge legacy">legacy</span> not read by the bridge yet, <span class="badge shadow">shadow</span> read and compared with the legacy job but not published, <span class="badge live">live</span> published by the bridge, <span class="badge retired">retired</span> switched off with its legacy job.</li>
            <li>Parity: of the rows compared between the bridge and the legacy job over a feed's last files, how many agreed.</li>
            <li>Expected arrival: when a partner's file is due (Europe/London time) and whether it came; a late file also raises the <code>dqt_bridge_feed_file_late</code> alert.</li>
            </ul></section>
            <footer>Written by <code>dqt-bridge estate</code> from <code>mappings/estate/inventory.yaml</code>, the feed mappings and the bridge's ledger. No personal data: file names, states, counts and dates only.</footer>
            """)
        return page.finished
    }

    private func serverHTML(_ server: EstateProgress.Server) -> String {
        let blocking = server.blocking
        let verdict =
            server.canSwitchOff
            ? "<span class=\"verdict ok\">Can be switched off today</span>"
            : "<span class=\"verdict refused\">Not yet: \(blocking.count) of \(server.entries.count) still on it not done</span>"
        var html = "<div class=\"server \(server.canSwitchOff ? "ok" : "refused")\"><h3>\(escape(server.server.title))\(verdict)</h3>"
        if let notes = server.server.notes { html += "<p><small>\(escape(notes))</small></p>" }
        if !blocking.isEmpty {
            html += "<table><tr><th>still on it</th><th>why it cannot go yet</th></tr>"
            for entry in blocking {
                html +=
                    "<tr><td>\(escape(entry.entry.title))<br><small><code>\(escape(entry.entry.id))</code></small></td><td><ul class=\"missing\">"
                    + entry.missing.map { "<li>\(escape($0))</li>" }.joined() + "</ul></td></tr>"
            }
            html += "</table>"
        }
        let ready = server.entries.filter(\.done)
        if !ready.isEmpty { html += "<p>Done, going with the server: " + ready.map { escape($0.entry.title) }.joined(separator: "; ") + "</p>" }
        return html + "</div>"
    }

    private func entryHTML(_ judged: EstateProgress.Entry) -> String {
        let entry = judged.entry
        var replacement: [String] = []
        if !entry.feeds.isEmpty { replacement.append("feeds " + entry.feeds.map { "<code>\(escape($0))</code>" }.joined(separator: ", ")) }
        if !entry.planned.isEmpty {
            replacement.append("planned feeds " + entry.planned.map { "<code>\(escape($0))</code>" }.joined(separator: ", "))
        }
        if let capability = entry.capability {
            replacement.append("\(escape(capability.name)) <small>(\(capability.available ? "available" : "not available yet"))</small>")
        }
        if let decision = entry.decision {
            let outcome = decision.outcome == .retire ? "Retired without replacement" : "Replaced by another service"
            replacement.append("<b>\(outcome)</b> <small>(\(decision.agreed ? "agreed" : "proposed"))</small>: \(escape(decision.reason))")
        }
        if entry.layoutUnknown != nil { replacement.append("<b>Layout unknown</b>") }
        let feedCells = entry.feeds.compactMap { feeds[$0] }.map(feedHTML).joined()
        let missing =
            judged.done
            ? "<span class=\"badge done\">done</span>"
            : "<ul class=\"missing\">" + judged.missing.map { "<li>\(escape($0))</li>" }.joined() + "</ul>"
        let notes = entry.notes.map { "<br><small>\(escape($0))</small>" } ?? ""
        return
            "<tr><td class=\"entry\"><b>\(escape(entry.title))</b><small><code>\(escape(entry.id))</code></small>\(notes)</td><td>\(entry.servers.map(escape).joined(separator: ", "))</td>"
            + "<td>\(entry.legacy.rawValue)</td><td>\(replacement.joined(separator: "<br>"))</td><td>\(feedCells)</td><td>\(missing)</td></tr>"
    }

    private func feedHTML(_ feed: Feed) -> String {
        let badge =
            feed.status.map { "<span class=\"badge \($0.rawValue)\">\($0.rawValue)</span>" } ?? "<span class=\"badge broken\">does not load</span>"
        var lines = ["<b>\(escape(feed.id))</b> \(badge) <small>\(feed.outbound ? "outbound" : "inbound")</small>"]
        if let last = feed.lastFile {
            lines.append(
                "\(feed.outbound ? "last delivered" : "last file"): \(escape(last.name)) <small>(\(escape(last.state)), \(escape(ArrivalCheck.format(last.at))))</small>"
            )
        } else {
            lines.append(feed.outbound ? "nothing delivered yet" : "no file yet")
        }
        if let agreement = feed.parityAgreement {
            let compared = feed.parity.map(\.rowsCompared).reduce(0, +)
            let agreed = feed.parity.map(\.rowsAgreed).reduce(0, +)
            lines.append(
                String(format: "parity %.1f%%", agreement * 100) + " <small>(\(agreed) of \(compared) rows over \(feed.parity.count) files)</small>")
        } else {
            lines.append("no parity yet")
        }
        if let arrival = feed.arrival {
            let late = arrival.isLate ? "<span class=\"badge late\">late</span> " : ""
            lines.append("\(late)\(escape(arrival.summary))")
        }
        return "<div class=\"feed\">" + lines.joined(separator: "<br>") + "</div>"
    }
}
