import DQTModel
import FlatFile
import Foundation

/// A first draft of an inbound mapping from a sample file, for an analyst to finish: the layout, encoding and
/// fields guessed from the sample's header and values, every guess marked `# check`. The draft declares its own
/// fields (no record type) and starts `legacy`, so nothing polls it until the analyst moves it on; it loads as it is.
public struct MappingDraft: Sendable {
    public let yaml: String

    /// - Parameters:
    ///   - method, path: the API operation the rows become; without one the draft reads each person
    ///     (`GET /v3/persons/{trn}`), which needs a TRN column.
    ///   - replaces: the estate inventory entries the feed replaces; without them the draft names a placeholder that
    ///     lint refuses until the analyst names the entry.
    public static func make(id: String, samplePath: String, method: String?, path: String?, replaces: [String] = []) throws -> MappingDraft {
        let sample = try SampleTable.read(path: samplePath)
        let width = max(sample.header.count, sample.rows.map(\.count).max() ?? 0)
        var guesses: [ColumnGuess] = []
        var used: Set<String> = []
        for index in 0..<width {
            let column = index < sample.header.count ? sample.header[index] : ""
            var guess = ColumnGuess(
                column: column.isEmpty ? "column \(index + 1)" : column, values: sample.rows.map { index < $0.count ? $0[index] : "" })
            if guess.kind == .trn, !used.contains("trn") { guess.field = "trn" }
            var name = guess.field
            var suffix = 2
            while used.contains(name) {
                name = "\(guess.field)\(suffix)"
                suffix += 1
            }
            guess.field = name
            used.insert(name)
            guesses.append(guess)
        }
        let operation: (method: String, path: String)
        if let method, let path {
            operation = (method.uppercased(), path)
        } else {
            guard used.contains("trn") else {
                throw DraftError("no column holds 7-digit TRNs: name the operation the rows become with --operation \"METHOD PATH\"")
            }
            operation = ("GET", "/v3/persons/{trn}")
        }
        let fileName = URL(fileURLWithPath: samplePath).lastPathComponent
        var lines: [String] = [
            "# DRAFT from \(fileName) (\(sample.rows.count) rows read\(sample.truncated ? ", the rest not read" : "")). Finish it before use:",
            "# check every line marked `# check`, fill in the TODOs, map the fields the API call needs under operation.body,",
            "# then run `dqt-bridge mappings lint` and `dqt-bridge check` on real files before moving status on.",
            "id: \(id)",
            "title: \(quoted("TODO: what the file is"))",
            "partner: \(quoted("TODO: who sends it"))",
            replaces.isEmpty
                ? "replaces: [todo-estate-entry]  # TODO: the entries of mappings/estate/inventory.yaml this feed replaces"
                : "replaces: [\(replaces.joined(separator: ", "))]  # check: the entry's feeds must list this feed once it runs",
            "status: legacy",
            "files: [\(quoted(filePattern(fileName)))]  # check: the name pattern of this partner's files",
            "source:",
            "  folder: \(quoted("\(id)/pickup"))  # check: the pickup folder",
            "format:",
            "  kind: delimited",
            "  encoding: \(sample.encoding.rawValue)  # \(sample.hasByteOrderMark ? "a byte-order mark was found" : "guessed from the bytes read")",
            "  delimiter: \(quoted(sample.delimiter == 9 ? "tab" : String(UnicodeScalar(sample.delimiter))))",
            "  header: \(sample.hasHeader)",
            "  trim: true",
            "fields:",
        ]
        var lookups: [String] = []
        for (index, guess) in guesses.enumerated() {
            lines.append("  \(guess.field): {\(fieldOptions(guess, position: index, header: sample.hasHeader, lookups: &lookups))}  # check")
        }
        if !lookups.isEmpty { lines += ["lookups:"] + lookups }
        lines += ["operation:", "  method: \(operation.method)", "  path: \(operation.path)"]
        lines += bodySkeleton(method: operation.method, path: operation.path, guesses: guesses)
        return MappingDraft(yaml: lines.joined(separator: "\n") + "\n")
    }

    private static func fieldOptions(_ guess: ColumnGuess, position: Int, header: Bool, lookups: inout [String]) -> String {
        var options = [header ? "column: \(quoted(guess.column))" : "position: \(position)"]
        switch guess.kind {
        case .trn: options.append("type: trn")
        case .nino: options.append("type: nino")
        case .boolean: options.append("type: boolean")
        case .integer: options.append("type: integer")
        case .date(let format):
            options += ["type: date", "format: \(quoted(format))"]
            if guess.pii { options.append("past: true") }
        case .timestamp(let format): options += ["type: timestamp", "format: \(quoted(format))"]
        case .enumeration(let values):
            let table = "\(guess.field)Codes"
            options += ["type: enum", "lookup: \(table)"]
            lookups.append("  \(table):  # check: map each value the partner sends to the API's code")
            lookups.append("    entries: {\(values.map { "\(quoted($0)): \(quoted($0))" }.joined(separator: ", "))}")
        case .text: options += ["type: text", "maxLength: \(max(guess.maxLength, 1))"]
        }
        if guess.alwaysFilled { options.append("required: true") }
        if guess.pii { options.append("pii: true") }
        return options.joined(separator: ", ")
    }

    /// For an operation with a request body: the properties whose names match a field's, and the rest as comments.
    private static func bodySkeleton(method: String, path: String, guesses: [ColumnGuess]) -> [String] {
        guard case .success(let contract) = APIContract.shipped, let operation = contract.operation(method: method, path: path),
            let schema = operation.requestBody
        else { return [] }
        func normalized(_ text: String) -> String { text.lowercased().filter { $0.isLetter || $0.isNumber } }
        var lines = ["  body:  # check: every property the contract requires must be given (mappings lint says which)"]
        var matched = false
        for name in schema.properties.keys.sorted() {
            let required = schema.required.contains(name) ? "required" : "optional"
            if let guess = guesses.first(where: { normalized($0.field) == normalized(name) }) {
                lines.append("    \(name): \(guess.field)  # check (\(required))")
                matched = true
            } else {
                lines.append("    # \(name): FIELD  (\(required))")
            }
        }
        // With no property matched, the whole body is left for the analyst (an empty `body:` would not be a mapping).
        if !matched { lines[0] = "  # body:  # check: map the fields to the properties the contract requires" }
        return lines
    }

    /// The sample's name with each run of digits made a wildcard: `HUB_20261120.csv` -> `HUB_*.csv`.
    static func filePattern(_ name: String) -> String {
        var out = ""
        var inDigits = false
        for character in name {
            if character.isASCII, character.isNumber {
                if !inDigits { out.append("*") }
                inDigits = true
            } else {
                out.append(character)
                inDigits = false
            }
        }
        return out
    }

    /// A YAML double-quoted scalar (JSON string rules, which YAML shares).
    static func quoted(_ text: String) -> String {
        var out: [UInt8] = []
        JSONValue.writeString(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
