import BridgeReport
import DQTModel
import Foundation
import Testing

/// The parity report: the matrix and agreement, disagreements and read-back listed up to the limit and counted beyond it,
/// legacy messages masked unless asked; and the run report's link to it.
@Suite("Parity report: matrix, lists with counts, masking, and the run report's link")
struct ParityReportTests {
    static func report(unmasked: Bool) -> ParityReport {
        var report = ParityReport(
            feed: "ewc-induction", fileID: 9, fileName: "IND_1.csv", sha256: nil, comparedAt: Date(timeIntervalSince1970: 1_795_000_000),
            legacySource: "sftp:ewc/pickup/IND_1.csv.outcome.csv", unmasked: unmasked)
        report.matrix.bothAccepted = 6
        report.matrix.onlyLegacyAccepted = 1
        report.matrix.missingInBridge = 1
        report.add(
            ParityReport.Disagreement(
                line: 3, bridge: .rejected, legacy: "Success", legacyMessage: "Gwen <b>Ffug</b>", problems: [("passDate", "type-error")]))
        report.add(ParityReport.ReadBackRow(line: 2, kind: .noOp, fields: [], note: nil))
        report.add(ParityReport.ReadBackRow(line: 4, kind: .wouldChange, fields: ["completedDate", "startDate"], note: nil))
        report.add(ParityReport.ReadBackRow(line: 5, kind: .wouldChange, fields: ["completedDate"], note: nil))
        return report
    }

    @Test("counts, agreement and the read-back's changed fields")
    func counts() throws {
        let report = Self.report(unmasked: false)
        #expect(report.matrix.compared == 8 && report.matrix.agreed == 6 && report.agreementPercent == 75)
        #expect(report.readBack == [.noOp: 1, .wouldChange: 2] && report.changedFields == ["completedDate": 2, "startDate": 1])
        #expect(report.readBackRows.map(\.line) == [4, 5], "no-ops are counted, not listed")
        let json = report.json.serialized
        #expect(json.contains(#""agreement":{"rowsCompared":8,"rowsAgreed":6,"percent":75.000}"#))
        #expect(json.contains(#""problems":[{"field":"passDate","code":"type-error"}]"#))
        #expect(json.contains(#""changedFields":{"completedDate":2,"startDate":1}"#))
    }

    @Test("legacy messages are masked unless unmasked, and escaped in the page")
    func masking() {
        let masked = Self.report(unmasked: false)
        #expect(!masked.json.serialized.contains("Gwen") && !masked.html.contains("Gwen"))
        #expect(masked.json.serialized.contains("masked: 16 characters"))
        let unmasked = Self.report(unmasked: true)
        #expect(unmasked.json.serialized.contains("Gwen <b>Ffug</b>"))
        #expect(unmasked.html.contains("Gwen &lt;b&gt;Ffug&lt;/b&gt;") && !unmasked.html.contains("<b>Ffug"))
    }

    @Test("beyond the list limit rows are counted, not listed")
    func limit() {
        var report = Self.report(unmasked: false)
        for line in 0..<(ParityReport.listLimit + 5) {
            report.add(ParityReport.Disagreement(line: 100 + line, bridge: .accepted, legacy: "missing", legacyMessage: nil, problems: []))
        }
        #expect(report.disagreements.count == ParityReport.listLimit && report.disagreementsNotListed == 6)
        #expect(report.json.serialized.contains(#""disagreementsNotListed":6"#) && report.html.contains("6 more disagreements not listed"))
    }

    @Test("a shadow file's run report entry links its parity page")
    func runReportLink() {
        var file = RunReportTests.file(state: "shadowed")
        file.parity = (99.5, "/reports/parity/ewc-induction-file-7-parity.json")
        let report = RunReportTests.report(files: [file])
        #expect(report.html.contains(#"parity <a href="/reports/parity/ewc-induction-file-7-parity.html">99.500 %</a>"#))
        #expect(report.json.serialized.contains(#""parity":{"agreementPercent":99.500,"report":"/reports/parity/ewc-induction-file-7-parity.json"}"#))
    }
}
