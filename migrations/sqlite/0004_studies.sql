-- 0004: studies (issue 14): one method on one dataset over several seeds and several k.
-- A study queues one job per (seed, k). For a method whose autoencoder does not depend
-- on k, the first k's job of each seed pretrains it (ae_job NULL) and keeps it in
-- study_ae as soon as pretraining ends; that seed's other jobs (ae_job = that job) are
-- not claimed before it is there and run only their clustering stage from it.
CREATE TABLE studies (
    id          TEXT PRIMARY KEY,                -- "std_..."
    dataset_id  TEXT REFERENCES datasets(id) ON DELETE SET NULL,
    method      TEXT NOT NULL,
    spec        TEXT NOT NULL,                   -- the job template as JSON (defaults filled,
                                                 -- without dataset, n_clusters and seed)
    seeds       TEXT NOT NULL,                   -- JSON array of integers
    ks          TEXT NOT NULL,                   -- JSON array of n_clusters, increasing
    shares_ae   INTEGER NOT NULL DEFAULT 0       -- 1: one autoencoder pretraining per seed,
                CHECK (shares_ae IN (0, 1)),     -- shared by its k (0: none to share)
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX studies_by_time ON studies (created_at);

-- NULL for plain jobs. A study's status is derived from its jobs.
ALTER TABLE jobs ADD COLUMN study_id TEXT REFERENCES studies(id) ON DELETE SET NULL;
-- The job whose pretrained autoencoder this job starts from; NULL: it pretrains itself.
ALTER TABLE jobs ADD COLUMN ae_job TEXT;
CREATE INDEX jobs_by_study ON jobs (study_id);
CREATE INDEX jobs_by_ae_job ON jobs (ae_job);

-- Autoencoders that a study's jobs share (cluster_model_save_ae's bytes), written when
-- the pretraining job's pretraining ends; removed once no job waits for them.
CREATE TABLE study_ae (
    job_id      TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    ae          BLOB NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
