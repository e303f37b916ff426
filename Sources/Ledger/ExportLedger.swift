import Foundation

/// Outbound exports: what each run wrote for a partner, which range of the change feed it holds, and whether it has
/// been delivered. With the delivery's own idempotence (a final file with the same bytes is already delivered) this
/// makes each range arrive exactly once, whatever crashes in between.
///
/// Invariants every store keeps:
/// - At most one undelivered regular export per feed (`resendOf == nil`, any state but `delivered`): the next run
///   finishes it (same range, same file name, same bytes) before planning another. At most one undelivered resend
///   per original.
/// - A regular export's range starts at the feed's watermark when it is planned, and the watermark moves to its upper
///   end only in the transaction that marks it delivered, and only if it still equals the range's start. A range with
///   nothing to send moves it the same way, with no export. So the ranges of delivered exports and empty ranges are
///   contiguous and never overlap, and no change is skipped.
/// - File names are unique per feed among regular exports; a resend keeps its original's name, range and hash.
/// - Once `delivered`, an export never changes; a recorded SHA-256 never changes.
public protocol ExportLedger: Sendable {
    func export(id: Int64) async throws -> ExportRow?

    /// The feed's undelivered regular export, if any.
    func unfinishedExport(feed: String) async throws -> ExportRow?

    /// The feed's watermark; nil before its first delivery.
    func watermark(feed: String) async throws -> ExportWatermark?

    /// Plans a regular export. Throws ``ExportLedgerError/unfinishedExport(feed:id:)`` when the feed has one (unless
    /// it is this very plan, which is returned: a retried call is harmless), ``ExportLedgerError/notContiguous(feed:watermark:after:)``
    /// when `range.after` is not the watermark, ``ExportLedgerError/fileNameTaken(feed:name:)``.
    func planExport(feed: String, runID: Int64, range: ExportRange, fileName: String, destination: String) async throws -> ExportRow

    /// Plans delivering a delivered export's bytes again to `destination` under its name: a new row (`resendOf`) with
    /// its range, file name, record count, size and SHA-256. Returns the original's undelivered resend when there is
    /// one (finish that instead). Throws ``ExportLedgerError/notDelivered(id:)`` for an undelivered original.
    func planResend(of id: Int64, runID: Int64, destination: String) async throws -> ExportRow

    /// A later run takes up an undelivered export: one more attempt, this run as its last.
    func resumeExport(id: Int64, runID: Int64) async throws -> ExportRow

    /// The file is written: its record count, size and SHA-256. When a SHA-256 is already recorded (a resumed export,
    /// a resend) it must be the same, else ``ExportLedgerError/contentChanged(id:recorded:now:)`` and nothing changes.
    func markWritten(id: Int64, records: Int, size: Int64, sha256: String) async throws -> ExportRow

    /// How far the delivery got (`uploaded`, `verified`). Needs the file written.
    func markProgress(id: Int64, _ step: ExportProgress) async throws -> ExportRow

    /// In one transaction: the export `delivered` and, for a regular export, the feed's watermark moved to its range's
    /// upper end, checking the watermark still equals the range's start. Already delivered: returned as it is.
    func markDelivered(id: Int64) async throws -> ExportRow

    /// The range from the feed's watermark to `range.upTo` holds nothing to send and the feed writes no empty file:
    /// the watermark moves to `range.upTo` (checking it still equals `range.after`) and the check time is noted, so a
    /// daily feed is not due again before its next slot. Throws ``ExportLedgerError/unfinishedExport(feed:id:)`` when
    /// the feed has an undelivered export (its range comes first).
    func settleEmptyRange(feed: String, range: ExportRange) async throws -> ExportWatermark

    /// The attempt failed: `failed` with the reason (no personal data). The export stays the feed's unfinished one.
    func markExportFailed(id: Int64, reason: String) async throws -> ExportRow

    /// Exports of a feed (all feeds when nil), newest first, at most `limit`.
    func exports(feed: String?, limit: Int) async throws -> [ExportRow]

    /// Exports a run worked on (planned or last worked on in it), oldest first.
    func exports(runID: Int64) async throws -> [ExportRow]

    /// Per feed with any export: delivered and pending counts and the newest delivered export, by feed.
    func exportSummaries() async throws -> [ExportFeedSummary]
}
