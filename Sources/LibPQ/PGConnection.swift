import CLibPQ
public import Foundation

/// One PostgreSQL connection: owns its `PGconn` and closes it (`PQfinish`) when released.
///
/// Every call blocks the calling thread until the server answers, so from async code use ``PGPool``, which runs the
/// calls on a thread of its own instead of the cooperative pool. A connection is not thread-safe and is not
/// `Sendable`: one thread at a time (the pool guarantees that for the connections it lends).
///
/// Parameters are always bound (`PQexecParams`/`PQexecPrepared`; text format, arrays binary): SQL text never contains
/// values.
/// The session is set to UTC and ISO dates, so `timestamptz` values parse with ``PGResult/date(_:_:)``.
public final class PGConnection {
    let handle: OpaquePointer
    private var preparedNames: [String: String] = [:]

    /// Connects with a libpq URL (`postgresql://user@host:port/db`) or a conninfo string (`host=... dbname=...`).
    ///
    /// - Throws: ``PGError`` of kind `.connection`; its message never contains the password.
    public init(_ conninfo: String) throws {
        guard let handle = PQconnectdb(conninfo) else {
            throw PGError(kind: .connection, message: "libpq could not allocate a connection")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let raw = String(cString: PQerrorMessage(handle))
            PQfinish(handle)
            throw PGError(kind: .connection, message: PGConnection.redact(raw, conninfo: conninfo))
        }
        self.handle = handle
        // Server notices (e.g. "relation already exists, skipping") are not errors: keep them off stderr.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        let setup = PQexec(handle, "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET client_encoding = 'UTF8'")
        let ok = setup.map { PQresultStatus($0) == PGRES_COMMAND_OK } ?? false
        if let setup { PQclear(setup) }
        guard ok else {
            let raw = String(cString: PQerrorMessage(handle))
            PQfinish(handle)
            throw PGError(kind: .connection, message: PGConnection.redact(raw, conninfo: conninfo))
        }
    }

    deinit { PQfinish(handle) }

    /// True while the connection is usable.
    public var isConnected: Bool { PQstatus(handle) == CONNECTION_OK }

    /// True inside a transaction block (also when the block has failed and awaits ROLLBACK).
    public var isInTransaction: Bool {
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR
    }

    /// The server's process id for this connection (useful in tests and logs).
    public var backendPID: Int { Int(PQbackendPID(handle)) }

    /// Removes the password (as parsed from the conninfo) and anything that looks like a URL's userinfo from a libpq
    /// message.
    static func redact(_ message: String, conninfo: String) -> String {
        var text = message.trimmingCharacters(in: .whitespacesAndNewlines)
        var errorPointer: UnsafeMutablePointer<CChar>?
        if let options = PQconninfoParse(conninfo, &errorPointer) {
            var cursor = options
            while let keyword = cursor.pointee.keyword {
                if String(cString: keyword) == "password", let value = cursor.pointee.val {
                    let password = String(cString: value)
                    if !password.isEmpty { text = text.replacingOccurrences(of: password, with: "***") }
                }
                cursor += 1
            }
            PQconninfoFree(options)
        }
        if let errorPointer { PQfreemem(errorPointer) }
        return text.isEmpty ? "connection failed" : text
    }

    // MARK: Statements

    /// Runs one statement with bound parameters (`$1`, `$2`, ...; nil is SQL NULL) and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ params: [PGValue?] = []) throws -> PGResult {
        let result = withCParams(params) { values, lengths, formats in
            PQexecParams(handle, sql, Int32(params.count), nil, values, lengths, formats, 0)
        }
        return try check(result)
    }

    /// Like ``query(_:_:)``, but prepares the statement once per connection and reuses it (saves a parse and plan per
    /// call on hot paths).
    @discardableResult
    public func queryPrepared(_ sql: String, _ params: [PGValue?] = []) throws -> PGResult {
        let name: String
        if let existing = preparedNames[sql] {
            name = existing
        } else {
            name = "dqt_s\(preparedNames.count + 1)"
            try check(PQprepare(handle, name, sql, Int32(params.count), nil))
            preparedNames[sql] = name
        }
        let result = withCParams(params) { values, lengths, formats in
            PQexecPrepared(handle, name, Int32(params.count), values, lengths, formats, 0)
        }
        return try check(result)
    }

    /// Runs a command and returns the number of rows it affected. Without parameters the text may hold several
    /// statements separated by semicolons (`PQexec`), e.g. a migration.
    @discardableResult
    public func execute(_ sql: String, _ params: [PGValue?] = []) throws -> Int {
        if params.isEmpty {
            let result = try check(PQexec(handle, sql))
            return result.affectedRows
        }
        return try query(sql, params).affectedRows
    }

    // MARK: Transactions

    /// Runs `body` in a transaction: COMMIT when it returns, ROLLBACK when it throws. Inside a transaction already,
    /// it becomes a savepoint, so nested calls undo only their own work.
    @discardableResult
    public func transaction<T>(_ body: (PGConnection) throws -> T) throws -> T {
        if isInTransaction { return try savepoint(body) }
        try execute("BEGIN")
        do {
            let value = try body(self)
            try execute("COMMIT")
            return value
        } catch {
            _ = try? execute("ROLLBACK")
            throw error
        }
    }

    private var savepointDepth = 0

    /// Runs `body` under a savepoint inside the current transaction: on error only its work is undone and the
    /// transaction stays usable.
    @discardableResult
    public func savepoint<T>(_ body: (PGConnection) throws -> T) throws -> T {
        savepointDepth += 1
        defer { savepointDepth -= 1 }
        let name = "dqt_sp\(savepointDepth)"
        try execute("SAVEPOINT \(name)")
        do {
            let value = try body(self)
            try execute("RELEASE SAVEPOINT \(name)")
            return value
        } catch {
            _ = try? execute("ROLLBACK TO SAVEPOINT \(name)")
            _ = try? execute("RELEASE SAVEPOINT \(name)")
            throw error
        }
    }

    // MARK: Advisory locks

    /// `pg_try_advisory_lock(key)`: true when this session now holds the lock (session level, re-entrant).
    public func tryAdvisoryLock(_ key: Int64) throws -> Bool {
        try query("SELECT pg_try_advisory_lock($1::bigint)", [.int64(key)]).bool(0, 0) ?? false
    }

    /// `pg_advisory_unlock(key)`: true when the lock was held.
    @discardableResult
    public func advisoryUnlock(_ key: Int64) throws -> Bool {
        try query("SELECT pg_advisory_unlock($1::bigint)", [.int64(key)]).bool(0, 0) ?? false
    }

    /// Runs `body` while holding the advisory lock, or returns nil at once when another session holds it.
    public func withTryAdvisoryLock<T>(_ key: Int64, _ body: (PGConnection) throws -> T) throws -> T? {
        guard try tryAdvisoryLock(key) else { return nil }
        defer { _ = try? advisoryUnlock(key) }
        return try body(self)
    }

    // MARK: COPY FROM STDIN

    /// Streams rows into `COPY table (...) FROM STDIN` (text or CSV format, as the statement says): `body` writes the
    /// data through the ``PGCopyWriter`` in pieces of any size, sent in chunks of about 64 KiB. Returns the rows
    /// copied. When `body` throws, the COPY is aborted (nothing is loaded) and the error rethrown.
    @discardableResult
    public func copyFromStdin(_ sql: String, _ body: (PGCopyWriter) throws -> Void) throws -> Int {
        guard let start = PQexec(handle, sql) else { throw connectionError() }
        let status = PQresultStatus(start)
        guard status == PGRES_COPY_IN else {
            _ = try check(start)  // throws the server's error
            throw PGError(kind: .protocolMisuse, message: "statement did not start COPY FROM STDIN")
        }
        PQclear(start)
        let writer = PGCopyWriter(connection: self)
        var failure: (any Error)?
        do {
            try body(writer)
            try writer.flush()
        } catch {
            failure = error
        }
        let endResult =
            failure == nil
            ? PQputCopyEnd(handle, nil)
            : PQputCopyEnd(handle, "aborted by the client")
        if endResult != 1, failure == nil { failure = connectionError() }
        var copied = 0
        while let result = PQgetResult(handle) {
            do {
                let checked = try check(result)
                copied = max(copied, checked.affectedRows)
            } catch {
                if failure == nil { failure = error }
            }
        }
        if let failure { throw failure }
        return copied
    }

    func putCopyData(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        let sent = bytes.withMemoryRebound(to: CChar.self) { PQputCopyData(handle, $0.baseAddress, Int32($0.count)) }
        guard sent == 1 else { throw connectionError(kind: .copy) }
    }

    // MARK: Results

    /// Copies the parameters into C memory for libpq: each value's bytes, its length (read for binary values only) and
    /// its format (0 text, NUL-terminated; 1 binary).
    private func withCParams<R>(
        _ params: [PGValue?], _ body: ([UnsafePointer<CChar>?], [Int32], [Int32]) -> R
    ) -> R {
        var lengths = [Int32](repeating: 0, count: params.count)
        var formats = [Int32](repeating: 0, count: params.count)
        var pointers: [UnsafeMutablePointer<CChar>?] = params.enumerated().map { index, value in
            switch value?.storage {
            case nil: return nil
            case .text(let text): return strdup(text)
            case .binary(let bytes):
                lengths[index] = Int32(bytes.count)
                formats[index] = 1
                let copy = UnsafeMutablePointer<CChar>.allocate(capacity: max(1, bytes.count))
                bytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(start: copy, count: bytes.count).copyMemory(from: $0) }
                return copy
            }
        }
        defer {
            for (pointer, value) in zip(pointers, params) {
                if case .binary = value?.storage { pointer?.deallocate() } else { free(pointer) }
            }
        }
        return pointers.withUnsafeMutableBufferPointer { buffer in
            body(buffer.map { UnsafePointer($0) }, lengths, formats)
        }
    }

    @discardableResult
    func check(_ result: OpaquePointer?) throws -> PGResult {
        guard let result else { throw connectionError() }
        let status = PQresultStatus(result)
        if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY
            || status == PGRES_COPY_IN
        {
            return PGResult(owning: result)
        }
        func field(_ code: Character) -> String? {
            guard let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: value)
        }
        // A statement error that also closed the link (the backend terminated, the server shutting down: SQLSTATE
        // classes 57 and 08) is a lost connection for the caller, like any other.
        let linkAlive = PQstatus(handle) == CONNECTION_OK
        let error = PGError(
            kind: status == PGRES_FATAL_ERROR && field("C") != nil && linkAlive ? .query : .connection,
            sqlState: field("C"),
            message: field("M") ?? String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines),
            detail: field("D")
        )
        PQclear(result)
        throw error
    }

    private func connectionError(kind: PGError.Kind = .connection) -> PGError {
        let message = String(cString: PQerrorMessage(handle)).trimmingCharacters(in: .whitespacesAndNewlines)
        return PGError(kind: kind, message: message.isEmpty ? "connection lost" : message)
    }
}

/// Writes the data of a `COPY ... FROM STDIN`, buffering into chunks of about 64 KiB.
public final class PGCopyWriter {
    private unowned let connection: PGConnection
    private var buffer: [UInt8] = []
    private let chunkSize = 64 * 1024

    init(connection: PGConnection) {
        self.connection = connection
        buffer.reserveCapacity(chunkSize + 1024)
    }

    public func write(_ text: String) throws {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= chunkSize { try flush() }
    }

    public func write(_ data: Data) throws {
        buffer.append(contentsOf: data)
        if buffer.count >= chunkSize { try flush() }
    }

    /// Writes one row in COPY's text format: fields tab-separated, nil as `\N`, backslash, tab, newline and carriage
    /// return escaped.
    public func writeRow(_ fields: [String?]) throws {
        for (index, field) in fields.enumerated() {
            if index > 0 { buffer.append(0x09) }
            guard let field else {
                buffer.append(contentsOf: [0x5C, 0x4E])
                continue
            }
            for byte in field.utf8 {
                switch byte {
                case 0x5C: buffer.append(contentsOf: [0x5C, 0x5C])
                case 0x09: buffer.append(contentsOf: [0x5C, 0x74])
                case 0x0A: buffer.append(contentsOf: [0x5C, 0x6E])
                case 0x0D: buffer.append(contentsOf: [0x5C, 0x72])
                default: buffer.append(byte)
                }
            }
        }
        buffer.append(0x0A)
        if buffer.count >= chunkSize { try flush() }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try connection.putCopyData($0) }
        buffer.removeAll(keepingCapacity: true)
    }
}
