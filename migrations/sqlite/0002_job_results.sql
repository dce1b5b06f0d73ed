-- 0002: what a succeeded job's pictures and outlier scores are drawn from, computed once
-- when it ends (server/svc/svc_results.c) and written in the transaction that stores its
-- model. A job that succeeded before this migration has no row: the first request that
-- needs one computes and stores it (from its model and dataset). Arrays are BLOBs of
-- native-byte-order values, one per training sample unless said otherwise; n and k as
-- when the job ended (a later PUT of the dataset's labels does not change them).
CREATE TABLE job_results (
    job_id       TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    n            INTEGER NOT NULL CHECK (n > 0),  -- samples
    k            INTEGER NOT NULL CHECK (k > 0),  -- clusters
    embed        INTEGER NOT NULL CHECK (embed > 0), -- width of the embedding (forest, map)
    x_min        REAL NOT NULL,                   -- the dataset's value range, for pixels
    x_max        REAL NOT NULL,
    labels       BLOB NOT NULL,                   -- int32: cluster of each sample
    qmax         BLOB NOT NULL,                   -- float32: max_j q_ij (confidence = 1 - it)
    iforest      BLOB NOT NULL,                   -- float32: isolation-forest score in (0, 1]
    recon        BLOB,                            -- float32: reconstruction MSE; NULL: kmeans
    forest       BLOB NOT NULL,                   -- iforest_save() doubles, to score new samples
    truth        BLOB,                            -- int32: the dataset's labels; NULL: none
    map_source   TEXT NOT NULL CHECK (map_source IN ('pca', 'manifold')),
    map_index    BLOB NOT NULL,                   -- int32 (m): samples of the 2-D map, taken in
                                                  -- turn from each cluster (any prefix is even)
    map_xy       BLOB NOT NULL,                   -- float32 (m, 2)
    centroid_xy  BLOB NOT NULL,                   -- float32 (k, 2), projected the same way
    classes      BLOB,                            -- int32 (c): label values, increasing; NULL: no labels
    confusion    BLOB,                            -- int64 (k, c): counts of cluster i, class j
    mapping      BLOB,                            -- int32 (k): class index matched to each cluster
                                                  -- by the Hungarian method (-1 none)
    acc          REAL,                            -- accuracy of that matching
    seconds      REAL NOT NULL,                   -- time the computation took
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
