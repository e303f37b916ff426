import AsyncHTTPClient
import BridgeRun
import DQTTesting
import FileSources
import Foundation
import LibPQ
import NIOCore
import NIOHTTP1
import Testing

/// Keyed notices through the real mail path: Dovecot over TLS as the mail drop, `dqt-bridge run`'s runner, dqt-api on
/// loopback. A notice names its alert by partner and reference, so however often it is resent, corrected or ended, the
/// person has one alert.
@Suite("Keyed notices from the mailbox", .serialized, .enabled(if: BridgeHarness.binaryAndServicesAvailable && TestMailboxes.available))
struct KeyedNoticeRunTests {
    static let feeds = ["dbs-notices", "prohibition-notices"]

    @Test("A DBS notice and a GTC NI notice: applied once, resent unchanged, corrected in place, ended, always one alert each")
    func resentCorrectedAndEnded() async throws {
        try await BridgeHarness.with { h in
            let mail = try TestMailboxes()
            defer { mail.remove() }
            let mappings = try h.mappingsWithLiveEmailFeeds()
            let config = try h.configuration {
                $0.mappings = mappings
                mail.use(in: &$0)
                $0.feeds["dbs-notices"] = RunConfiguration.FeedOverride(
                    source: .imap, folder: mail.inbox, stableSeconds: 0, minimumAgeSeconds: 0)
            }
            let dbs = KeyedNotice.dbs(trn: "1000031", dateOfBirth: "10/08/1967")
            let gtcni = KeyedNotice.gtcni(trn: "1000041", dateOfBirth: "12/06/1967")
            let before = (dbs: try await h.alerts(of: dbs.trn).count, gtcni: try await h.alerts(of: gtcni.trn).count)

            // Step by step, each notice in an email of its own: the API's outcome for every row, and the one alert.
            let steps: [(what: String, dbs: String, gtcni: String, outcome: String)] = [
                (
                    "first notice", dbs.barred(details: "Included in the children's barred list"), gtcni.notice(details: "Removed from the register"),
                    "Created"
                ),
                (
                    "the same rows in a re-exported file", dbs.barred(details: "Included in the children's barred list", lineEnd: "\n"),
                    gtcni.notice(details: "Removed from the register", lineEnd: "\n"), "Unchanged"
                ),
                (
                    "corrected details", dbs.barred(details: "Included in the children's barred list on review"),
                    gtcni.notice(details: "Removed from the register on appeal"), "Updated"
                ),
                (
                    "ended", dbs.removed(details: "Included in the children's barred list on review"),
                    gtcni.notice(details: "Removed from the register on appeal", endDate: "18/11/2026"), "Updated"
                ),
            ]
            for step in steps {
                try mail.deliver(KeyedNotice.email(from: "notices@dbs.example", csv: step.dbs), scratch: h.scratch)
                try mail.deliver(KeyedNotice.email(from: "regulation@gtcni.example", csv: step.gtcni), scratch: h.scratch)
                let run = try await h.run(config, feeds: Self.feeds)
                #expect(run.exitStatus == 0, "\(step.what): \(run.summary)")
                for feed in Self.feeds {
                    #expect(try await h.latestOutcomes(feed: feed) == [step.outcome], "\(step.what): \(feed)")
                }
                #expect(try await h.alerts(of: dbs.trn).count == before.dbs + 1, "\(step.what)")
                #expect(try await h.alerts(of: gtcni.trn).count == before.gtcni + 1, "\(step.what)")
            }
            let dbsAlert = try #require(try await h.alerts(of: dbs.trn).first { $0["startDate"] as? String == "2026-11-16" })
            #expect(dbsAlert["details"] as? String == "Included in the children's barred list on review")
            #expect(dbsAlert["endDate"] as? String == "2026-11-19")
            #expect((dbsAlert["alertType"] as? [String: Any])?["name"] as? String == "Included in the DBS children's barred list")
            let gtcniAlert = try #require(try await h.alerts(of: gtcni.trn).first { $0["startDate"] as? String == "2026-11-09" })
            #expect(gtcniAlert["details"] as? String == "Removed from the register on appeal")
            #expect(gtcniAlert["endDate"] as? String == "2026-11-18")
            #expect(try await h.apiInt("SELECT count(*) FROM alerts WHERE source = 'dbs' AND reference = 'DBS0000412345'") == 1)
            #expect(try await h.apiInt("SELECT count(*) FROM alerts WHERE source = 'gtcni' AND reference = 'GTCNI/DC/2026/017'") == 1)

            // The first email again, byte for byte but for its message id: its records' keys were applied, nothing changes.
            let writes = try await h.appliedWrites()
            let audited = try await h.apiInt("SELECT count(*) FROM audit WHERE trn IN ('1000031', '1000041')")
            try mail.deliver(KeyedNotice.email(from: "notices@dbs.example", csv: steps[0].dbs), scratch: h.scratch)
            let resent = try await h.run(config, feeds: Self.feeds)
            #expect(resent.exitStatus == 0, "\(resent.summary)")
            #expect(try await h.appliedWrites() == writes)
            #expect(try await h.apiInt("SELECT count(*) FROM audit WHERE trn IN ('1000031', '1000041')") == audited)
            #expect(try await h.alerts(of: dbs.trn).count == before.dbs + 1)
            #expect(try mail.server.uids(in: mail.inbox).isEmpty)
            #expect(try mail.server.uids(in: mail.processed).count == 2 * steps.count + 1)

            let keyed = try await h.apiInt(
                "SELECT count(*) FROM alerts WHERE (source, reference) IN (('dbs', 'DBS0000412345'), ('gtcni', 'GTCNI/DC/2026/017'))")
            let made = try await h.alerts(of: dbs.trn).count - before.dbs + h.alerts(of: gtcni.trn).count - before.gtcni
            SuiteTable.append(
                SuiteRow(
                    suite: "faults", scenario: "mailbox: a DBS and a GTC NI notice resent, re-exported, corrected and ended (keyed alerts)",
                    runs: steps.count + 1, expected: 2, applied: min(keyed, 2), lost: max(0, 2 - keyed), duplicated: max(0, made - 2),
                    refused: 0, reasons: "", ok: keyed == 2 && made == 2))
        }
    }
}

/// Notices in the layouts of `mappings/dbs-notices.yaml` and `mappings/prohibition-notices.yaml`, for one person.
enum KeyedNotice {
    struct DBS {
        let trn: String
        let dateOfBirth: String
        let reference = "DBS0000412345"

        func barred(details: String, lineEnd: String = "\r\n") -> String { rows("Barred,16/11/2026", details, lineEnd) }
        func removed(details: String) -> String { rows("Removed,19/11/2026", details, "\r\n") }

        private func rows(_ decision: String, _ details: String, _ lineEnd: String) -> String {
            "DBS reference,TRN,Surname,Forenames,Date of birth,Barred list,Decision,Decision date,Barred from,Details" + lineEnd
                + "\(reference),\(trn),Ffug,Person,\(dateOfBirth),Children,\(decision),16/11/2026,\(details)" + lineEnd
        }
    }

    struct GTCNI {
        let trn: String
        let dateOfBirth: String

        func notice(details: String, endDate: String = "", lineEnd: String = "\r\n") -> String {
            "TRN,Date of birth,Full name,Prohibition code,Details,Alert start date,Alert end date,Reference" + lineEnd
                + "\(trn),\(dateOfBirth),Ffug Person,T1,\(details),09/11/2026,\(endDate),GTCNI/DC/2026/017" + lineEnd
        }
    }

    static func dbs(trn: String, dateOfBirth: String) -> DBS { DBS(trn: trn, dateOfBirth: dateOfBirth) }
    static func gtcni(trn: String, dateOfBirth: String) -> GTCNI { GTCNI(trn: trn, dateOfBirth: dateOfBirth) }

    /// An email from `sender` with `csv` attached, DKIM-verified for its domain as our receiving MTA records it; every
    /// email has its own message id, so a resent attachment comes in a new message.
    static func email(from sender: String, csv: String) -> Data {
        let domain = sender.split(separator: "@").last.map(String.init) ?? ""
        let encoded = Data(csv.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        return Data(
            """
            Authentication-Results: mx.tq.education.gov.example; dkim=pass header.d=\(domain)\r
            From: <\(sender)>\r
            To: tq-unit@education.gov.example\r
            Subject: Notices\r
            Message-ID: <\(UUID().uuidString)@\(domain)>\r
            MIME-Version: 1.0\r
            Content-Type: multipart/mixed; boundary="b1"\r
            \r
            --b1\r
            Content-Type: text/csv; name="notices.csv"\r
            Content-Disposition: attachment; filename="notices.csv"\r
            Content-Transfer-Encoding: base64\r
            \r
            \(encoded)\r
            --b1--\r

            """.utf8)
    }
}

extension BridgeHarness {
    /// A copy of the mappings with every email feed live, so that their emails are published.
    func mappingsWithLiveEmailFeeds() throws -> String {
        let mappings = joinPath(scratch, "mappings-live-email")
        try FileManager.default.copyItem(atPath: joinPath(Self.repository, "mappings"), toPath: mappings)
        for feed in KeyedNoticeRunTests.feeds {
            let path = joinPath(mappings, "\(feed).yaml")
            let live = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "status: shadow", with: "status: live")
            try live.write(toFile: path, atomically: true, encoding: .utf8)
        }
        return mappings
    }

    /// `GET /v3/persons/{trn}/alerts`: the person's alerts as the API serves them.
    func alerts(of trn: String) async throws -> [[String: Any]] {
        var request = HTTPClientRequest(url: apiBaseURL.absoluteString + "/v3/persons/\(trn)/alerts")
        request.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        let response = try await httpClient.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        #expect(response.status == .ok)
        let object = try JSONSerialization.jsonObject(with: Data(String(buffer: body).utf8)) as? [String: Any]
        return object?["alerts"] as? [[String: Any]] ?? []
    }

    /// The API's outcome (Created, Updated, Unchanged) for each record of the feed's latest file, in file order: the
    /// ledger's keys, and the answers the API stored under them.
    func latestOutcomes(feed: String) async throws -> [String] {
        let keys = try ledgerQuery { connection in
            let result = try connection.query(
                """
                SELECT key FROM bridge.records WHERE file_id = (SELECT max(id) FROM bridge.files WHERE feed = $1 AND state = 'published')
                ORDER BY seq
                """, [.text(feed)])
            return (0..<result.rowCount).compactMap { result.string($0, "key") }
        }
        var outcomes: [String] = []
        for key in keys {
            let response = try await apiPool.withConnection { connection in
                try connection.query("SELECT response FROM idempotency_keys WHERE idempotency_key = $1", [.text(key)]).string(0, "response")
            }
            let object = response.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            outcomes.append(object?["outcome"] as? String ?? "no answer")
        }
        return outcomes
    }
}
