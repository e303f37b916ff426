import Foundation
import LibPQ

/// Reading the ledger's rows: the columns each query selects and their decoding.
extension FileRow {
    static let columns = """
        id, run_id, last_run_id, feed, source, transport, source_path, name, size, mtime, sha256, state, reason,
        duplicate_of, replay_of, local_path, archive_path, archived_at, error_code, error_message, sender,
        attachments, rows_read, accepted, rejected, warnings, published, failed, created_at, updated_at
        """

    init(_ row: PGRow) throws {
        id = try row.result.requireInt64(row.index, "id")
        runID = try row.result.requireInt64(row.index, "run_id")
        lastRunID = try row.result.requireInt64(row.index, "last_run_id")
        feed = try row.result.requireString(row.index, "feed")
        origin = FileOrigin(rawValue: try row.result.requireString(row.index, "source")) ?? .folder
        transport = try row.result.requireString(row.index, "transport")
        sourcePath = try row.result.requireString(row.index, "source_path")
        name = try row.result.requireString(row.index, "name")
        size = row.int64("size")
        mtime = row.date("mtime")
        sha256 = row["sha256"]
        state = FileState(rawValue: try row.result.requireString(row.index, "state")) ?? .discovered
        reason = row["reason"]
        duplicateOf = row.int64("duplicate_of")
        replayOf = row.int64("replay_of")
        localPath = row["local_path"]
        archivePath = row["archive_path"]
        archivedAt = row.date("archived_at")
        errorCode = row["error_code"]
        errorMessage = row["error_message"]
        sender = row["sender"]
        attachments = row.textArray("attachments")?.map { $0 ?? "" } ?? []
        rowsRead = row.int("rows_read")
        accepted = row.int("accepted")
        rejected = row.int("rejected")
        warnings = row.int("warnings")
        published = row.int("published") ?? 0
        failed = row.int("failed") ?? 0
        createdAt = row.date("created_at") ?? Date(timeIntervalSince1970: 0)
        updatedAt = row.date("updated_at") ?? Date(timeIntervalSince1970: 0)
    }
}

extension RunRow {
    static let columns = "id, started_at, finished_at, status, exit_status, command, host, pid, feeds, counts, summary, error"

    init(_ row: PGRow) throws {
        id = try row.result.requireInt64(row.index, "id")
        startedAt = try row.result.requireDate(row.index, "started_at")
        finishedAt = row.date("finished_at")
        status = RunStatus(rawValue: row["status"] ?? "") ?? .running
        exitStatus = row.int("exit_status")
        command = row["command"] ?? "run"
        host = row["host"] ?? ""
        pid = row.int("pid") ?? 0
        feeds = row.textArray("feeds")?.map { $0 ?? "" } ?? []
        counts = row["counts"] ?? "{}"
        summary = row["summary"]
        error = row["error"]
    }
}
