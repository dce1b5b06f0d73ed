-- 0005 (PostgreSQL): dataset chunks, leases, job attempts, as
-- migrations/sqlite/0005_scale_out.sql (meanings there). No dataset was ever stored in
-- dataset_data on PostgreSQL: the table is dropped, nothing is converted.
CREATE TABLE dataset_chunks (
    dataset_id  TEXT COLLATE "C" NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    part        TEXT COLLATE "C" NOT NULL CHECK (part IN ('x', 'y')),
    off         BIGINT NOT NULL CHECK (off >= 0),
    data        BYTEA NOT NULL,
    PRIMARY KEY (dataset_id, part, off)
);
-- Float samples hardly compress: store chunks out of line uncompressed (no pglz pass).
ALTER TABLE dataset_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
DROP TABLE dataset_data;

ALTER TABLE jobs ADD COLUMN lease_owner TEXT COLLATE "C";
ALTER TABLE jobs ADD COLUMN lease_until TEXT COLLATE "C";
CREATE INDEX jobs_by_lease ON jobs (status, lease_until);

CREATE TABLE job_attempts (
    job_id      TEXT COLLATE "C" NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    attempt     BIGINT NOT NULL,
    lease       TEXT COLLATE "C" NOT NULL,
    worker      TEXT COLLATE "C" NOT NULL,
    started_at  TEXT COLLATE "C" NOT NULL,
    ended_at    TEXT COLLATE "C",
    outcome     TEXT COLLATE "C",
    PRIMARY KEY (job_id, lease)
);

-- dc_later(s): dc_now() plus s seconds, in the same format (lease deadlines, taken from
-- the database server's clock so that the hosts' clocks do not matter).
CREATE FUNCTION dc_later(s double precision) RETURNS text LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT to_char((clock_timestamp() + make_interval(secs => s)) AT TIME ZONE 'UTC',
                   'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- Large values that do not compress (float32 weights, optimizer state, scores) are
-- stored uncompressed: pglz would spend seconds of server CPU per checkpoint for nothing.
ALTER TABLE checkpoints ALTER COLUMN state SET STORAGE EXTERNAL;
ALTER TABLE models ALTER COLUMN weights SET STORAGE EXTERNAL;
ALTER TABLE study_ae ALTER COLUMN ae SET STORAGE EXTERNAL;
ALTER TABLE job_results ALTER COLUMN labels SET STORAGE EXTERNAL,
    ALTER COLUMN qmax SET STORAGE EXTERNAL, ALTER COLUMN iforest SET STORAGE EXTERNAL,
    ALTER COLUMN recon SET STORAGE EXTERNAL, ALTER COLUMN forest SET STORAGE EXTERNAL,
    ALTER COLUMN map_xy SET STORAGE EXTERNAL;
