-- 0002: PLACEHOLDER on branch `scale` only, so that 0003 runs without a gap. Helper A's
-- branch adds the real 0002 (per-job results); at merge, delete this file and keep theirs.
SELECT 1;
