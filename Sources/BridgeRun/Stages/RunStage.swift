/// One stage of a run's pass. The runner takes the lock, starts the run's row in the ledger and clears the work
/// folder's leftovers; then it runs its stages in order, each with the same ``RunContext``; then it finishes the run
/// (the run row, metrics, reports) and releases the lock.
///
/// Today the pass has one stage, ``InboundStage`` (resume unfinished files, then poll and take new ones). An outbound
/// export stage goes beside it: a type conforming to `RunStage`, appended to ``BridgeRunner``'s `stages`. It needs no
/// change to the inbound stage, the poller, the file state machine or the archiver: it reads what it needs from the
/// ledger and the catalog through the context, writes its own ledger rows under `context.runID`, and counts what it did
/// in `context.tally`, which the runner turns into the summary, the exit status and the run row.
///
/// A stage's contract:
/// - it calls `context.verifyLock()` before each unit of work that writes outside the ledger (a lost lock means another
///   run may be doing the same work);
/// - it checks `context.stop` between units of work and, when set, sets `context.tally.stoppedBySignal` and returns; the
///   runner then runs no further stage;
/// - it records a failure that the next run can retry in `context.tally.failures` and goes on; it throws only what must
///   stop the run (``FatalRunError``, a lost lock, the ledger gone).
protocol RunStage {
    func run(in context: RunContext) async throws
}
