/// The fail points along the outbound export path (see ``FailPoint`` for how a test arms or traces them), in the
/// order a clean export passes them. The crash suite kills `dqt-bridge export` at each one a clean run passes.
public enum ExportFailPoint: String, CaseIterable, Sendable {
    /// The export's row (range, file name) is committed; nothing written yet.
    case planned = "export-planned"
    /// A later run took up an undelivered export (one more attempt recorded).
    case resumed = "export-resumed"
    /// A page of changes was fetched from the change feed, before its items are written.
    case pageFetched = "export-page-fetched"
    /// A chunk of the file was flushed to the local work file.
    case chunkWritten = "export-chunk-written"
    /// The work file is complete and synced, before the ledger knows its size and hash.
    case fileWritten = "export-file-written"
    /// `written` (size, hash, record count) is committed, before delivery starts.
    case written = "export-written"
    /// The destination was inspected (final name, leftover temporary file), before anything is sent.
    case destinationChecked = "delivery-checked"
    /// A temporary file left by an interrupted delivery was removed.
    case stalePartRemoved = "delivery-stale-part-removed"
    /// The upload to the temporary name is about to start.
    case uploadStarted = "delivery-upload-started"
    /// A chunk of the upload was sent.
    case uploadChunk = "delivery-upload-chunk"
    /// The whole file is at the destination under its temporary name.
    case uploaded = "delivery-uploaded"
    /// The ledger recorded `uploaded`.
    case uploadedRecorded = "export-uploaded-recorded"
    /// The destination's copy was read back and matches, before the rename.
    case verified = "delivery-verified"
    /// The ledger recorded `verified`.
    case verifiedRecorded = "export-verified-recorded"
    /// The file has its final name at the destination, before the ledger knows.
    case renamed = "delivery-renamed"
    /// Just before the transaction that marks the export delivered and moves the watermark.
    case markingDelivered = "export-marking-delivered"
    /// The export is delivered and the watermark moved, before the run's report.
    case delivered = "export-delivered"

    /// Kills or stops the process here when a test asked for this point; notes the pass when tracing.
    public func hit() { FailPoint.hit(rawValue) }
}
