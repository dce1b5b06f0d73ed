-- 0003 (PostgreSQL): preprocessing columns, as migrations/sqlite/0003_preprocess.sql
-- (meanings there).
ALTER TABLE datasets ADD COLUMN scale_mode TEXT COLLATE "C";
ALTER TABLE datasets ADD COLUMN scale TEXT COLLATE "C";
ALTER TABLE datasets ADD COLUMN scale_shift DOUBLE PRECISION;
ALTER TABLE datasets ADD COLUMN scale_mult DOUBLE PRECISION;
ALTER TABLE datasets ADD COLUMN range_min DOUBLE PRECISION;
ALTER TABLE datasets ADD COLUMN range_max DOUBLE PRECISION;

ALTER TABLE models ADD COLUMN scale_mode TEXT COLLATE "C";
ALTER TABLE models ADD COLUMN scale TEXT COLLATE "C";
ALTER TABLE models ADD COLUMN scale_shift DOUBLE PRECISION;
ALTER TABLE models ADD COLUMN scale_mult DOUBLE PRECISION;
ALTER TABLE models ADD COLUMN range_min DOUBLE PRECISION;
ALTER TABLE models ADD COLUMN range_max DOUBLE PRECISION;
