import BridgeRun
import DQTTesting
import FeedMapping
import FileSources
import Foundation
import LibPQ
import Testing

/// GIAS establishments from a local HTTPS server (a CA made for the test) and the TPS establishments file from SFTP,
/// through the run into dqt-api; then a workforce file whose rows dqt-api checks against them.
@Suite(.enabled(if: BridgeHarness.servicesAvailable || TestServices.isCI))
struct EstablishmentsEndToEndTests {
    /// The repository's mappings with these feeds made live (the GIAS feed is `legacy` in the repository).
    static func liveMappings(in scratch: String) throws -> String {
        let folder = joinPath(scratch, "mappings")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let source = joinPath(BridgeHarness.repository, "mappings")
        for name in try FileManager.default.contentsOfDirectory(atPath: source) where name.hasSuffix(".yaml") {
            var text = try String(contentsOfFile: joinPath(source, name), encoding: .utf8)
            if ["gias-establishments.yaml", "tps-establishments.yaml", "tps-workforce.yaml"].contains(name) {
                text = text.replacingOccurrences(of: "\nstatus: legacy\n", with: "\nstatus: live\n")
                    .replacingOccurrences(of: "\nstatus: shadow\n", with: "\nstatus: live\n")
            }
            try text.write(toFile: joinPath(folder, name), atomically: true, encoding: .utf8)
        }
        return folder
    }

    /// A GIAS file (Windows-1252) of three establishments: 201/4001 open, 201/4002 closed on 31 July 2020, 202/4003 open.
    static let gias: Data = {
        let header = [
            "URN", "LA (code)", "LA (name)", "EstablishmentNumber", "EstablishmentName", "TypeOfEstablishment (code)",
            "TypeOfEstablishment (name)", "EstablishmentTypeGroup (code)", "EstablishmentTypeGroup (name)", "EstablishmentStatus (code)",
            "EstablishmentStatus (name)", "OpenDate", "CloseDate", "PhaseOfEducation (code)", "PhaseOfEducation (name)", "NumberOfPupils",
            "PercentageFSM", "Street", "Locality", "Address3", "Town", "County (name)", "Postcode", "UKPRN",
        ]
        func row(_ urn: String, _ la: String, _ number: String, _ name: String, closed: String) -> String {
            let status = closed.isEmpty ? "1,Open" : "2,Closed"
            return "\(urn),\(la),Somewhere,\(number),\(name),1,Community school,4,Local authority maintained schools,\(status),"
                + "01-09-1990,\(closed),2,Primary,210,12.5,1 High Street,,,London,,EC1 1AA,10000001\r\n"
        }
        let text =
            header.joined(separator: ",") + "\r\n" + row("100001", "201", "4001", "Caf\u{e9} Lane Primary School", closed: "")
            + row("100002", "201", "4002", "Riverside School", closed: "31-07-2020") + row("100003", "202", "4003", "Oakfield Academy", closed: "")
        return text.data(using: .windowsCP1252)!
    }()

    static let tpsEstablishments =
        "LA Code,Establishment Code,EMPS Name,SCHL (GIAS) Name,School Closed Date\r\n330,4005,KINGSMEAD,KINGSMEAD SCHOOL,\r\n"
        + "330,4006,ELMHURST,ELMHURST SCHOOL,31/12/2018\r\n"

    static let workforceHeader =
        "RESTRICTED\r\nTeachers Pensions Reference Number (TRN),National Insurance Number (NINO),Date of Birth (DOB),Date of Death,"
        + "Postcode,Email Address (Member),Local Authority Code,Establishment Code,Postcode (Establishment),"
        + "Email Address (Establishment),Start Date,End Date,Full Time / Part Time Indicator,Withdrawal Indicator,Extract Date,Gender\r\n"

    static func workforceRow(trn: String, la: String, establishment: String, start: String) -> String {
        "\(trn),JB100037B,04/02/1967,,B1 1AA,,\(la),\(establishment),B2 2BB,,\(start),,FT,,25/10/2026,Male\r\n"
    }

    @Test("GIAS over HTTPS and TPS establishments over SFTP reach dqt-api; workforce rows are checked against them")
    func establishmentsFlowAndCheckWorkforceRows() async throws {
        try await BridgeHarness.with { h in
            let ca = try TestCA.make(in: h.scratch)
            let script = ServerScript()
            script.serve(Array(Self.gias), etag: "\"gias-1\"")
            let server = try await LocalHTTPSServer.start(ca: ca, script: script)
            defer { Task { await server.stop() } }
            let mappings = try Self.liveMappings(in: h.scratch)
            let config = try h.configuration {
                $0.mappings = mappings
                $0.feeds["gias-establishments"] = .init(
                    httpsURL: "https://127.0.0.1:\(server.port)/edubase/edubasealldata{yyyyMMdd}.csv", httpsCAFile: ca.caFile)
                $0.feeds["tps-establishments"] = .init(stableSeconds: 0, minimumAgeSeconds: 0)
            }
            try h.place(Self.tpsEstablishments, in: "tps/establishments", as: "Establishments-20261025.csv")

            let first = try await h.run(config, feeds: ["gias-establishments", "tps-establishments"])
            #expect(first.exitStatus == 0, "\(first.summary)")
            #expect(try await h.apiInt("SELECT count(*) FROM establishments") == 3)
            #expect(try await h.apiInt("SELECT count(*) FROM tps_establishments") == 2)
            #expect(try await h.apiInt("SELECT count(*) FROM establishments WHERE name = 'Caf\u{e9} Lane Primary School'") == 1)
            #expect(try await h.apiInt("SELECT count(*) FROM audit WHERE source_feed = 'gias-establishments'") == 3)
            #expect(h.files(in: "gias/pickup").filter { !$0.hasPrefix(".") }.isEmpty, "the download was not archived")

            // Unchanged on the server: 304, nothing downloaded or applied again.
            let second = try await h.run(config, feeds: ["gias-establishments", "tps-establishments"])
            #expect(second.exitStatus == 0, "\(second.summary)")
            #expect(script.requests.last?.ifNoneMatch == "\"gias-1\"")
            #expect(try await h.apiInt("SELECT count(*) FROM audit WHERE source_feed = 'gias-establishments'") == 3)

            // A workforce file: open, unknown, closed (GIAS and TPS) establishments.
            let rows = [
                Self.workforceRow(trn: "1000002", la: "201", establishment: "4001", start: "01/09/2024"),
                Self.workforceRow(trn: "1000003", la: "201", establishment: "4999", start: "01/09/2024"),
                Self.workforceRow(trn: "1000004", la: "201", establishment: "4002", start: "01/09/2024"),
                Self.workforceRow(trn: "1000005", la: "330", establishment: "4006", start: "01/09/2023"),
                Self.workforceRow(trn: "1000006", la: "330", establishment: "4005", start: "01/09/2023"),
            ]
            try h.place(Self.workforceHeader + rows.joined(), in: "tps/workforce", as: "Workforce-Dataset-1-20261025-1329.csv")
            let third = try await h.run(config, feeds: ["tps-workforce"])
            #expect(third.exitStatus <= 1, "\(third.summary)")
            #expect(try await h.apiInt("SELECT count(*) FROM employments") == 3)
            let refused = try h.ledgerInt("SELECT count(*) FROM bridge.records WHERE outcome = 'failed' AND problem::text LIKE '%10106%'")
            #expect(refused == 2)
            #expect(try h.ledgerInt("SELECT count(*) FROM bridge.records WHERE outcome = 'published' AND api_status = 200") == 1)
            let warned = try h.ledgerInt(
                "SELECT count(*) FROM bridge.records WHERE outcome = 'published' AND problem->'warnings'->0->>'code' = 'EstablishmentUnknown'")
            #expect(warned == 1, "the API's warning is kept with the record")
        }
    }
}
