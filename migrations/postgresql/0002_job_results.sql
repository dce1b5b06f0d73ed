-- 0002 (PostgreSQL): job_results, as migrations/sqlite/0002_job_results.sql (column
-- meanings there; types translated as in 0001).
CREATE TABLE job_results (
    rowid        BIGINT GENERATED ALWAYS AS IDENTITY,
    job_id       TEXT COLLATE "C" PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    n            BIGINT NOT NULL CHECK (n > 0),
    k            BIGINT NOT NULL CHECK (k > 0),
    embed        BIGINT NOT NULL CHECK (embed > 0),
    x_min        DOUBLE PRECISION NOT NULL,
    x_max        DOUBLE PRECISION NOT NULL,
    labels       BYTEA NOT NULL,
    qmax         BYTEA NOT NULL,
    iforest      BYTEA NOT NULL,
    recon        BYTEA,
    forest       BYTEA NOT NULL,
    truth        BYTEA,
    map_source   TEXT COLLATE "C" NOT NULL CHECK (map_source IN ('pca', 'manifold')),
    map_index    BYTEA NOT NULL,
    map_xy       BYTEA NOT NULL,
    centroid_xy  BYTEA NOT NULL,
    classes      BYTEA,
    confusion    BYTEA,
    mapping      BYTEA,
    acc          DOUBLE PRECISION,
    seconds      DOUBLE PRECISION NOT NULL,
    created_at   TEXT COLLATE "C" NOT NULL DEFAULT dc_now()
);
