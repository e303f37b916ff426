public import DQTModel

/// One refused row of an inbound file, as an outbound problems feed sends it back to the partner. It carries the
/// TRN and nothing else of the row: the partner finds the row by file and line.
public struct ProblemRow: Sendable, Hashable, Codable {
    /// The inbound file's name.
    public var file: String
    public var line: Int
    public var field: String
    public var code: String
    /// The problem's message (never holds a value from the file).
    public var message: String
    public var trn: String?

    public init(file: String, line: Int, field: String, code: String, message: String, trn: String?) {
        self.file = file
        self.line = line
        self.field = field
        self.code = code
        self.message = message
        self.trn = trn
    }
}

/// What an outbound feed reads: changes from the API's change feed, or an inbound feed's problem rows.
public enum OutboundItem: Sendable, Hashable {
    case change(Change)
    case problem(ProblemRow)

    /// The value a mapping's field path names; nil when absent (a missing document or field, a null).
    func value(_ path: FieldPath) -> String? {
        switch (self, path) {
        case (.change(let change), .item(let name)):
            switch name {
            case "cursor": change.cursor
            case "kind": change.kind
            case "trn": change.trn
            case "keyName": change.keyName
            case "operation": change.operation
            case "at": change.at
            default: nil
            }
        case (.change(let change), .before(let name)): change.before?[name]
        case (.change(let change), .after(let name)): change.after?[name]
        case (.problem(let row), .item(let name)):
            switch name {
            case "file": row.file
            case "line": String(row.line)
            case "field": row.field
            case "code": row.code
            case "message": row.message
            case "trn": row.trn
            default: nil
            }
        case (.problem, _): nil
        }
    }

    /// Where the item is, for errors: the change's cursor or the problem's file and line.
    var location: String {
        switch self {
        case .change(let change): "change \(change.cursor) (\(change.kind))"
        case .problem(let row): "problem of \(row.file) line \(row.line)"
        }
    }
}

/// A value a mapping reads from an item: `trn`, `kind`, `keyName`, ... of the item itself, or `before.X` / `after.X`
/// of a change's documents.
public enum FieldPath: Sendable, Hashable, CustomStringConvertible {
    case item(String)
    case before(String)
    case after(String)

    public init(_ text: String) {
        if text.hasPrefix("before.") {
            self = .before(String(text.dropFirst(7)))
        } else if text.hasPrefix("after.") {
            self = .after(String(text.dropFirst(6)))
        } else {
            self = .item(text)
        }
    }

    public var name: String {
        switch self {
        case .item(let name), .before(let name), .after(let name): name
        }
    }

    public var description: String {
        switch self {
        case .item(let name): name
        case .before(let name): "before." + name
        case .after(let name): "after." + name
        }
    }
}
