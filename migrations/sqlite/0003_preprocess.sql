-- 0003: the preprocessing of a dataset's samples, and the copy a model keeps of it, so
-- that predict can scale its input the same way and tell input far outside the range
-- the model was trained on (issue 13). Stored value = (uploaded value - scale_shift) *
-- scale_mult. NULL on rows made before this migration (nothing is checked for them).

-- scale_mode: as asked at upload (auto, none, div255, unit); scale: what was applied
-- (none, div255, unit: auto on uint8 data is div255, on anything else none).
-- range_min, range_max: of the stored values (after scaling).
ALTER TABLE datasets ADD COLUMN scale_mode TEXT;
ALTER TABLE datasets ADD COLUMN scale TEXT;
ALTER TABLE datasets ADD COLUMN scale_shift REAL;
ALTER TABLE datasets ADD COLUMN scale_mult REAL;
ALTER TABLE datasets ADD COLUMN range_min REAL;
ALTER TABLE datasets ADD COLUMN range_max REAL;

-- The dataset's columns above as they were when the model was trained (copied at the
-- job's end: the dataset may be deleted later).
ALTER TABLE models ADD COLUMN scale_mode TEXT;
ALTER TABLE models ADD COLUMN scale TEXT;
ALTER TABLE models ADD COLUMN scale_shift REAL;
ALTER TABLE models ADD COLUMN scale_mult REAL;
ALTER TABLE models ADD COLUMN range_min REAL;
ALTER TABLE models ADD COLUMN range_max REAL;
