import DQTModel

/// Reads a `ChangePage` body of `GET /v3/changes` straight into a ``ChangePage``: a page is thousands of changes, and
/// the generated client's `Codable` path spends most of an export's time on them. ``JSONReader`` vouches only for what
/// `JSONDecoder` reads the same way; anything else here (a key the contract does not name, a repeated or missing member,
/// an unknown kind, a number with a fraction, a non-ASCII document key) throws ``JSONReader/Unsure`` and the caller
/// decodes the page through the generated types instead, so both paths give the same page or the same error.
enum ChangePageReader {
    static func page(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONReader.Unsure) -> ChangePage {
        var reader = JSONReader(bytes)
        var changes: [Change] = []
        var nextCursor = ""
        var endCursor = ""
        var hasMore = false
        let seen = try reader.members { reader, key throws(JSONReader.Unsure) in
            if reader.isKey(key, "changes") {
                try reader.enterArray()
                while try reader.nextElement(after: changes.count) { changes.append(try change(&reader)) }
                return 0
            } else if reader.isKey(key, "nextCursor") {
                nextCursor = try text(&reader)
                return 1
            } else if reader.isKey(key, "hasMore") {
                guard case .bool(let flag) = try reader.value(depth: 1) else { throw JSONReader.Unsure() }
                hasMore = flag
                return 2
            } else if reader.isKey(key, "endCursor") {
                endCursor = try text(&reader)
                return 3
            }
            throw JSONReader.Unsure()
        }
        guard seen == 0b1111 else { throw JSONReader.Unsure() }
        try reader.end()
        return ChangePage(changes: changes, nextCursor: nextCursor, endCursor: endCursor, hasMore: hasMore)
    }

    private static func change(_ reader: inout JSONReader) throws(JSONReader.Unsure) -> Change {
        var change = Change(cursor: "", kind: "", trn: nil, keyName: "", operation: "", at: "", before: nil, after: nil)
        let seen = try reader.members { reader, key throws(JSONReader.Unsure) in
            if reader.isKey(key, "cursor") {
                change.cursor = try text(&reader)
                return 0
            } else if reader.isKey(key, "kind") {
                change.kind = try text(&reader)
                guard ChangeKinds.all.contains(change.kind) else { throw JSONReader.Unsure() }
                return 1
            } else if reader.isKey(key, "trn") {
                change.trn = try optionalText(&reader)
                return 2
            } else if reader.isKey(key, "keyName") {
                change.keyName = try text(&reader)
                return 3
            } else if reader.isKey(key, "operation") {
                change.operation = try text(&reader)
                return 4
            } else if reader.isKey(key, "at") {
                change.at = try text(&reader)
                return 5
            } else if reader.isKey(key, "before") {
                change.before = try document(&reader)
                return 6
            } else if reader.isKey(key, "after") {
                change.after = try document(&reader)
                return 7
            }
            throw JSONReader.Unsure()
        }
        guard seen == 0xFF else { throw JSONReader.Unsure() }
        return change
    }

    /// A document's scalar values as ``HTTPChangeFeed`` carries them: strings as they are, integers and booleans as
    /// their JSON text; nulls and nested values left out.
    private static func document(_ reader: inout JSONReader) throws(JSONReader.Unsure) -> [String: String]? {
        reader.skipWhitespace()
        if reader.position < reader.bytes.count, reader.bytes[reader.position] == UInt8(ascii: "n") {
            guard case .null = try reader.value(depth: 1) else { throw JSONReader.Unsure() }
            return nil
        }
        try reader.enterObject()
        var values: [String: String] = [:]
        var keys: [Range<Int>] = []
        while let key = try reader.nextKey(after: keys.count) {
            // Document keys are open-ended: like JSONReader's own objects, only ASCII keys, each once, are vouched for.
            guard keys.count < JSONReader.maximumKeys, reader.bytes[key].allSatisfy({ $0 < 0x80 }),
                !keys.contains(where: { reader.bytes[$0].elementsEqual(reader.bytes[key]) })
            else { throw JSONReader.Unsure() }
            keys.append(key)
            switch try reader.value(depth: 2) {
            case .string(let range, let escaped): values[reader.text(key)] = reader.string(range, escaped: escaped)
            case .integer(let range): values[reader.text(key)] = reader.text(range)
            case .bool(let flag): values[reader.text(key)] = flag ? "true" : "false"
            case .null, .composite: continue
            }
        }
        return values
    }

    private static func optionalText(_ reader: inout JSONReader) throws(JSONReader.Unsure) -> String? {
        switch try reader.value(depth: 1) {
        case .string(let range, let escaped): return reader.string(range, escaped: escaped)
        case .null: return nil
        default: throw JSONReader.Unsure()
        }
    }

    private static func text(_ reader: inout JSONReader) throws(JSONReader.Unsure) -> String {
        guard case .string(let range, let escaped) = try reader.value(depth: 1) else { throw JSONReader.Unsure() }
        return reader.string(range, escaped: escaped)
    }
}
