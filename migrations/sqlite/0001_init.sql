-- 0001: the first schema: datasets, jobs, per-iteration rows, models, checkpoints.
-- Ids are text ("ds_...", "job_...", "mdl_..."), times are UTC ISO-8601 text with
-- milliseconds, JSON documents are stored as text. Never edit this file once shipped:
-- change the schema with the next numbered file (0002_...).

CREATE TABLE datasets (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    format      TEXT NOT NULL,                   -- as uploaded: idx, idx.gz, npy, csv, f32
    n           INTEGER NOT NULL CHECK (n >= 0),  -- samples
    d           INTEGER NOT NULL CHECK (d > 0),   -- features per sample (product of shape)
    shape       TEXT NOT NULL,                   -- JSON array of one sample's shape, e.g. [28,28]
    has_labels  INTEGER NOT NULL DEFAULT 0 CHECK (has_labels IN (0, 1)),
    n_classes   INTEGER,                         -- distinct labels when has_labels
    size_bytes  INTEGER NOT NULL DEFAULT 0,       -- stored bytes (x and y)
    sha256      TEXT,                            -- of the uploaded body
    dtype       TEXT,                            -- element type of the upload (uint8, float32, ...)
    status      TEXT NOT NULL DEFAULT 'ready'    -- 'uploading' while its data is written
                CHECK (status IN ('uploading', 'ready')),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- The samples themselves, apart from the metadata so that listing never reads them.
-- part 'x': n*d float32, row-major, native byte order; part 'y': n int32 labels.
-- A rowid table (not WITHOUT ROWID) so that the BLOBs can be written and read
-- incrementally (sqlite3_blob_open needs a rowid): uploads stream into a zeroblob.
CREATE TABLE dataset_data (
    dataset_id  TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    part        TEXT NOT NULL CHECK (part IN ('x', 'y')),
    data        BLOB NOT NULL,
    UNIQUE (dataset_id, part)
);

CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    dataset_id       TEXT REFERENCES datasets(id) ON DELETE SET NULL, -- NULL once deleted
                                                 -- (the API refuses while queued/running)
    method           TEXT NOT NULL,              -- kmeans, ae_kmeans, dec, idec, vae, ...
    n_clusters       INTEGER NOT NULL CHECK (n_clusters > 0),
    seed             INTEGER NOT NULL DEFAULT 0,
    spec             TEXT NOT NULL,              -- the full job spec as JSON, defaults filled in
    status           TEXT NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    phase            TEXT,                       -- pretrain, init, cluster, ...
    progress         REAL NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
    cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
    error            TEXT,                       -- why it failed, for a person
    metrics          TEXT,                       -- final metrics as JSON
    attempts         INTEGER NOT NULL DEFAULT 0, -- times a worker started it (crash recovery)
    resume           INTEGER NOT NULL DEFAULT 0 CHECK (resume IN (0, 1)), -- next start
                                                 -- continues from its checkpoint
    eta_s            REAL,                       -- estimated seconds left while running
    samples_per_s    REAL,                       -- training throughput, last measured
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    started_at       TEXT,
    finished_at      TEXT,
    updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX jobs_by_status ON jobs (status, created_at);
CREATE INDEX jobs_by_dataset ON jobs (dataset_id);

-- One row per epoch (pretraining) or per target update (clustering). Metrics that need
-- labels are NULL when the dataset has none.
CREATE TABLE iterations (
    job_id        TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,             -- 0, 1, 2, ... within the job
    phase         TEXT NOT NULL,
    epoch         INTEGER,
    step          INTEGER,
    loss          REAL,
    acc           REAL,
    nmi           REAL,
    ari           REAL,
    label_change  REAL,                         -- fraction of labels changed since last update
    elapsed_s     REAL,                         -- seconds since the job started
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;

-- A trained model: one BLOB (core/cluster.h's serialised form) plus a JSON summary of
-- its architecture.
CREATE TABLE models (
    id          TEXT PRIMARY KEY,
    job_id      TEXT UNIQUE REFERENCES jobs(id) ON DELETE SET NULL,
    method      TEXT NOT NULL,
    n_clusters  INTEGER NOT NULL CHECK (n_clusters > 0),
    d           INTEGER NOT NULL CHECK (d > 0),   -- input features
    arch        TEXT NOT NULL,                   -- JSON: layer sizes, activations, ...
    size_bytes  INTEGER NOT NULL CHECK (size_bytes >= 0),
    weights     BLOB NOT NULL,                   -- cluster_model_save(): versioned header,
                                                 -- float32 weights, checksum
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- The latest training checkpoint of a running job (replaced in place), so that a job
-- interrupted by a crash resumes from here.
CREATE TABLE checkpoints (
    job_id      TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    phase       TEXT NOT NULL,
    step        INTEGER NOT NULL,
    state       BLOB NOT NULL,                   -- parameters + optimizer state, float32
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
