import FlatFile
import Foundation

/// One row of a legacy job's outcome file: what the SSIS job did with one line of the input.
public struct LegacyOutcome: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        case success = "Success"
        case failure = "Failure"
        case warning = "Warning"

        /// Success and Warning rows were applied by the legacy job; Failure rows were not.
        public var accepted: Bool { self != .failure }
    }

    /// The physical line of the input file the row reports on (the header, when there is one, is line 1).
    public let line: Int
    public let status: Status
    /// The legacy job's message (free text; may name a person, so reports mask it by default).
    public let message: String?

    public init(line: Int, status: Status, message: String?) {
        self.line = line
        self.status = status
        self.message = message
    }
}

/// A legacy job's outcome file, read as a stream: CSV (UTF-8, optional BOM, comma, `"` quotes) with a header naming
/// at least `Line`, `Status` and `Message` (any order and case; other columns, as the integration-transaction export
/// carries them, are ignored). Rows must come in ascending line order, each line once, so that parity can compare them
/// with the ledger's records in one pass with bounded memory.
///
/// Beside the input: the outcome of `IND_20261101.csv` is `IND_20261101.csv.outcome.csv` in the same folder.
public struct LegacyOutcomeReader {
    public static let suffix = ".outcome.csv"

    /// A row or the file that cannot be read: named by file, line, field and code.
    public struct Failure: Error, CustomStringConvertible {
        public let file: String
        public let line: Int?
        public let field: String?
        public let code: String
        public let message: String
        public var description: String {
            "\(file)\(line.map { ":\($0)" } ?? "")\(field.map { " field \($0)" } ?? ""): \(code): \(message)"
        }
    }

    public let path: String
    private var reader: DelimitedReader<FileByteSource>
    private let lineColumn: Int
    private let statusColumn: Int
    private let messageColumn: Int
    private var lastLine = 0
    public private(set) var rowsRead = 0

    public init(path: String) throws(Failure) {
        self.path = path
        var layout = DelimitedLayout()
        layout.hasHeader = true
        layout.trim = true
        let opened: DelimitedReader<FileByteSource>
        do {
            opened = try DelimitedReader(source: try FileByteSource(path: path), layout: layout)
        } catch let refusal as FileRefusal {
            throw Failure(file: path, line: refusal.line, field: nil, code: refusal.code.rawValue, message: refusal.message)
        } catch {
            throw Failure(file: path, line: nil, field: nil, code: "io-error", message: "\(error)")
        }
        let header = opened.header ?? []
        let names = header.map { $0.lowercased() }
        func column(_ name: String) throws(Failure) -> Int {
            guard let index = names.firstIndex(of: name.lowercased()) else {
                throw Failure(
                    file: path, line: 1, field: name, code: "missing-label",
                    message: "the header must name Line, Status and Message (found: \(header.joined(separator: ", ")))")
            }
            return index
        }
        lineColumn = try column("Line")
        statusColumn = try column("Status")
        messageColumn = try column("Message")
        reader = opened
    }

    /// The next row, or nil at the end.
    public mutating func next() throws(Failure) -> LegacyOutcome? {
        while true {
            let item: ReadItem?
            do {
                item = try reader.next()
            } catch {
                throw Failure(file: path, line: error.line, field: nil, code: error.code.rawValue, message: error.message)
            }
            guard let item else { return nil }
            switch item {
            case .issue(let issue):
                if issue.code == .blankRow { continue }
                throw Failure(file: path, line: issue.line, field: nil, code: issue.code.rawValue, message: "the row cannot be read")
            case .record(let record):
                return try outcome(record)
            }
        }
    }

    private mutating func outcome(_ record: FlatRecord) throws(Failure) -> LegacyOutcome {
        guard record.count > max(lineColumn, statusColumn) else {
            throw Failure(file: path, line: record.line, field: nil, code: "missing-cell", message: "the row has \(record.count) fields")
        }
        guard let line = Int(record.string(lineColumn)), line >= 1 else {
            throw Failure(file: path, line: record.line, field: "Line", code: "type-error", message: "Line must be a whole number from 1")
        }
        guard line > lastLine else {
            throw Failure(
                file: path, line: record.line, field: "Line", code: "line-order-error",
                message: "lines must be in ascending order, each once (line \(line) after \(lastLine))")
        }
        let statusText = record.string(statusColumn)
        guard let status = LegacyOutcome.Status.allCases.first(where: { $0.rawValue.caseInsensitiveCompare(statusText) == .orderedSame }) else {
            throw Failure(
                file: path, line: record.line, field: "Status", code: "constraint-error", message: "Status must be Success, Failure or Warning")
        }
        lastLine = line
        rowsRead += 1
        let message = record.string(messageColumn)  // empty when the row stops before it
        return LegacyOutcome(line: line, status: status, message: message.isEmpty ? nil : message)
    }
}
