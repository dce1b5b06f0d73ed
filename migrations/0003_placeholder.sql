-- 0003: PLACEHOLDER on branch `study` only, so that 0004 runs without a gap. The scale
-- branch adds the real 0003 (preprocessing); at merge, delete this file and keep theirs.
SELECT 1;
