-- 0002: PLACEHOLDER on branch `scale` only, so that 0003 runs without a gap. Helper A's
-- branch `pics` has the real migrations/0002_job_results.sql (the job_results table); at
-- merge, take theirs for this file.
SELECT 1;
