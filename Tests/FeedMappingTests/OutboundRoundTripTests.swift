import DQTModel
import FlatFile
import Foundation
import Testing

@testable import FeedMapping

/// Each written layout read back through the matching inbound reader gives the records that were written.
@Suite("Outbound files read back")
struct OutboundRoundTripTests {
    /// Writes the feed's fixture through a real file sink and checks that file as `inbound` would.
    func readBack(_ outbound: String, through inbound: String) throws -> (kept: [Change], calls: [PlannedCall], rejected: Int) {
        let feed = try #require(committedCatalog.outboundFeed(id: outbound))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("roundtrip-\(UUID().uuidString)-\(feed.fileName(at: goldenRunTime))")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var writer = try OutboundFileWriter(definition: feed, sink: try FileByteSink(path: path))
        var kept: [Change] = []
        let renderer = OutboundRenderer(definition: feed)
        for item in try outboundInput(feed) {
            try writer.write(item)
            if case .change(let change) = item, !(try renderer.render(item)).isEmpty { kept.append(change) }
        }
        let written = try writer.finish()
        #expect(try FileDigest.sha256(path: path) == written.sha256)
        var sink = CollectingSink()
        let result = FeedChecker(feed: try #require(committedCatalog.feed(id: inbound)), context: testContext)
            .check(.file(path: path), name: (path as NSString).lastPathComponent, sha256: written.sha256, sink: &sink)
        #expect(result.refusal == nil)
        return (kept, sink.calls, sink.rejected.count)
    }

    func body(_ call: PlannedCall) throws -> [String: String] {
        let object = try #require(try JSONSerialization.jsonObject(with: Data((call.body ?? "{}").utf8)) as? [String: String])
        return object
    }

    @Test("new records through capita-register: the person's names, date of birth, gender and previous surname")
    func newRecords() throws {
        let (kept, calls, rejected) = try readBack("capita-export-new", through: "capita-register")
        #expect(rejected == 0)
        #expect(kept.count == 3 && calls.count == kept.count, "one record (type 1, with its type 2 joined) per new person")
        for (change, call) in zip(kept, calls) {
            let after = try #require(change.after)
            #expect(call.path == "/v3/persons/\(change.trn!)")
            var expected = [
                "firstName": after["firstName"]!, "lastName": String(after["lastName"]!.prefix(17)), "dateOfBirth": after["dateOfBirth"]!,
                "gender": after["gender"]!,
            ]
            expected["middleName"] = after["middleName"]
            expected["previousLastName"] = after["previousLastName"]
            #expect(try body(call) == expected, "\(change.cursor)")
        }
    }

    @Test("amendments through capita-register: one NI or date-of-birth update per line")
    func amendments() throws {
        let (kept, calls, rejected) = try readBack("capita-export-amend", through: "capita-register")
        #expect(rejected == 0)
        var expected: [(String, [String: String])] = []
        for change in kept {
            let (before, after) = (change.before!, change.after!)
            if before["nationalInsuranceNumber"] != after["nationalInsuranceNumber"] {
                expected.append((change.trn!, ["nationalInsuranceNumber": after["nationalInsuranceNumber"]!, "gender": after["gender"]!]))
            }
            if before["dateOfBirth"] != after["dateOfBirth"] {
                expected.append((change.trn!, ["dateOfBirth": after["dateOfBirth"]!, "gender": after["gender"]!]))
            }
        }
        #expect(expected.count == 4 && calls.count == expected.count)
        for (call, (trn, fields)) in zip(calls, expected) {
            #expect(call.path == "/v3/persons/\(trn)")
            #expect(try body(call) == fields)
        }
    }

    @Test("prohibitions CSV read back by the delimited reader: the header and one row per alert change")
    func prohibitions() throws {
        // prohibition-notices reads a different layout (Prohibition code and Details, not Sanction name), so the
        // file is read as a plain CSV.
        let feed = try #require(committedCatalog.outboundFeed(id: "prohibitions-gtcs"))
        let written = try renderFixture(feed)
        var layout = DelimitedLayout()
        layout.trim = false
        var reader = try DelimitedReader(source: BytesByteSource(written.bytes), layout: layout)
        var rows: [[String]] = []
        while let item = try reader.next() {
            guard case .record(let record) = item else {
                Issue.record("unexpected issue")
                continue
            }
            rows.append(record.strings)
        }
        #expect(reader.header == ["TRN", "Date of birth", "Full name", "Sanction name", "Alert start date", "Alert end date"])
        let alerts = try outboundInput(feed).compactMap { item -> Change? in
            if case .change(let change) = item, change.kind.hasPrefix("alert.") { return change }
            return nil
        }
        #expect(rows.count == alerts.count)
        for (row, change) in zip(rows, alerts) {
            let after = change.after!
            func dmy(_ iso: String?) -> String {
                guard let iso else { return "" }
                let p = iso.split(separator: "-")
                return "\(p[2])/\(p[1])/\(p[0])"
            }
            let name = [after["firstName"], after["middleName"], after["lastName"]].compactMap { $0 }.joined(separator: " ")
            #expect(row[0] == change.trn && row[1] == dmy(after["dateOfBirth"]) && row[2] == name)
            #expect(row[3].isEmpty == false && row[4] == dmy(after["startDate"]) && row[5] == dmy(after["endDate"]))
        }
    }
}
