-- 0004 (PostgreSQL): studies, as migrations/sqlite/0004_studies.sql (meanings there).
CREATE TABLE studies (
    rowid       BIGINT GENERATED ALWAYS AS IDENTITY,
    id          TEXT COLLATE "C" PRIMARY KEY,
    dataset_id  TEXT COLLATE "C" REFERENCES datasets(id) ON DELETE SET NULL,
    method      TEXT COLLATE "C" NOT NULL,
    spec        TEXT COLLATE "C" NOT NULL,
    seeds       TEXT COLLATE "C" NOT NULL,
    ks          TEXT COLLATE "C" NOT NULL,
    shares_ae   BIGINT NOT NULL DEFAULT 0 CHECK (shares_ae IN (0, 1)),
    created_at  TEXT COLLATE "C" NOT NULL DEFAULT dc_now()
);
CREATE INDEX studies_by_time ON studies (created_at);

ALTER TABLE jobs ADD COLUMN study_id TEXT COLLATE "C" REFERENCES studies(id) ON DELETE SET NULL;
ALTER TABLE jobs ADD COLUMN ae_job TEXT COLLATE "C";
CREATE INDEX jobs_by_study ON jobs (study_id);
CREATE INDEX jobs_by_ae_job ON jobs (ae_job);

CREATE TABLE study_ae (
    job_id      TEXT COLLATE "C" PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    ae          BYTEA NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL DEFAULT dc_now()
);
