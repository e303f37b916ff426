import DQTModel
import Foundation
import Yams

extension NodeReader {
    /// Checks the mapping's operation against the API's contract and reads its declared body, typed against the
    /// operation's request schema. A mapping with a record type leaves the body to it (a test checks those bodies
    /// against the same schema); one without declares it, or the operation takes none.
    func declaredBody(
        _ entries: [String: Node], operation: OperationTemplate, at node: Node, record: RecordTypeName?, fields: [FieldSpec],
        lookups: [String: (table: LookupTable, line: Int)]
    ) throws(MappingError) -> BodyTemplate? {
        let contract: APIContract
        switch APIContract.shipped {
        case .success(let shipped): contract = shipped
        case .failure(let error): throw fail(node, "the API contract built into the bridge cannot be read: \(error)", code: "contract-error")
        }
        guard let target = contract.operation(method: operation.method, path: operation.path) else {
            // The path exists with other methods: the method is the mistake.
            let methods = contract.methods(path: operation.path)
            throw fail(
                methods.isEmpty ? entries["path"] ?? node : entries["method"] ?? node,
                methods.isEmpty
                    ? "\(operation.method) \(operation.path) is not an operation of the API's contract (Sources/DQTAPI/openapi.yaml)"
                    : "the contract has \(methods.joined(separator: ", ")) for \(operation.path), not \(operation.method)",
                code: "unknown-operation")
        }
        for name in APIContract.queryNames(of: operation.path) where !target.queryParameters.contains(name) {
            throw fail(
                entries["path"],
                "the contract's \(target.id) takes no query parameter '\(name)' (it takes: \(target.queryParameters.sorted().joined(separator: ", ")))",
                code: "unknown-operation")
        }
        let bodyNode = entries["body"]
        if let record, let bodyNode {
            throw fail(bodyNode, "operation.body is for a mapping without a record type; record \(record.rawValue) builds its own body")
        }
        guard record == nil else { return nil }
        guard let schema = target.requestBody else {
            if let bodyNode { throw fail(bodyNode, "\(target.id) takes no request body", code: "body-not-expected") }
            return nil
        }
        guard let bodyNode else {
            if !target.bodyRequired { return nil }
            throw fail(node, "\(target.id) needs a request body: declare it under operation.body (or name a record type)", code: "body-missing")
        }
        var specs: [String: FieldSpec] = [:]
        var slots: [String: Int] = [:]
        for field in fields where specs[field.name] == nil {
            slots[field.name] = slots.count
            specs[field.name] = field
        }
        let bodyKey = node.mapping?.first { $0.key.string == "body" }?.key
        return try bodyTemplate(bodyNode, key: bodyKey, fields: BodyFields(specs: specs, slots: slots, lookups: lookups), schema: schema)
    }
}
