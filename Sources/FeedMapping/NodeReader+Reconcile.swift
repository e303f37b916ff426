import DQTModel
import Yams

extension NodeReader {
    /// `reconcile: {against: {source}, key: reference, compare: [...], apply: false, kinds: {weekly: GLOB, monthly: GLOB}}`.
    /// Only a record type that states what its rows expect (``DBSReconciliationCase``) can be reconciled, and its
    /// operation must be the read of the source's alerts.
    func reconcile(_ node: Node?, record: RecordTypeName?, operation: OperationTemplate) throws(MappingError) -> ReconcileSettings? {
        guard let node else { return nil }
        let values = try entries(node, allowed: ["against", "key", "compare", "apply", "kinds"], what: "reconcile")
        guard record == .dbsReconciliation else {
            throw fail(node, "reconcile needs a record type that states what each row expects (record: DBSReconciliationCase)")
        }
        guard operation.method == "GET", operation.path.hasPrefix("/v3/alerts?") || operation.path == "/v3/alerts" else {
            throw fail(node, "a reconciliation feed's operation is the read of the source's alerts (GET /v3/alerts?source=...)")
        }
        let againstNode = try required(values, "against", in: "reconcile", at: node)
        let against = try entries(againstNode, allowed: ["source"], what: "reconcile.against")
        let source = try string(required(against, "source", in: "reconcile.against", at: againstNode), "reconcile.against.source")
        guard (1...40).contains(source.utf8.count),
            source.utf8.allSatisfy({
                ASCII.isLower($0) || ASCII.isDigit($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
            })
        else { throw fail(against["source"], "reconcile.against.source must be an alert source: 1 to 40 of a-z, 0-9, '.', '_', '-'") }
        let key = try string(required(values, "key", in: "reconcile", at: node), "reconcile.key")
        guard key == "reference" else { throw fail(values["key"], "reconcile.key must be reference (alerts are keyed by source and reference)") }

        var compared: [ReconcileSettings.ComparedField] = []
        for name in try strings(required(values, "compare", in: "reconcile", at: node), "reconcile.compare") {
            guard let field = ReconcileSettings.ComparedField(rawValue: name) else {
                let known = ReconcileSettings.ComparedField.allCases.map(\.rawValue)
                throw fail(
                    values["compare"],
                    "reconcile.compare names '\(name)'\(NearestName.hint(for: name, among: Set(known))) (known: \(known.joined(separator: ", ")))")
            }
            if !compared.contains(field) { compared.append(field) }
        }
        guard !compared.isEmpty else { throw fail(values["compare"], "reconcile.compare needs at least one field") }

        let apply = try values["apply"].map { (node) throws(MappingError) in try bool(node, "reconcile.apply") } ?? false
        if apply {
            throw fail(
                values["apply"],
                "reconcile.apply: true is not supported: a reconciliation only reports; send the differences as notices (apply: false)")
        }

        let kindsNode = try required(values, "kinds", in: "reconcile", at: node)
        let kindEntries = try entries(kindsNode, allowed: Set(ReconcileSettings.Scope.allCases.map(\.rawValue)), what: "reconcile.kinds")
        var kinds: [(scope: ReconcileSettings.Scope, pattern: String)] = []
        for scope in ReconcileSettings.Scope.allCases {
            guard let patternNode = kindEntries[scope.rawValue] else { continue }
            kinds.append((scope, try string(patternNode, "reconcile.kinds.\(scope.rawValue)")))
        }
        guard !kinds.isEmpty else { throw fail(kindsNode, "reconcile.kinds needs weekly or monthly: the file name glob of each") }
        return ReconcileSettings(source: source, compared: compared, apply: false, kinds: kinds)
    }
}
