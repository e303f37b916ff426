public import LibPQ

/// The schema, as ordered migrations recorded in `schema_migrations`. Never edit a published migration: add one.
public enum Migrations {
    public static let all: [Migration] = [
        Migration(
            version: 1, name: "persons and their records",
            sql: """
                CREATE TABLE persons (
                    trn text PRIMARY KEY CHECK (trn ~ '^[0-9]{7}$'),
                    status text NOT NULL DEFAULT 'Active' CHECK (status IN ('Active', 'Deactivated', 'Merged')),
                    merged_into text,
                    first_name text NOT NULL DEFAULT '',
                    middle_name text,
                    last_name text NOT NULL,
                    date_of_birth date NOT NULL,
                    nino text,
                    email text,
                    gender text CHECK (gender IN ('Male', 'Female', 'Other')),
                    date_of_death date,
                    qtls_date date,
                    qtls_status text NOT NULL DEFAULT 'None',
                    induction_status text NOT NULL DEFAULT 'None',
                    induction_start date,
                    induction_completed date,
                    induction_exemption_reasons jsonb NOT NULL DEFAULT '[]',
                    induction_modified_on timestamptz,
                    itt jsonb NOT NULL DEFAULT '[]',
                    created_at timestamptz NOT NULL DEFAULT now(),
                    updated_at timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX persons_nino ON persons (nino) WHERE nino IS NOT NULL;
                CREATE INDEX persons_name_dob ON persons (lower(last_name), lower(first_name), date_of_birth);

                CREATE TABLE routes (
                    route_id text PRIMARY KEY,
                    trn text NOT NULL REFERENCES persons (trn),
                    reference text,
                    route_type_id text NOT NULL,
                    route_type_name text NOT NULL,
                    professional_status_type text NOT NULL,
                    status text NOT NULL,
                    holds_from date,
                    training_start date,
                    training_end date,
                    detail jsonb NOT NULL DEFAULT '{}',
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    UNIQUE (trn, reference)
                );
                CREATE INDEX routes_trn ON routes (trn);

                CREATE TABLE alerts (
                    alert_id text PRIMARY KEY,
                    trn text NOT NULL REFERENCES persons (trn),
                    alert_type_code text NOT NULL,
                    details text,
                    start_date date NOT NULL,
                    end_date date,
                    sender text,
                    created_at timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX alerts_trn ON alerts (trn);

                CREATE TABLE previous_names (
                    id bigserial PRIMARY KEY,
                    trn text NOT NULL REFERENCES persons (trn),
                    first_name text NOT NULL DEFAULT '',
                    middle_name text,
                    last_name text NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX previous_names_trn ON previous_names (trn);

                CREATE TABLE employments (
                    employment_key text PRIMARY KEY,
                    trn text NOT NULL REFERENCES persons (trn),
                    local_authority_code text NOT NULL,
                    establishment_code text,
                    establishment_postcode text,
                    establishment_email text,
                    member_postcode text,
                    member_email text,
                    start_date date NOT NULL,
                    end_date date,
                    employment_type text NOT NULL,
                    withdrawn boolean NOT NULL,
                    extract_date date NOT NULL,
                    nino text NOT NULL,
                    date_of_birth date NOT NULL,
                    date_of_death date,
                    gender text NOT NULL,
                    updated_at timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX employments_trn ON employments (trn);

                CREATE SEQUENCE trn_seq START 3000001;
                CREATE TABLE trn_requests (
                    request_id text NOT NULL,
                    key_name text NOT NULL,
                    trn text,
                    status text NOT NULL,
                    potential_duplicate boolean NOT NULL,
                    person jsonb NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (key_name, request_id)
                );
                """),
        Migration(
            version: 2, name: "api keys, idempotency, audit",
            sql: """
                CREATE TABLE api_keys (
                    id bigserial PRIMARY KEY,
                    name text NOT NULL UNIQUE,
                    key_hash text NOT NULL UNIQUE,
                    roles text[] NOT NULL,
                    rate_limit integer NOT NULL DEFAULT 1000,
                    expires_at timestamptz,
                    revoked_at timestamptz,
                    created_at timestamptz NOT NULL DEFAULT now()
                );
                CREATE TABLE idempotency_keys (
                    idempotency_key text PRIMARY KEY,
                    request_hash text NOT NULL,
                    method text NOT NULL,
                    path text NOT NULL,
                    status integer NOT NULL,
                    response text,
                    key_name text NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
                CREATE TABLE audit (
                    id bigserial PRIMARY KEY,
                    at timestamptz NOT NULL DEFAULT now(),
                    key_name text NOT NULL,
                    correlation_id text,
                    operation text NOT NULL,
                    method text NOT NULL,
                    path text NOT NULL,
                    trn text,
                    idempotency_key text,
                    source_feed text,
                    source_sha256 text,
                    source_line integer,
                    before jsonb,
                    after jsonb
                );
                CREATE INDEX audit_trn ON audit (trn, at);
                """),
        // Each monthly workforce extract rewrites rows it sent before: room on the page lets PostgreSQL update them
        // in place (HOT, no new index entries). idempotency_keys grows in created_at order, which a BRIN index
        // covers (for purging by age) at a fraction of a B-tree's cost per insert.
        Migration(
            version: 3, name: "workforce upserts in place, cheaper idempotency index",
            sql: """
                ALTER TABLE employments SET (fillfactor = 70);
                DROP INDEX idempotency_keys_created;
                CREATE INDEX idempotency_keys_created ON idempotency_keys USING brin (created_at);
                """),
        // The employments -> persons foreign key checked (and row-locked) the person once per workforce row: about a
        // third of a 1000-row upsert's time. The same rule holds with one set-based check per statement, and persons
        // are never deleted and never change TRN (merges and deactivations are statuses), so no row lock is needed
        // to keep a checked person from disappearing before commit.
        Migration(
            version: 4, name: "employments' person checked once per statement",
            sql: """
                ALTER TABLE employments DROP CONSTRAINT employments_trn_fkey;
                CREATE FUNCTION employments_person_exists() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF EXISTS (SELECT 1 FROM changed c WHERE NOT EXISTS (SELECT 1 FROM persons p WHERE p.trn = c.trn)) THEN
                        RAISE EXCEPTION 'employments.trn must name a person' USING ERRCODE = 'foreign_key_violation';
                    END IF;
                    RETURN NULL;
                END $$;
                CREATE TRIGGER employments_person_exists_on_insert AFTER INSERT ON employments
                    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION employments_person_exists();
                CREATE TRIGGER employments_person_exists_on_update AFTER UPDATE ON employments
                    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION employments_person_exists();
                CREATE FUNCTION persons_keep_trn() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION 'persons are never deleted and their trn never changes' USING ERRCODE = 'restrict_violation';
                END $$;
                CREATE TRIGGER persons_keep_trn_on_update BEFORE UPDATE ON persons
                    FOR EACH ROW WHEN (OLD.trn IS DISTINCT FROM NEW.trn) EXECUTE FUNCTION persons_keep_trn();
                CREATE TRIGGER persons_keep_trn_on_delete BEFORE DELETE ON persons
                    FOR EACH ROW EXECUTE FUNCTION persons_keep_trn();
                CREATE TRIGGER persons_keep_trn_on_truncate BEFORE TRUNCATE ON persons
                    FOR EACH STATEMENT EXECUTE FUNCTION persons_keep_trn();
                """),
        // The audit's documents are evidence, written with every change and read rarely: kept as the JSON text they
        // were made as (json) instead of being converted to jsonb's binary form on every write, a tenth of a
        // 1,000-row workforce upsert's time. Operators like ->> work on both. Rewrites the audit table once.
        Migration(
            version: 5, name: "audit documents as json",
            sql: """
                ALTER TABLE audit ALTER COLUMN before TYPE json USING before::json, ALTER COLUMN after TYPE json USING after::json;
                """),
        // Keys are opaque ASCII identifiers: ordered byte by byte ("C"), every index comparison is a memcmp instead
        // of a call into the database's locale (strcoll), which took about a sixth of PostgreSQL's CPU in bulk upserts.
        Migration(
            version: 6, name: "keys compared byte by byte",
            sql: """
                ALTER TABLE employments ALTER COLUMN employment_key TYPE text COLLATE "C";
                ALTER TABLE idempotency_keys ALTER COLUMN idempotency_key TYPE text COLLATE "C";
                """),
        // The change feed (`GET /v3/changes`) reads the audit in the order of the writing transactions' ids, and only
        // below the oldest transaction still running (see ``ChangeFeedQuery``). pg_current_xact_id() is stable, so
        // the rows already there take the default once, from the catalog, without rewriting the table: they all get
        // this migration's transaction id, which is above every transaction that committed before it and below every
        // one that starts after it, so they sort before all new rows and keep their id order among themselves.
        Migration(
            version: 7, name: "audit rows carry their transaction id, for the change feed",
            sql: """
                ALTER TABLE audit ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
                CREATE INDEX audit_xid_id ON audit (xid, id);
                """),
        // Establishments, two sources in one store: GIAS (every establishment in England, by URN) and the TPS
        // establishments file (by LA code and establishment code, no URN). The workforce upsert looks both up by
        // (LA code, establishment number), once per batch: hence the index on that pair.
        Migration(
            version: 8, name: "establishments from GIAS and TPS",
            sql: """
                CREATE TABLE establishments (
                    urn integer PRIMARY KEY CHECK (urn > 0),
                    la_code text NOT NULL COLLATE "C" CHECK (la_code ~ '^[0-9]{3}$'),
                    la_name text,
                    establishment_number text COLLATE "C" CHECK (establishment_number ~ '^[0-9]{4}$'),
                    name text NOT NULL,
                    type_code text,
                    type_name text,
                    type_group_code text,
                    type_group_name text,
                    status_code text,
                    status_name text,
                    phase_code text,
                    phase_name text,
                    number_of_pupils integer,
                    percentage_fsm numeric,
                    street text,
                    locality text,
                    address3 text,
                    town text,
                    county text,
                    postcode text,
                    close_date date,
                    updated_at timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX establishments_la_number ON establishments (la_code, establishment_number);
                CREATE TABLE tps_establishments (
                    la_code text NOT NULL COLLATE "C" CHECK (la_code ~ '^[0-9]{3}$'),
                    establishment_code text NOT NULL COLLATE "C" CHECK (establishment_code ~ '^[0-9]{4}$'),
                    emps_name text,
                    gias_name text,
                    closed_date date,
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (la_code, establishment_code)
                );
                """),
        // An alert's natural key is its source (the partner, or the API key that sent it) and the partner's own
        // reference, so a resent or corrected notice finds the alert it made. Unique only where a reference is given:
        // alerts made before, or without one, stay valid. An alert ended through the API keeps why and when.
        Migration(
            version: 9, name: "alerts' natural key and end",
            sql: """
                ALTER TABLE alerts ADD COLUMN source text COLLATE "C", ADD COLUMN reference text COLLATE "C",
                    ADD COLUMN end_reason text, ADD COLUMN ended_at timestamptz, ADD COLUMN updated_at timestamptz,
                    ADD CONSTRAINT alerts_reference_has_source CHECK (reference IS NULL OR source IS NOT NULL);
                CREATE UNIQUE INDEX alerts_natural_key ON alerts (source, reference) WHERE reference IS NOT NULL;
                """),
    ]

    /// Recorded in `schema_migrations`, under an advisory lock of the API's own.
    static let runner = MigrationRunner(migrations: all, lockKey: 0x4451_5441_5049_4D47)  // "DQTAPIMG"

    /// Applies the migrations not yet recorded, in order, each in its own transaction. Returns the versions applied.
    @discardableResult
    public static func migrate(_ connection: PGConnection) throws -> [Int] { try runner.migrate(connection) }
}
