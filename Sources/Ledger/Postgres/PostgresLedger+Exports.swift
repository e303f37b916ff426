import Foundation
import LibPQ

/// Exports in `bridge.exports` and `bridge.export_watermarks`. Each step is one statement or one transaction; the
/// unique indexes of migration 4 back the invariants, the checks here turn them into ``ExportLedgerError``s.
extension PostgresLedger: ExportLedger {
    public func export(id: Int64) async throws -> ExportRow? {
        try await withConnection { try Self.export(id: id, on: $0, lock: false) }
    }

    public func unfinishedExport(feed: String) async throws -> ExportRow? {
        try await withConnection { try Self.unfinished(feed: feed, on: $0) }
    }

    public func watermark(feed: String) async throws -> ExportWatermark? {
        try await withConnection { try Self.watermark(feed: feed, on: $0, lock: false) }
    }

    public func planExport(feed: String, runID: Int64, range: ExportRange, fileName: String, destination: String) async throws -> ExportRow {
        try await withConnection { connection in
            try connection.transaction { connection in
                try Self.lockPlans(feed: feed, on: connection)
                if let unfinished = try Self.unfinished(feed: feed, on: connection) {
                    if unfinished.range == range && unfinished.fileName == fileName && unfinished.destination == destination { return unfinished }
                    throw ExportLedgerError.unfinishedExport(feed: feed, id: unfinished.id)
                }
                let watermark = try Self.watermark(feed: feed, on: connection, lock: false)
                guard watermark?.cursor == range.after else {
                    throw ExportLedgerError.notContiguous(feed: feed, watermark: watermark?.cursor, after: range.after)
                }
                let taken = try connection.query(
                    "SELECT 1 FROM bridge.exports WHERE feed = $1 AND file_name = $2 AND resend_of IS NULL", [.text(feed), .text(fileName)])
                guard taken.rows.isEmpty else { throw ExportLedgerError.fileNameTaken(feed: feed, name: fileName) }
                return try ExportRow(
                    connection.query(
                        """
                        INSERT INTO bridge.exports (feed, run_id, last_run_id, after_cursor, up_to_cursor, file_name, destination, state)
                        VALUES ($1, $2, $2, $3, $4, $5, $6, 'planned') RETURNING \(ExportRow.columns)
                        """,
                        [
                            .text(feed), .int64(runID), range.after.map(PGValue.text), range.upTo.map(PGValue.text), .text(fileName),
                            .text(destination),
                        ]
                    ).rows[0])
            }
        }
    }

    public func planResend(of id: Int64, runID: Int64, destination: String) async throws -> ExportRow {
        try await withConnection { connection in
            try connection.transaction { connection in
                guard let original = try Self.export(id: id, on: connection, lock: true) else { throw ExportLedgerError.unknownExport(id: id) }
                guard original.state == .delivered else { throw ExportLedgerError.notDelivered(id: id) }
                let unfinished = try connection.query(
                    "SELECT \(ExportRow.columns) FROM bridge.exports WHERE resend_of = $1 AND state <> 'delivered'", [.int64(id)]
                ).rows.first.map(ExportRow.init)
                if let unfinished { return unfinished }
                return try ExportRow(
                    connection.query(
                        """
                        INSERT INTO bridge.exports (feed, run_id, last_run_id, after_cursor, up_to_cursor, file_name, destination,
                            records, size, sha256, state, resend_of)
                        SELECT feed, $2, $2, after_cursor, up_to_cursor, file_name, $3, records, size, sha256, 'planned', id
                        FROM bridge.exports WHERE id = $1 RETURNING \(ExportRow.columns)
                        """, [.int64(id), .int64(runID), .text(destination)]
                    ).rows[0])
            }
        }
    }

    public func resumeExport(id: Int64, runID: Int64) async throws -> ExportRow {
        try await update(id: id, requireWritten: false, "attempts = attempts + 1, last_run_id = $2", [.int64(runID)])
    }

    public func markWritten(id: Int64, records: Int, size: Int64, sha256: String) async throws -> ExportRow {
        try await withConnection { connection in
            try connection.transaction { connection in
                guard let row = try Self.export(id: id, on: connection, lock: true) else { throw ExportLedgerError.unknownExport(id: id) }
                guard row.state != .delivered else { throw ExportLedgerError.alreadyDelivered(id: id) }
                if let recorded = row.sha256, recorded != sha256 {
                    throw ExportLedgerError.contentChanged(id: id, recorded: recorded, now: sha256)
                }
                return try ExportRow(
                    connection.query(
                        """
                        UPDATE bridge.exports SET state = 'written', records = $2, size = $3, sha256 = $4, failure_reason = NULL,
                            written_at = now(), updated_at = now()
                        WHERE id = $1 RETURNING \(ExportRow.columns)
                        """, [.int64(id), .int(records), .int64(size), .text(sha256)]
                    ).rows[0])
            }
        }
    }

    public func markProgress(id: Int64, _ step: ExportProgress) async throws -> ExportRow {
        let column = step == .uploaded ? "uploaded_at" : "verified_at"
        return try await update(id: id, requireWritten: true, "state = $2, \(column) = now()", [.text(step.rawValue)])
    }

    public func markDelivered(id: Int64) async throws -> ExportRow {
        try await withConnection { connection in
            try connection.transaction { connection in
                guard let row = try Self.export(id: id, on: connection, lock: true) else { throw ExportLedgerError.unknownExport(id: id) }
                if row.state == .delivered { return row }
                guard row.sha256 != nil else { throw ExportLedgerError.notWritten(id: id) }
                if row.resendOf == nil {
                    let watermark = try Self.watermark(feed: row.feed, on: connection, lock: true)
                    guard watermark?.cursor == row.range.after else {
                        throw ExportLedgerError.notContiguous(feed: row.feed, watermark: watermark?.cursor, after: row.range.after)
                    }
                    try connection.execute(
                        """
                        INSERT INTO bridge.export_watermarks (feed, cursor, export_id, delivered_at, checked_at) VALUES ($1, $2, $3, now(), now())
                        ON CONFLICT (feed) DO UPDATE SET cursor = EXCLUDED.cursor, export_id = EXCLUDED.export_id,
                            delivered_at = EXCLUDED.delivered_at, checked_at = EXCLUDED.checked_at
                        """, [.text(row.feed), row.range.upTo.map(PGValue.text), .int64(id)])
                }
                return try ExportRow(
                    connection.query(
                        """
                        UPDATE bridge.exports SET state = 'delivered', failure_reason = NULL, delivered_at = now(), updated_at = now()
                        WHERE id = $1 RETURNING \(ExportRow.columns)
                        """, [.int64(id)]
                    ).rows[0])
            }
        }
    }

    public func markExportFailed(id: Int64, reason: String) async throws -> ExportRow {
        try await update(id: id, requireWritten: false, "state = 'failed', failure_reason = $2", [.text(reason)])
    }

    public func exports(feed: String?, limit: Int) async throws -> [ExportRow] {
        try await withConnection { connection in
            try connection.query(
                "SELECT \(ExportRow.columns) FROM bridge.exports WHERE $1::text IS NULL OR feed = $1 ORDER BY id DESC LIMIT $2",
                [feed.map(PGValue.text), .int(limit)]
            ).rows.map(ExportRow.init)
        }
    }

    public func exports(runID: Int64) async throws -> [ExportRow] {
        try await withConnection { connection in
            try connection.query(
                "SELECT \(ExportRow.columns) FROM bridge.exports WHERE run_id = $1 OR last_run_id = $1 ORDER BY id", [.int64(runID)]
            ).rows.map(ExportRow.init)
        }
    }

    public func exportSummaries() async throws -> [ExportFeedSummary] {
        try await withConnection { connection in
            let counts = try connection.query(
                """
                SELECT feed, count(*) FILTER (WHERE state = 'delivered') AS delivered, count(*) FILTER (WHERE state <> 'delivered') AS pending,
                    max(id) FILTER (WHERE state = 'delivered') AS last_delivered
                FROM bridge.exports GROUP BY feed ORDER BY feed COLLATE "C"
                """)
            return try counts.rows.map { row in
                let last = try row.int64("last_delivered").flatMap { try Self.export(id: $0, on: connection, lock: false) }
                return ExportFeedSummary(
                    feed: row["feed"] ?? "", delivered: row.int("delivered") ?? 0, pending: row.int("pending") ?? 0, lastDelivered: last)
            }
        }
    }

    /// Updates an undelivered export (`$1` is its id, `parameters` follow as `$2`...), refusing a delivered one.
    private func update(id: Int64, requireWritten: Bool, _ assignments: String, _ parameters: [PGValue?]) async throws -> ExportRow {
        try await withConnection { connection in
            try connection.transaction { connection in
                guard let row = try Self.export(id: id, on: connection, lock: true) else { throw ExportLedgerError.unknownExport(id: id) }
                guard row.state != .delivered else { throw ExportLedgerError.alreadyDelivered(id: id) }
                if requireWritten && row.sha256 == nil { throw ExportLedgerError.notWritten(id: id) }
                return try ExportRow(
                    connection.query(
                        "UPDATE bridge.exports SET \(assignments), updated_at = now() WHERE id = $1 RETURNING \(ExportRow.columns)",
                        [.int64(id)] + parameters
                    ).rows[0])
            }
        }
    }

    public func settleEmptyRange(feed: String, range: ExportRange) async throws -> ExportWatermark {
        try await withConnection { connection in
            try connection.transaction { connection in
                try Self.lockPlans(feed: feed, on: connection)
                if let unfinished = try Self.unfinished(feed: feed, on: connection) {
                    throw ExportLedgerError.unfinishedExport(feed: feed, id: unfinished.id)
                }
                let watermark = try Self.watermark(feed: feed, on: connection, lock: true)
                guard watermark?.cursor == range.after else {
                    throw ExportLedgerError.notContiguous(feed: feed, watermark: watermark?.cursor, after: range.after)
                }
                try connection.execute(
                    """
                    INSERT INTO bridge.export_watermarks (feed, cursor, checked_at) VALUES ($1, $2, now())
                    ON CONFLICT (feed) DO UPDATE SET cursor = EXCLUDED.cursor, checked_at = EXCLUDED.checked_at
                    """, [.text(feed), range.upTo.map(PGValue.text)])
                return try Self.watermark(feed: feed, on: connection, lock: false)!
            }
        }
    }

    /// Plans and settled ranges of one feed queue behind each other (to the transaction's end), so each one's checks
    /// see every earlier plan.
    static func lockPlans(feed: String, on connection: PGConnection) throws {
        _ = try connection.query("SELECT pg_advisory_xact_lock(hashtext('bridge.exports'), hashtext($1))", [.text(feed)])
    }

    /// The feed's undelivered regular export.
    static func unfinished(feed: String, on connection: PGConnection) throws -> ExportRow? {
        try connection.query(
            "SELECT \(ExportRow.columns) FROM bridge.exports WHERE feed = $1 AND state <> 'delivered' AND resend_of IS NULL", [.text(feed)]
        ).rows.first.map(ExportRow.init)
    }

    static func export(id: Int64, on connection: PGConnection, lock: Bool) throws -> ExportRow? {
        try connection.query("SELECT \(ExportRow.columns) FROM bridge.exports WHERE id = $1\(lock ? " FOR UPDATE" : "")", [.int64(id)])
            .rows.first.map(ExportRow.init)
    }

    static func watermark(feed: String, on connection: PGConnection, lock: Bool) throws -> ExportWatermark? {
        try connection.query(
            "SELECT feed, cursor, export_id, delivered_at, checked_at FROM bridge.export_watermarks WHERE feed = $1\(lock ? " FOR UPDATE" : "")",
            [.text(feed)]
        ).rows.first.map { row in
            ExportWatermark(
                feed: row["feed"] ?? feed, cursor: row["cursor"], exportID: row.result.int64(row.index, "export_id"),
                deliveredAt: row.result.date(row.index, "delivered_at"), checkedAt: try row.result.requireDate(row.index, "checked_at"))
        }
    }
}

extension ExportRow {
    static let columns = """
        id, feed, run_id, last_run_id, after_cursor, up_to_cursor, file_name, destination, records, size, sha256, state,
        failure_reason, attempts, resend_of, planned_at, written_at, uploaded_at, verified_at, delivered_at, updated_at
        """

    init(_ row: PGRow) throws {
        self.init(
            id: try row.result.requireInt64(row.index, "id"), feed: try row.result.requireString(row.index, "feed"),
            runID: try row.result.requireInt64(row.index, "run_id"),
            range: ExportRange(after: row["after_cursor"], upTo: row["up_to_cursor"]),
            fileName: try row.result.requireString(row.index, "file_name"),
            destination: try row.result.requireString(row.index, "destination"), resendOf: row.int64("resend_of"),
            plannedAt: try row.result.requireDate(row.index, "planned_at"))
        lastRunID = try row.result.requireInt64(row.index, "last_run_id")
        records = row.int("records")
        size = row.int64("size")
        sha256 = row["sha256"]
        state = ExportState(rawValue: try row.result.requireString(row.index, "state")) ?? .failed
        failureReason = row["failure_reason"]
        attempts = row.int("attempts") ?? 1
        writtenAt = row.date("written_at")
        uploadedAt = row.date("uploaded_at")
        verifiedAt = row.date("verified_at")
        deliveredAt = row.date("delivered_at")
        updatedAt = row.date("updated_at") ?? plannedAt
    }
}
