import CLibPQ
public import Foundation

/// The result of one statement: owns its `PGresult` and frees it when released.
///
/// Values are read in text format. Getters come in two forms: optional (`string(_:_:)`, NULL is nil) and throwing
/// (`requireString(_:_:)`, NULL or a bad value is a ``PGError`` of kind `.protocolMisuse`). Columns are addressed by
/// index or by name (``column(named:)``). Not `Sendable`: convert to Swift values before leaving the connection's
/// thread.
public final class PGResult {
    let handle: OpaquePointer
    /// Rows returned (0 for commands).
    public let rowCount: Int
    public let columnCount: Int
    /// Column names in order.
    public let columnNames: [String]
    private let columnIndex: [String: Int]

    init(owning handle: OpaquePointer) {
        self.handle = handle
        self.rowCount = Int(PQntuples(handle))
        self.columnCount = Int(PQnfields(handle))
        var names: [String] = []
        names.reserveCapacity(columnCount)
        var index: [String: Int] = [:]
        for column in 0..<columnCount {
            let name = String(cString: PQfname(handle, Int32(column)))
            names.append(name)
            if index[name] == nil { index[name] = column }
        }
        self.columnNames = names
        self.columnIndex = index
    }

    deinit { PQclear(handle) }

    /// Rows affected by an INSERT/UPDATE/DELETE/COPY (from the command tag), 0 when the tag carries no count.
    public var affectedRows: Int {
        Int(String(cString: PQcmdTuples(handle))) ?? 0
    }

    /// The index of a column by name, or nil.
    public func column(named name: String) -> Int? { columnIndex[name] }

    func requireColumn(_ name: String) throws -> Int {
        guard let index = columnIndex[name] else {
            throw PGError(kind: .protocolMisuse, message: "no column named \(name) in the result")
        }
        return index
    }

    public func isNull(_ row: Int, _ column: Int) -> Bool { PQgetisnull(handle, Int32(row), Int32(column)) == 1 }

    /// The text value, or nil for NULL.
    public func string(_ row: Int, _ column: Int) -> String? {
        guard row < rowCount, column < columnCount, !isNull(row, column) else { return nil }
        let length = Int(PQgetlength(handle, Int32(row), Int32(column)))
        guard let pointer = PQgetvalue(handle, Int32(row), Int32(column)) else { return nil }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
    }

    public func int(_ row: Int, _ column: Int) -> Int? { string(row, column).flatMap { Int($0) } }
    public func int64(_ row: Int, _ column: Int) -> Int64? { string(row, column).flatMap { Int64($0) } }
    public func double(_ row: Int, _ column: Int) -> Double? { string(row, column).flatMap { Double($0) } }

    public func bool(_ row: Int, _ column: Int) -> Bool? {
        switch string(row, column) {
        case "t", "true": return true
        case "f", "false": return false
        default: return nil
        }
    }

    /// A `timestamptz` (or `date`, taken as midnight UTC) value.
    public func date(_ row: Int, _ column: Int) -> Date? { string(row, column).flatMap(PGTimestamp.parse) }

    /// A `bytea` value (hex output format).
    public func data(_ row: Int, _ column: Int) -> Data? {
        guard !isNull(row, column), let pointer = PQgetvalue(handle, Int32(row), Int32(column)) else { return nil }
        var length = 0
        guard let bytes = pointer.withMemoryRebound(to: UInt8.self, capacity: 1, { PQunescapeBytea($0, &length) })
        else { return nil }
        defer { PQfreemem(bytes) }
        return Data(bytes: bytes, count: length)
    }

    /// A `json`/`jsonb` value as its text.
    public func json(_ row: Int, _ column: Int) -> String? { string(row, column) }
    /// The elements of a one-dimensional array (any element type, as text; NULL elements are nil), or nil for NULL.
    public func textArray(_ row: Int, _ column: Int) -> [String?]? { string(row, column).flatMap(PGArrayLiteral.parse) }

    // By name.
    public func string(_ row: Int, _ name: String) -> String? { column(named: name).flatMap { string(row, $0) } }
    public func int(_ row: Int, _ name: String) -> Int? { column(named: name).flatMap { int(row, $0) } }
    public func int64(_ row: Int, _ name: String) -> Int64? { column(named: name).flatMap { int64(row, $0) } }
    public func double(_ row: Int, _ name: String) -> Double? { column(named: name).flatMap { double(row, $0) } }
    public func bool(_ row: Int, _ name: String) -> Bool? { column(named: name).flatMap { bool(row, $0) } }
    public func date(_ row: Int, _ name: String) -> Date? { column(named: name).flatMap { date(row, $0) } }
    public func data(_ row: Int, _ name: String) -> Data? { column(named: name).flatMap { data(row, $0) } }
    public func json(_ row: Int, _ name: String) -> String? { column(named: name).flatMap { json(row, $0) } }
    public func textArray(_ row: Int, _ name: String) -> [String?]? { column(named: name).flatMap { textArray(row, $0) } }

    // Throwing forms: NULL or an unparsable value is an error naming the column (never the value).
    public func requireString(_ row: Int, _ name: String) throws -> String {
        guard let value = string(row, try requireColumn(name)) else { throw missing(name, row) }
        return value
    }
    public func requireInt64(_ row: Int, _ name: String) throws -> Int64 {
        guard let value = int64(row, try requireColumn(name)) else { throw missing(name, row) }
        return value
    }
    public func requireDate(_ row: Int, _ name: String) throws -> Date {
        guard let value = date(row, try requireColumn(name)) else { throw missing(name, row) }
        return value
    }

    private func missing(_ name: String, _ row: Int) -> PGError {
        PGError(kind: .protocolMisuse, message: "column \(name) of row \(row) is NULL or not of the expected type")
    }

    /// The rows, for `for row in result.rows { row["trn"] }`.
    public var rows: Rows { Rows(result: self) }

    public struct Rows: RandomAccessCollection {
        let result: PGResult
        public var startIndex: Int { 0 }
        public var endIndex: Int { result.rowCount }
        public subscript(position: Int) -> PGRow { PGRow(result: result, index: position) }
    }
}

/// One row of a ``PGResult`` (valid while the result lives).
public struct PGRow {
    public let result: PGResult
    public let index: Int

    /// The text value of a column by name, nil for NULL or an unknown column.
    public subscript(name: String) -> String? { result.string(index, name) }
    public subscript(column: Int) -> String? { result.string(index, column) }

    public func int(_ name: String) -> Int? { result.int(index, name) }
    public func int64(_ name: String) -> Int64? { result.int64(index, name) }
    public func bool(_ name: String) -> Bool? { result.bool(index, name) }
    public func double(_ name: String) -> Double? { result.double(index, name) }
    public func date(_ name: String) -> Date? { result.date(index, name) }
    public func data(_ name: String) -> Data? { result.data(index, name) }
    public func json(_ name: String) -> String? { result.json(index, name) }
    public func textArray(_ name: String) -> [String?]? { result.textArray(index, name) }
}

/// Reads the server's text output of a one-dimensional array: `{a,"b c",NULL,"say \\"hi\\""}`.
enum PGArrayLiteral {
    /// The elements, or nil when the text is not a one-dimensional array literal.
    static func parse(_ text: String) -> [String?]? {
        let bytes = Array(text.utf8)
        guard bytes.first == UInt8(ascii: "{"), bytes.last == UInt8(ascii: "}") else { return nil }
        var elements: [String?] = []
        var index = 1
        let end = bytes.count - 1
        guard index < end else { return [] }
        while true {
            var element: [UInt8] = []
            if bytes[index] == UInt8(ascii: "\"") {
                index += 1
                while index < end, bytes[index] != UInt8(ascii: "\"") {
                    if bytes[index] == UInt8(ascii: "\\") { index += 1 }
                    guard index < end else { return nil }
                    element.append(bytes[index])
                    index += 1
                }
                guard index < end else { return nil }
                index += 1  // the closing quote
                elements.append(String(decoding: element, as: UTF8.self))
            } else {
                while index < end, bytes[index] != UInt8(ascii: ",") {
                    guard bytes[index] != UInt8(ascii: "{") else { return nil }  // more than one dimension
                    element.append(bytes[index])
                    index += 1
                }
                let value = String(decoding: element, as: UTF8.self)
                elements.append(value.uppercased() == "NULL" ? nil : value)
            }
            if index == end { return elements }
            guard bytes[index] == UInt8(ascii: ",") else { return nil }
            index += 1
        }
    }
}
