-- 0004_noop_kind.sql - the noop task kind.
--
-- A noop run does nothing and succeeds at once: it tests a deployment end
-- to end (claim, lease, release, history) without touching anything, and
-- measures the scheduler alone (bench/run).  Its config is the empty
-- object.  Widening the check cannot fail on existing rows; the constraint
-- keeps its name, which operators and tests may refer to.

ALTER TABLE jobs
    DROP CONSTRAINT jobs_kind_check,
    ADD CONSTRAINT jobs_kind_check CHECK (kind IN ('shell', 'http', 'grpc', 'noop'));
COMMENT ON COLUMN jobs.kind IS
    'Task type: shell, http, grpc or noop (does nothing, succeeds); config holds its parameters';
COMMENT ON COLUMN jobs.config IS
    'Task parameters as a JSON object, e.g. {"command": "..."} for shell, {"url": "..."} for http, '
    '{} for noop';
COMMENT ON COLUMN job_overview.kind IS 'Task type: shell, http, grpc or noop';
