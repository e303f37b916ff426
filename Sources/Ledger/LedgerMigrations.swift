public import LibPQ

/// The ledger's schema, as an ordered list of migrations. Everything lives in the `bridge` schema, so the ledger can
/// share a database with other applications without name clashes.
///
/// Append new migrations at the end; never edit one that has shipped.
public enum LedgerMigrations {
    public static let all: [Migration] = [
        Migration(
            version: 1, name: "runs, files, records, listing observations",
            sql: """
                CREATE TABLE bridge.runs (
                    id bigserial PRIMARY KEY,
                    started_at timestamptz NOT NULL DEFAULT now(),
                    finished_at timestamptz,
                    status text NOT NULL DEFAULT 'running'
                        CHECK (status IN ('running', 'succeeded', 'refusals', 'failed', 'interrupted')),
                    exit_status int,
                    command text NOT NULL DEFAULT 'run',
                    host text NOT NULL,
                    pid int NOT NULL,
                    feeds text[] NOT NULL DEFAULT '{}',
                    counts jsonb NOT NULL DEFAULT '{}',
                    summary text,
                    error text
                );

                CREATE TABLE bridge.files (
                    id bigserial PRIMARY KEY,
                    run_id bigint NOT NULL REFERENCES bridge.runs(id),
                    last_run_id bigint NOT NULL REFERENCES bridge.runs(id),
                    feed text NOT NULL,
                    source text NOT NULL CHECK (source IN ('sftp', 'folder', 'mail', 'replay')),
                    transport text NOT NULL,
                    source_path text NOT NULL,
                    name text NOT NULL,
                    size bigint,
                    mtime timestamptz,
                    sha256 text,
                    state text NOT NULL CHECK (state IN (
                        'left', 'discovered', 'downloaded', 'parsed', 'publishing',
                        'published', 'shadowed', 'quarantined', 'duplicate', 'gone')),
                    reason text,
                    duplicate_of bigint REFERENCES bridge.files(id),
                    replay_of bigint REFERENCES bridge.files(id),
                    local_path text,
                    archive_path text,
                    archived_at timestamptz,
                    error_code text,
                    error_message text,
                    sender text,
                    attachments text[],
                    rows_read int,
                    accepted int,
                    rejected int,
                    warnings int,
                    published int NOT NULL DEFAULT 0,
                    failed int NOT NULL DEFAULT 0,
                    check_summary jsonb,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    updated_at timestamptz NOT NULL DEFAULT now()
                );
                -- The same content is handled once per feed: a second file with it is a duplicate.
                CREATE UNIQUE INDEX files_content_once ON bridge.files (feed, sha256)
                    WHERE state IN ('parsed', 'publishing', 'published', 'shadowed') AND replay_of IS NULL;
                -- One 'left' row per pickup path, updated on every listing until the file is taken.
                CREATE UNIQUE INDEX files_left_once ON bridge.files (feed, source_path) WHERE state = 'left';
                CREATE INDEX files_by_listing ON bridge.files (feed, source_path, size, mtime);
                CREATE INDEX files_by_run ON bridge.files (last_run_id);
                CREATE INDEX files_unfinished ON bridge.files (state)
                    WHERE state IN ('discovered', 'downloaded', 'parsed', 'publishing') OR archived_at IS NULL;

                -- One row per record of a file, in file order (seq). Line numbers restart in each attachment of an
                -- email, so the key is (file, seq); for flat files (file, line) is unique too.
                CREATE TABLE bridge.records (
                    file_id bigint NOT NULL REFERENCES bridge.files(id) ON DELETE CASCADE,
                    seq int NOT NULL,
                    line int NOT NULL,
                    key text,
                    outcome text NOT NULL CHECK (outcome IN ('accepted', 'rejected', 'published', 'failed', 'shadow')),
                    method text,
                    path text,
                    -- The request body, kept only until the API has acknowledged the record (personal data).
                    body text,
                    api_status int,
                    replayed boolean,
                    problem jsonb,
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (file_id, seq)
                );
                CREATE INDEX records_by_key ON bridge.records (key) WHERE key IS NOT NULL;

                -- What each listing saw, to judge stability across runs: first_seen is when this size and mtime were
                -- first seen at this path.
                CREATE TABLE bridge.listing_observations (
                    feed text NOT NULL,
                    path text NOT NULL,
                    size bigint NOT NULL,
                    mtime timestamptz NOT NULL,
                    first_seen timestamptz NOT NULL,
                    last_seen timestamptz NOT NULL,
                    listings int NOT NULL DEFAULT 1,
                    decision text,
                    PRIMARY KEY (feed, path)
                );
                """),
        Migration(
            version: 2, name: "records: room for in-place outcome updates, no key index",
            sql: """
                -- Acknowledging a record rewrites its row (outcome, status, body dropped): with free space on the page the
                -- update stays on the page and touches no index (a HOT update). Keys are looked up per file instead.
                DROP INDEX IF EXISTS bridge.records_by_key;
                ALTER TABLE bridge.records SET (fillfactor = 70);
                """),
        Migration(
            version: 3, name: "records: no per-row foreign key check",
            sql: """
                -- The foreign key's trigger ran once per staged row and tripled the cost of COPY; records are only ever
                -- written by staging, in the transaction that updates the file's row, and files are never deleted.
                ALTER TABLE bridge.records DROP CONSTRAINT IF EXISTS records_file_id_fkey;
                """),
        Migration(
            version: 4, name: "outbound exports and their feeds' watermarks",
            sql: """
                -- One row per file written for a partner (see ExportLedger for the invariants). after_cursor is exclusive
                -- (NULL: from the feed's beginning), up_to_cursor inclusive (equal to after_cursor: an empty range).
                CREATE TABLE bridge.exports (
                    id bigserial PRIMARY KEY,
                    feed text NOT NULL,
                    run_id bigint NOT NULL REFERENCES bridge.runs(id),
                    last_run_id bigint NOT NULL REFERENCES bridge.runs(id),
                    after_cursor text,
                    up_to_cursor text,
                    file_name text NOT NULL,
                    destination text NOT NULL,
                    records int,
                    size bigint,
                    sha256 text,
                    state text NOT NULL CHECK (state IN ('planned', 'written', 'uploaded', 'verified', 'delivered', 'failed')),
                    failure_reason text,
                    attempts int NOT NULL DEFAULT 1,
                    resend_of bigint REFERENCES bridge.exports(id),
                    planned_at timestamptz NOT NULL DEFAULT now(),
                    written_at timestamptz,
                    uploaded_at timestamptz,
                    verified_at timestamptz,
                    delivered_at timestamptz,
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    CHECK (up_to_cursor IS NOT NULL OR after_cursor IS NULL),
                    CHECK (state IN ('planned', 'failed') OR sha256 IS NOT NULL)
                );
                -- The next run finishes a feed's undelivered export before planning another.
                CREATE UNIQUE INDEX exports_one_unfinished ON bridge.exports (feed) WHERE state <> 'delivered' AND resend_of IS NULL;
                CREATE UNIQUE INDEX exports_one_unfinished_resend ON bridge.exports (resend_of) WHERE state <> 'delivered';
                -- A destination recognises a delivered file by its name: one regular export per name.
                CREATE UNIQUE INDEX exports_name_once ON bridge.exports (feed, file_name) WHERE resend_of IS NULL;
                CREATE INDEX exports_by_run ON bridge.exports (last_run_id);

                -- The upper end of each feed's last delivered range; moved only with the export marked delivered.
                CREATE TABLE bridge.export_watermarks (
                    feed text PRIMARY KEY,
                    cursor text,
                    export_id bigint NOT NULL REFERENCES bridge.exports(id),
                    delivered_at timestamptz NOT NULL
                );
                """),
        Migration(
            version: 5, name: "export watermarks moved by ranges with nothing to send",
            sql: """
                -- A range with nothing to send moves the watermark with no export; checked_at lets a daily feed be due
                -- once per slot however many runs find nothing.
                ALTER TABLE bridge.export_watermarks ALTER COLUMN export_id DROP NOT NULL, ALTER COLUMN delivered_at DROP NOT NULL,
                    ADD COLUMN checked_at timestamptz NOT NULL DEFAULT now();
                """),
        Migration(
            version: 6, name: "shadow parity results and feed promotions",
            sql: """
                -- One row per compared shadow file (a new comparison replaces it): what promotion and the estate read.
                CREATE TABLE bridge.parity_results (
                    file_id bigint PRIMARY KEY REFERENCES bridge.files(id),
                    feed text NOT NULL,
                    file_name text NOT NULL,
                    compared_at timestamptz NOT NULL,
                    rows_compared int NOT NULL CHECK (rows_compared >= 0),
                    rows_agreed int NOT NULL CHECK (rows_agreed >= 0 AND rows_agreed <= rows_compared),
                    read_back jsonb NOT NULL DEFAULT '{}',
                    report_path text
                );
                CREATE INDEX parity_results_by_feed ON bridge.parity_results (feed, file_id DESC);

                -- Every change of a feed's status, with the evidence or the override's reason.
                CREATE TABLE bridge.promotions (
                    id bigserial PRIMARY KEY,
                    feed text NOT NULL,
                    from_status text NOT NULL,
                    to_status text NOT NULL,
                    promoted_at timestamptz NOT NULL,
                    promoted_by text NOT NULL,
                    evidence text NOT NULL,
                    override_reason text,
                    CHECK (override_reason IS NULL OR length(override_reason) > 0)
                );
                CREATE INDEX promotions_by_feed ON bridge.promotions (feed, id DESC);

                -- Shadow records now keep their planned bodies for the parity window: wiped by feed and age.
                CREATE INDEX records_shadow_bodies ON bridge.records (file_id) WHERE outcome = 'shadow' AND body IS NOT NULL;
                """),
        Migration(
            version: 7, name: "retention: what was removed, per run and class",
            sql: """
                -- Each removal is marked on its file (so it happens once) and counted in the run's row of its class in the
                -- same transaction (see RetentionLedger). Nullable columns without a default: no table rewrite.
                ALTER TABLE bridge.files ADD COLUMN archive_removed_at timestamptz, ADD COLUMN bodies_wiped_at timestamptz,
                    ADD COLUMN records_deleted_at timestamptz;
                CREATE TABLE bridge.retention_counts (
                    run_id bigint NOT NULL REFERENCES bridge.runs(id),
                    class text NOT NULL CHECK (class IN ('archivedFiles', 'recordBodies', 'records', 'reports')),
                    period_days int,
                    cutoff timestamptz,
                    deleted bigint NOT NULL DEFAULT 0,
                    bytes bigint NOT NULL DEFAULT 0,
                    failed int NOT NULL DEFAULT 0,
                    oldest_deleted timestamptz,
                    oldest_kept timestamptz,
                    PRIMARY KEY (run_id, class)
                );
                """),
        Migration(
            version: 8, name: "notices sent from the mail outbox and their transitions",
            sql: """
                -- One row per outbox entry sent as an email (see NoticeLedger); every transition is audited in notice_events
                -- in the same transaction.
                CREATE TABLE bridge.notices (
                    id bigserial PRIMARY KEY,
                    entry text NOT NULL UNIQUE,
                    message_id text NOT NULL UNIQUE,
                    sha256 text NOT NULL,
                    size bigint NOT NULL,
                    recipients text[] NOT NULL,
                    subject text NOT NULL,
                    state text NOT NULL
                        CHECK (state IN ('pending', 'submitting', 'submitted', 'sent', 'refused', 'given-up', 'held')),
                    attempts int NOT NULL DEFAULT 0,
                    last_attempt_at timestamptz,
                    reply text,
                    queue_id text,
                    submitted_at timestamptz,
                    sent_at timestamptz,
                    created_at timestamptz NOT NULL,
                    updated_at timestamptz NOT NULL
                );
                CREATE INDEX notices_open ON bridge.notices (id) WHERE state IN ('pending', 'submitting', 'submitted');
                CREATE TABLE bridge.notice_events (
                    id bigserial PRIMARY KEY,
                    notice_id bigint NOT NULL REFERENCES bridge.notices(id),
                    at timestamptz NOT NULL,
                    from_state text,
                    to_state text NOT NULL,
                    run_id bigint REFERENCES bridge.runs(id),
                    detail text NOT NULL
                );
                CREATE INDEX notice_events_by_notice ON bridge.notice_events (notice_id, id);
                """),
    ]

    /// Recorded in `bridge.schema_migrations`, under an advisory lock of the ledger's own.
    static let runner = MigrationRunner(
        migrations: all, versionTable: "schema_migrations", schema: "bridge", lockKey: 0x4451_5442_4D49_4752)  // "DQTBMIGR"

    /// Applies every migration not yet applied, in order, each in its own transaction. Returns the versions applied.
    @discardableResult
    public static func migrate(_ connection: PGConnection) throws -> [Int] { try runner.migrate(connection) }
}
