import DQTModel

/// A request body declared in a mapping (`operation.body`), compiled at load: objects and arrays nest, each value is
/// a constant, a field of the row (optionally through a lookup) or a nested object, and a property can be present
/// only under a condition or left out when its field is absent.
///
/// Invariant: every field slot is one of the feed's row slots, and the template was typed against the operation's
/// request schema when the mapping loaded, so a body built from it has the contract's shape.
public struct BodyTemplate: Sendable {
    indirect enum Value: Sendable {
        case object([Member])
        /// Absent fields are left out of an array.
        case array([Value])
        case field(slot: Int, name: String, lookup: LookupTable?)
        /// Serialized once at load.
        case constant([UInt8])
    }

    struct Member: Sendable {
        /// `"name":`, serialized once at load.
        let key: [UInt8]
        let value: Value
        /// Present only when the condition holds.
        let when: BoundCondition?
        /// Left out, instead of `null`, when its field is absent.
        let omitWhenAbsent: Bool
    }

    struct BoundCondition: Sendable {
        let condition: Condition
        let slot: Int
    }

    let root: Value

    /// The body's compact JSON for one row's values (indexed by slot).
    func serialized(_ values: [FieldValue]) throws(RecordRejection) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(160)
        _ = try Self.write(root, values, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `value`; false (and nothing written) when it is a field that is absent.
    private static func write(_ value: Value, _ values: [FieldValue], to out: inout [UInt8]) throws(RecordRejection) -> Bool {
        switch value {
        case .constant(let bytes):
            out.append(contentsOf: bytes)
        case .field(let slot, let name, let lookup):
            let fieldValue = values[slot]
            if let lookup {
                guard let text = fieldValue.comparableText else { return false }
                guard let output = lookup.resolve(text) else {
                    throw RecordRejection(fieldName: name, code: "constraint-error", message: "the value has no entry in lookup \(lookup.name)")
                }
                guard !output.isEmpty else { return false }
                JSONValue.writeString(output, to: &out)
                return true
            }
            return write(fieldValue, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            var first = true
            for item in items {
                let mark = out.count
                if !first { out.append(UInt8(ascii: ",")) }
                if try write(item, values, to: &out) { first = false } else { out.removeSubrange(mark...) }
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            var first = true
            for member in members {
                if let when = member.when, !when.condition.holds(values[when.slot]) { continue }
                let mark = out.count
                if !first { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: member.key)
                if try write(member.value, values, to: &out) {
                    first = false
                } else if member.omitWhenAbsent {
                    out.removeSubrange(mark...)
                } else {
                    out.append(contentsOf: "null".utf8)
                    first = false
                }
            }
            out.append(UInt8(ascii: "}"))
        }
        return true
    }

    /// A field's value as JSON, by its kind; false for an absent one.
    private static func write(_ value: FieldValue, to out: inout [UInt8]) -> Bool {
        switch value {
        case .absent: return false
        case .trn(let trn): JSONValue.writeString(trn.digits, to: &out)
        case .nationalInsuranceNumber(let nino): JSONValue.writeString(nino.normalized, to: &out)
        case .date(let date): JSONValue.writeString(date.description, to: &out)
        case .timestamp(let text), .text(let text), .code(let text): JSONValue.writeString(text, to: &out)
        case .boolean(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .integer(let number): out.append(contentsOf: String(number).utf8)
        case .decimal(let text): out.append(contentsOf: text.utf8)
        }
        return true
    }
}

extension RecordRejection {
    /// A rejection about a field known by its name in the mapping (a declared body's field).
    init(fieldName: String, code: String, message: String) {
        self.field = fieldName
        self.code = code
        self.message = message
    }
}
