import Foundation
import Testing

@testable import FeedMapping

/// A reconciliation feed's `reconcile:` section: what loads, and each mistake refused at its line.
@Suite("Mappings: reconcile sections")
struct ReconcileMappingTests {
    static func mapping(reconcile: String, record: String = "DBSReconciliationCase", path: String = "/v3/alerts?source=dbs") -> String {
        """
        id: test-feed
        title: t
        partner: p
        replaces: [email-dbs-reconciliations]
        status: shadow
        record: \(record)
        files: ["*.csv"]
        format: {kind: delimited, encoding: utf-8, header: true}
        fields:
          reference: {column: DBS reference, type: text, required: true}
          trn: {column: TRN, type: trn, required: true}
          barredList: {column: Barred list, type: enum, lookup: barredList, required: true}
          status: {column: Status, type: enum, lookup: caseStatus, required: true}
          statusDate: {column: Status date, type: date, format: dd/MM/yyyy, required: true}
        lookups:
          barredList: {Children: B1, Adults: B2}
          caseStatus: {Barred: Barred, Removed: Removed}
        operation: {method: GET, path: "\(path)"}
        \(reconcile)
        """
    }

    static let good = """
        reconcile:
          against: {source: dbs}
          key: reference
          compare: [trn, alertTypeCode, startDate, endDate]
          apply: false
          kinds: {weekly: "W_*.csv", monthly: "M_*.csv"}
        """

    @Test("the committed mapping and a minimal one load with their settings")
    func loads() throws {
        let committed = try #require(committedCatalog.feed(id: "dbs-reconciliations")?.reconcile)
        #expect(committed.source == "dbs" && committed.compared == [.trn, .alertTypeCode, .startDate, .endDate] && !committed.apply)
        #expect(committed.scope(ofFileNamed: "DBS_Reconciliation_Weekly_20261206.csv") == .listed)
        #expect(committed.scope(ofFileNamed: "DBS_Reconciliation_Monthly_20261130.csv") == .full)
        #expect(committed.scope(ofFileNamed: "DBS_Notice_20261130.csv") == nil)
        let feed = try loadMapping(Self.mapping(reconcile: Self.good))
        #expect(feed.reconcile?.kinds.map(\.pattern) == ["W_*.csv", "M_*.csv"])
        #expect(try loadMapping(Self.mapping(reconcile: "")).reconcile == nil)
    }

    @Test("apply: true, an unknown field or key, another record type or operation: refused at the line")
    func refusals() {
        let cases: [(String, String, String)] = [
            (
                Self.mapping(reconcile: Self.good.replacingOccurrences(of: "apply: false", with: "apply: true")), "apply: true",
                "reconcile.apply: true is not supported"
            ),
            (
                Self.mapping(reconcile: Self.good.replacingOccurrences(of: "startDate, endDate", with: "startDate, endDat")), "compare:",
                "did you mean 'endDate'"
            ),
            (
                Self.mapping(reconcile: Self.good.replacingOccurrences(of: "key: reference", with: "key: trn")), "key: trn",
                "reconcile.key must be reference"
            ),
            (Self.mapping(reconcile: Self.good.replacingOccurrences(of: "apply: false", with: "aply: false")), "aply", "unknown key 'aply'"),
            (
                Self.mapping(reconcile: Self.good.replacingOccurrences(of: "{source: dbs}", with: "{source: DBS}")), "against",
                "must be an alert source"
            ),
            (
                Self.mapping(reconcile: Self.good.replacingOccurrences(of: "{weekly: \"W_*.csv\", monthly: \"M_*.csv\"}", with: "{daily: x}")),
                "kinds", "unknown key 'daily'"
            ),
        ]
        for (text, needle, message) in cases {
            let error = mappingError(text)
            #expect(error?.message.contains(message) == true, "\(needle): \(String(describing: error))")
            #expect(error?.line == line(of: needle, in: text), "\(needle): \(String(describing: error))")
        }
        let wrongOperation = mappingError(Self.mapping(reconcile: Self.good, path: "/v3/persons/{trn}/alerts"))
        #expect(wrongOperation != nil)
    }
}
