import DQTModel
public import FeedMapping
import Foundation

/// The sink `dqt-bridge check` uses: accepted records as NDJSON API calls, rejected rows as a CSV for analysts.
/// Either file is optional; with neither, the check only counts and profiles.
public struct CheckOutputs: CheckSink {
    private let records: OutputFile?
    private var rejects: RejectedRowsCSV?
    public let unmasked: Bool

    public init(recordsPath: String?, rejectsPath: String?, unmasked: Bool) throws {
        records = try recordsPath.map(OutputFile.init(path:))
        rejects = try rejectsPath.map { try RejectedRowsCSV(file: OutputFile(path: $0)) }
        self.unmasked = unmasked
    }

    public var wantsCalls: Bool { records != nil }
    public var wantsRejectedValues: Bool { rejects != nil }

    public mutating func accepted(_ call: PlannedCall) throws {
        guard let records else { return }
        var line: [UInt8] = []
        call.writeJSON(to: &line)
        line.append(0x0A)
        try records.write(line)
    }

    public mutating func rejected(_ row: RejectedRow) throws {
        try rejects?.append(row)
    }

    /// Flushes and closes both files.
    public func finish() throws {
        try records?.close()
        try rejects?.file.close()
    }
}

/// Rejected rows as CSV: line, codes, fields, messages, then the row's values (personal data masked unless asked).
///
/// Safe to open in a spreadsheet: a cell that starts with `=`, `+`, `-`, `@`, tab or carriage return is prefixed
/// with `'` so it is shown as text and never run as a formula (OWASP's advice on CSV injection).
public struct RejectedRowsCSV {
    let file: OutputFile
    private var wroteHeader = false

    init(file: OutputFile) {
        self.file = file
    }

    mutating func append(_ row: RejectedRow) throws {
        if !wroteHeader {
            try file.write("line,codes,fields,messages,values\r\n")
            wroteHeader = true
        }
        let cells =
            [
                String(row.line),
                row.problems.map(\.code).joined(separator: "; "),
                row.problems.compactMap(\.field).joined(separator: "; "),
                row.problems.map(\.message).joined(separator: "; "),
            ] + (row.values ?? [row.text ?? "(row not shown: it could not be split into values)"])
        try file.write(cells.map(Self.cell).joined(separator: ",") + "\r\n")
    }

    /// One CSV cell, neutralised against formula injection and quoted when needed.
    public static func cell(_ value: String) -> String {
        var text = value
        if let first = text.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) {
            text = "'" + text
        }
        // Scalars, not Characters: "\r\n" is one Character, equal to neither "\r" nor "\n".
        if text.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return text
    }
}
