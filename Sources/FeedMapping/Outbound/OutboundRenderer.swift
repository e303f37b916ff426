import DQTModel

/// One line an item becomes: the values of one record type's columns (fixed width) or of the row (delimited).
public struct OutboundRecord: Sendable, Hashable {
    /// Index into the layout's record types (0 for a delimited row).
    public let recordType: Int
    public let values: [String]
}

/// A value the mapping cannot write for an item: a missing lookup entry or a value that is not a date. Names the
/// item (cursor or file and line) and the column, never the value.
public struct OutboundRenderError: Error, Sendable, Hashable, CustomStringConvertible {
    public let item: String
    public let column: String
    public let reason: String
    public var description: String { "\(item), column \(column): \(reason)" }
}

/// Turns one input item into the records its feed writes for it: none when the filter leaves it out, else one per
/// record type whose condition holds. Pure: the same item always gives the same records, so a file's content is a
/// function of its ordered input.
public struct OutboundRenderer: Sendable {
    public let definition: OutboundFeedDefinition

    public init(definition: OutboundFeedDefinition) { self.definition = definition }

    public func render(_ item: OutboundItem) throws(OutboundRenderError) -> [OutboundRecord] {
        if case .change(let change) = item, !definition.input.kinds.contains(change.kind) { return [] }
        guard definition.filter.keeps(item) else { return [] }
        switch definition.layout.shape {
        case .fixedWidth(_, let records):
            var result: [OutboundRecord] = []
            for (index, record) in records.enumerated() where record.when?.holds(for: item) ?? true {
                result.append(OutboundRecord(recordType: index, values: try values(record.columns, item)))
            }
            return result
        case .delimited(let columns, _, _, _):
            return [OutboundRecord(recordType: 0, values: try values(columns, item))]
        }
    }

    func values(_ columns: [OutboundColumn], _ item: OutboundItem) throws(OutboundRenderError) -> [String] {
        var result: [String] = []
        result.reserveCapacity(columns.count)
        for column in columns { result.append(try text(column, item)) }
        return result
    }

    func text(_ column: OutboundColumn, _ item: OutboundItem) throws(OutboundRenderError) -> String {
        let value = column.value
        let raw: String?
        switch value.source {
        case .constant(let text): return text
        case .field(let path): raw = item.value(path)
        case .join(let paths):
            let parts = paths.compactMap { item.value($0) }.filter { !$0.isEmpty }
            raw = parts.isEmpty ? nil : parts.joined(separator: " ")
        case .flag(let path, let text):
            return OutboundCondition.present(path).holds(for: item) ? text : (value.defaultText ?? "")
        }
        guard let raw, !raw.isEmpty else { return value.defaultText ?? "" }
        if let lookup = value.lookup {
            if let mapped = lookup[raw] { return mapped }
            if let fallback = value.defaultText { return fallback }
            throw OutboundRenderError(item: item.location, column: column.name, reason: "no lookup entry for the value (lookup-error)")
        }
        if let date = value.date {
            guard let written = date.format(iso: raw) else {
                throw OutboundRenderError(item: item.location, column: column.name, reason: "the value is not an ISO date (type-error)")
            }
            return written
        }
        return raw
    }
}
