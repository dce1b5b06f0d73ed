-- 0005: what several processes sharing one store need (issue 15).
--
-- Datasets are stored as chunks keyed by byte offset instead of one BLOB per part, so
-- that an upload is written and a range is read piece by piece on every backend
-- (PostgreSQL cannot write into the middle of a value). A chunk holds bytes
-- [off, off + length(data)) of part x (float32 samples) or y (int32 labels); chunks of
-- one part do not overlap and cover it exactly once the dataset is 'ready'.
CREATE TABLE dataset_chunks (
    dataset_id  TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    part        TEXT NOT NULL CHECK (part IN ('x', 'y')),
    off         INTEGER NOT NULL CHECK (off >= 0),
    data        BLOB NOT NULL,
    PRIMARY KEY (dataset_id, part, off)
);

-- Existing datasets, cut into 1 MiB chunks.
WITH RECURSIVE cut(dataset_id, part, off, len) AS (
    SELECT dataset_id, part, 0, length(data) FROM dataset_data
    UNION ALL
    SELECT dataset_id, part, off + 1048576, len FROM cut WHERE off + 1048576 < len
)
INSERT INTO dataset_chunks (dataset_id, part, off, data)
SELECT c.dataset_id, c.part, c.off, substr(d.data, c.off + 1, 1048576)
FROM cut c JOIN dataset_data d ON d.dataset_id = c.dataset_id AND d.part = c.part
WHERE c.len > 0;
DROP TABLE dataset_data;

-- Leases: the worker running a job names itself in lease_owner and keeps lease_until
-- (same text format as the *_at columns, so they compare as text) in the future while
-- it lives. jobs.attempts, already counting starts, is the fencing token: every write
-- of a running job names the attempt it belongs to, and a write of an older attempt
-- changes nothing.
ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_until TEXT;
CREATE INDEX jobs_by_lease ON jobs (status, lease_until);

-- One row per claim of a job (lease: the claim's token, lease_owner while it held it):
-- who ran it, from when to when, how it ended (succeeded, failed, cancelled, requeued,
-- lost). How the tests prove that no job ever ran on two workers at once.
CREATE TABLE job_attempts (
    job_id      TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,                -- jobs.attempts after the claim
    lease       TEXT NOT NULL,
    worker      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    ended_at    TEXT,
    outcome     TEXT,
    PRIMARY KEY (job_id, lease)
);
