-- 0001 (PostgreSQL): the first schema, as migrations/sqlite/0001_init.sql (the column
-- meanings are there). Translated: INTEGER -> BIGINT, REAL -> DOUBLE PRECISION,
-- BLOB -> BYTEA, TEXT -> TEXT COLLATE "C" (ids and times sort bytewise, as in SQLite),
-- strftime(...) -> dc_now(). Tables the service orders by rowid have a rowid identity.
-- Never edit this file once shipped.

-- The two functions of the shared dialect (db.h); SQLite has them in C (db_sqlite.c).
-- dc_now(): UTC now as 'YYYY-MM-DDTHH:MM:SS.mmmZ'.
CREATE FUNCTION dc_now() RETURNS text LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;
-- dc_epoch(t): seconds since 1970 of such a text (read as UTC); NULL for NULL or for a
-- text that does not start like one.
CREATE FUNCTION dc_epoch(t text) RETURNS double precision LANGUAGE sql IMMUTABLE STRICT
PARALLEL SAFE AS $$
    SELECT CASE WHEN t ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d'
           THEN extract(epoch FROM (t::timestamp AT TIME ZONE 'UTC'))::double precision END
$$;

CREATE TABLE datasets (
    rowid       BIGINT GENERATED ALWAYS AS IDENTITY,
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL,
    format      TEXT COLLATE "C" NOT NULL,
    n           BIGINT NOT NULL CHECK (n >= 0),
    d           BIGINT NOT NULL CHECK (d > 0),
    shape       TEXT COLLATE "C" NOT NULL,
    has_labels  BIGINT NOT NULL DEFAULT 0 CHECK (has_labels IN (0, 1)),
    n_classes   BIGINT,
    size_bytes  BIGINT NOT NULL DEFAULT 0,
    sha256      TEXT COLLATE "C",
    dtype       TEXT COLLATE "C",
    status      TEXT COLLATE "C" NOT NULL DEFAULT 'ready'
                CHECK (status IN ('uploading', 'ready')),
    created_at  TEXT COLLATE "C" NOT NULL DEFAULT dc_now()
);

-- Replaced by dataset_chunks in 0005 (kept here so that the versions match SQLite's).
CREATE TABLE dataset_data (
    dataset_id  TEXT COLLATE "C" NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    part        TEXT COLLATE "C" NOT NULL CHECK (part IN ('x', 'y')),
    data        BYTEA NOT NULL,
    UNIQUE (dataset_id, part)
);

CREATE TABLE jobs (
    rowid            BIGINT GENERATED ALWAYS AS IDENTITY,
    id               TEXT COLLATE "C" PRIMARY KEY,
    dataset_id       TEXT COLLATE "C" REFERENCES datasets(id) ON DELETE SET NULL,
    method           TEXT COLLATE "C" NOT NULL,
    n_clusters       BIGINT NOT NULL CHECK (n_clusters > 0),
    seed             BIGINT NOT NULL DEFAULT 0,
    spec             TEXT COLLATE "C" NOT NULL,
    status           TEXT COLLATE "C" NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    phase            TEXT COLLATE "C",
    progress         DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
    cancel_requested BIGINT NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
    error            TEXT COLLATE "C",
    metrics          TEXT COLLATE "C",
    attempts         BIGINT NOT NULL DEFAULT 0,
    resume           BIGINT NOT NULL DEFAULT 0 CHECK (resume IN (0, 1)),
    eta_s            DOUBLE PRECISION,
    samples_per_s    DOUBLE PRECISION,
    created_at       TEXT COLLATE "C" NOT NULL DEFAULT dc_now(),
    started_at       TEXT COLLATE "C",
    finished_at      TEXT COLLATE "C",
    updated_at       TEXT COLLATE "C" NOT NULL DEFAULT dc_now()
);
CREATE INDEX jobs_by_status ON jobs (status, created_at);
CREATE INDEX jobs_by_dataset ON jobs (dataset_id);

CREATE TABLE iterations (
    job_id        TEXT COLLATE "C" NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    seq           BIGINT NOT NULL,
    phase         TEXT COLLATE "C" NOT NULL,
    epoch         BIGINT,
    step          BIGINT,
    loss          DOUBLE PRECISION,
    acc           DOUBLE PRECISION,
    nmi           DOUBLE PRECISION,
    ari           DOUBLE PRECISION,
    label_change  DOUBLE PRECISION,
    elapsed_s     DOUBLE PRECISION,
    created_at    TEXT COLLATE "C" NOT NULL DEFAULT dc_now(),
    PRIMARY KEY (job_id, seq)
);

CREATE TABLE models (
    id          TEXT COLLATE "C" PRIMARY KEY,
    job_id      TEXT COLLATE "C" UNIQUE REFERENCES jobs(id) ON DELETE SET NULL,
    method      TEXT COLLATE "C" NOT NULL,
    n_clusters  BIGINT NOT NULL CHECK (n_clusters > 0),
    d           BIGINT NOT NULL CHECK (d > 0),
    arch        TEXT COLLATE "C" NOT NULL,
    size_bytes  BIGINT NOT NULL CHECK (size_bytes >= 0),
    weights     BYTEA NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL DEFAULT dc_now()
);

CREATE TABLE checkpoints (
    job_id      TEXT COLLATE "C" PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    phase       TEXT COLLATE "C" NOT NULL,
    step        BIGINT NOT NULL,
    state       BYTEA NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL DEFAULT dc_now()
);
