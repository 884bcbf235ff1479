-- 0007: sharded jobs.
--
-- A job with shards = N > 1 starts N executions per fire time.  The job's
-- own row runs shard 0; shard rows (shard_of = the job, shard_index 1..N-1)
-- run the others, each claimed by the ordinary protocol, so shards spread
-- over whichever instances have room and are retried one by one.  All
-- executions are recorded under the job itself, with their shard_index.
--
-- The triggers below keep the shard rows in step with their job, so that
-- operators (SQL, the command line, the API) only ever touch the job:
--
--   jobs_shards_follow   a job inserted with shards > 1, or whose shards or
--                        definition changes: shard rows are added, removed
--                        (refused while one to remove is running) and given
--                        the job's definition and name (name#index).
--   jobs_shards_act      an operator's pause, resume, run now or kill of the
--                        job is applied to every shard row, each by the rules
--                        of job_store.c for its own state; a run now gives
--                        every shard the same fire time (a shard that is
--                        running is left alone, with a warning: job_store
--                        refuses such a run).  Schedulers' claims and releases
--                        are not carried over: each row runs on its own.
--   jobs_shards_pin_run  that fire time is pinned in scheduled_for, so a shard
--                        that waits for a free slot still runs it, however late.
--   jobs_shards_schedule a job row that gets its first next_time (created,
--   jobs_shard_align     resumed, schedule edited) hands it to its unscheduled
--                        shard rows, and a shard row being scheduled takes its
--                        job's, so that an @every grid is the same for all.
--   jobs_shard_check     a shard row inserted or edited by hand must match its
--   jobs_shard_delete    job (index, count, name, definition) and is deleted
--                        only with its job or by lowering the job's shards.
--
-- The view shard_fire_times has each fire time of a sharded job with its
-- shards counted: it succeeded only when every shard's latest attempt did.
-- job_overview and recent_failures are redefined to leave shard rows out
-- and to show the shards.
--
-- A trigger tells an operator's change from a scheduler's by the
-- tablecron.instance setting that schedulers set on their sessions (see
-- jobs_notify in 0001_init.sql).
ALTER TABLE jobs
    ADD COLUMN shards integer NOT NULL DEFAULT 1 CHECK (shards BETWEEN 1 AND 1000),
    ADD COLUMN shard_of bigint REFERENCES jobs (id) ON DELETE CASCADE,
    ADD COLUMN shard_index integer NOT NULL DEFAULT 0 CHECK (shard_index >= 0);
COMMENT ON COLUMN jobs.shards IS
    'How many executions each fire time starts (TABLECRON_SHARD_COUNT); 1: not sharded';
COMMENT ON COLUMN jobs.shard_of IS
    'For a shard row: the sharded job it runs a shard of; NULL for a job';
COMMENT ON COLUMN jobs.shard_index IS
    'Which shard this row runs (TABLECRON_SHARD_INDEX): 0 for the job itself';
ALTER TABLE executions ADD COLUMN shard_index integer NOT NULL DEFAULT 0 CHECK (shard_index >= 0);
COMMENT ON COLUMN executions.shard_index IS
    'Which shard of the job''s fire time this run is (0 when the job is not sharded)';
ALTER TABLE executions
    DROP CONSTRAINT executions_once,
    ADD CONSTRAINT executions_once UNIQUE (job_id, scheduled_for, shard_index, attempt);
ALTER TABLE executions
    ADD COLUMN shard_count integer NOT NULL DEFAULT 1 CHECK (shard_count BETWEEN 1 AND 1000);
COMMENT ON COLUMN executions.shard_count IS
    'How many shards the fire time had when this run was claimed (1 when the job is not sharded)';

-- A shard row is named after its job: name#index.  '#' is not allowed in a
-- job's own name, so a shard row's name never takes a job's.
ALTER TABLE jobs
    DROP CONSTRAINT jobs_name_check,
    ADD CONSTRAINT jobs_name_check CHECK (
        CASE WHEN shard_of IS NULL
             THEN name ~ '^[[:alnum:]_][[:alnum:]._:-]{0,127}$'
             ELSE name ~ '^[[:alnum:]_][[:alnum:]._:-]{0,127}#[1-9][0-9]{0,2}$'
                  AND substring(name FROM '#([0-9]+)$') = shard_index::text
        END),
    ADD CONSTRAINT jobs_shard_in_range CHECK (shard_index < shards),
    ADD CONSTRAINT jobs_shard_row_index CHECK ((shard_of IS NULL) = (shard_index = 0)),
    ADD CONSTRAINT jobs_shard_of_other CHECK (shard_of <> id),
    ADD CONSTRAINT jobs_shard_once UNIQUE (shard_of, shard_index);
COMMENT ON COLUMN jobs.name IS
    'Unique name: letters, digits and ._:- (not leading), at most 128 characters; '
    'a shard row is named <job>#<shard_index>';
COMMENT ON CONSTRAINT jobs_name_check ON jobs IS
    'A job''s name uses letters, digits and ._:- (not leading), at most 128 characters; '
    'a shard row''s is its job''s name, # and its index';
COMMENT ON CONSTRAINT jobs_shards_check ON jobs IS 'A job has 1 to 1000 shards';
COMMENT ON CONSTRAINT jobs_shard_index_check ON jobs IS 'Shards are numbered from 0';
COMMENT ON CONSTRAINT jobs_shard_of_fkey ON jobs IS
    'A shard row belongs to its job and goes with it';
COMMENT ON CONSTRAINT jobs_shard_in_range ON jobs IS 'A shard row''s index is below the job''s shards';
COMMENT ON CONSTRAINT jobs_shard_row_index ON jobs IS
    'The job''s own row runs shard 0, its shard rows shards 1 and up';
COMMENT ON CONSTRAINT jobs_shard_of_other ON jobs IS 'A row is not a shard of itself';
COMMENT ON CONSTRAINT jobs_shard_once ON jobs IS
    'One shard row per job and index (and the index that finds a job''s shard rows)';

-- shards is a definition column: changing it moves updated_at (which
-- job_store reads to tell a change from a no-op, and fences edits with).
DROP TRIGGER jobs_definition_changed ON jobs;
CREATE TRIGGER jobs_definition_changed
    BEFORE UPDATE ON jobs FOR EACH ROW
    WHEN ((OLD.department_id, OLD.name, OLD.description, OLD.schedule, OLD.timezone, OLD.kind,
           OLD.config, OLD.timeout_s, OLD.max_retries, OLD.retry_backoff_s, OLD.misfire_policy,
           OLD.shards)
          IS DISTINCT FROM
          (NEW.department_id, NEW.name, NEW.description, NEW.schedule, NEW.timezone, NEW.kind,
           NEW.config, NEW.timeout_s, NEW.max_retries, NEW.retry_backoff_s, NEW.misfire_policy,
           NEW.shards))
    EXECUTE FUNCTION jobs_definition_changed();
COMMENT ON TRIGGER jobs_definition_changed ON jobs IS
    'A change of a definition column (shards included) moves updated_at';

-- The definition columns a shard row copies from its job.
CREATE FUNCTION jobs_shard_definition(j jobs) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('department_id', j.department_id, 'description', j.description,
                              'schedule', j.schedule, 'timezone', j.timezone, 'kind', j.kind,
                              'config', j.config, 'timeout_s', j.timeout_s,
                              'max_retries', j.max_retries, 'retry_backoff_s', j.retry_backoff_s,
                              'misfire_policy', j.misfire_policy, 'shards', j.shards)
$$;
COMMENT ON FUNCTION jobs_shard_definition(jobs) IS
    'The columns of a job that its shard rows copy (definition and shards), as one value';

-- Missing shard rows of job j (indexes 1 .. shards-1), in the state the
-- job's own row is in: paused (or about to pause) -> paused; done -> done;
-- waiting for a first attempt -> waiting for the same fire time; otherwise
-- (running, or waiting to retry an older fire time, which a new shard did
-- not have) waiting, unscheduled, for an instance to schedule.
CREATE FUNCTION jobs_shard_rows_add(j jobs) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    same boolean := j.status = 'waiting' AND j.attempt = 1;
BEGIN
    INSERT INTO jobs (department_id, name, description, schedule, timezone, kind, config,
                      timeout_s, max_retries, retry_backoff_s, misfire_policy, shards, shard_of,
                      shard_index, status, next_time, scheduled_for, pause_requested)
    SELECT j.department_id, j.name || '#' || i, j.description, j.schedule, j.timezone, j.kind,
           j.config, j.timeout_s, j.max_retries, j.retry_backoff_s, j.misfire_policy, j.shards,
           j.id, i,
           CASE WHEN j.status = 'paused' OR (j.status = 'running' AND j.pause_requested)
                THEN 'paused'
                WHEN j.status = 'done' THEN 'done'
                ELSE 'waiting' END,
           CASE WHEN same THEN j.next_time END,
           CASE WHEN same THEN j.scheduled_for END,
           same AND j.pause_requested
      FROM generate_series(1, j.shards - 1) i
     WHERE NOT EXISTS (SELECT 1 FROM jobs s WHERE s.shard_of = j.id AND s.shard_index = i)
     ORDER BY i;
END
$$;
COMMENT ON FUNCTION jobs_shard_rows_add(jobs) IS
    'Adds the shard rows job j lacks, in the state of the job''s own row';

CREATE FUNCTION jobs_shards_follow() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    busy text;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        -- A shard that runs is never taken away from its instance.
        SELECT string_agg(shard_index::text, ', ' ORDER BY shard_index) INTO busy
          FROM jobs WHERE shard_of = NEW.id AND shard_index >= NEW.shards AND status = 'running';
        IF busy IS NOT NULL THEN
            RAISE EXCEPTION 'job %: cannot lower shards to % while they run (shards %)',
                            NEW.name, NEW.shards, busy
                USING ERRCODE = 'object_in_use',
                      HINT = 'Lower shards once those runs have ended (or kill them).';
        END IF;
        DELETE FROM jobs WHERE shard_of = NEW.id AND shard_index >= NEW.shards;
        UPDATE jobs s
           SET department_id = NEW.department_id, name = NEW.name || '#' || s.shard_index,
               description = NEW.description, schedule = NEW.schedule,
               timezone = NEW.timezone, kind = NEW.kind, config = NEW.config,
               timeout_s = NEW.timeout_s, max_retries = NEW.max_retries,
               retry_backoff_s = NEW.retry_backoff_s, misfire_policy = NEW.misfire_policy,
               shards = NEW.shards
         WHERE s.shard_of = NEW.id
           AND (jobs_shard_definition(s), s.name)
               IS DISTINCT FROM (jobs_shard_definition(NEW), NEW.name || '#' || s.shard_index);
    END IF;
    IF NEW.shards > 1 THEN
        PERFORM jobs_shard_rows_add(NEW);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION jobs_shards_follow() IS
    'Keeps a job''s shard rows in step with its shards count, name and definition';
CREATE TRIGGER jobs_shards_follow_insert
    AFTER INSERT ON jobs FOR EACH ROW
    WHEN (NEW.shard_of IS NULL AND NEW.shards > 1)
    EXECUTE FUNCTION jobs_shards_follow();
CREATE TRIGGER jobs_shards_follow
    AFTER UPDATE ON jobs FOR EACH ROW
    WHEN (NEW.shard_of IS NULL AND (OLD.shards > 1 OR NEW.shards > 1)
          AND (OLD.shards, OLD.name, OLD.department_id, OLD.description, OLD.schedule,
               OLD.timezone, OLD.kind, OLD.config, OLD.timeout_s, OLD.max_retries,
               OLD.retry_backoff_s, OLD.misfire_policy)
              IS DISTINCT FROM
              (NEW.shards, NEW.name, NEW.department_id, NEW.description, NEW.schedule,
               NEW.timezone, NEW.kind, NEW.config, NEW.timeout_s, NEW.max_retries,
               NEW.retry_backoff_s, NEW.misfire_policy))
    EXECUTE FUNCTION jobs_shards_follow();
COMMENT ON TRIGGER jobs_shards_follow_insert ON jobs IS
    'A job inserted with shards > 1 gets its shard rows';
COMMENT ON TRIGGER jobs_shards_follow ON jobs IS
    'A change of a sharded job''s shards, name or definition reaches its shard rows';

-- Operators act on the job; its shard rows follow, each by the rules of
-- job_store.c for its own state (a running row is asked, never moved: its
-- version stays, so its instance keeps the lease).
CREATE FUNCTION jobs_shards_act() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
    busy text;
BEGIN
    IF coalesce(current_setting('tablecron.instance', true), '') <> '' THEN
        RETURN NULL; -- a scheduler's claim or release: every row runs on its own
    END IF;
    -- Run now (or any fire time an operator sets): the same for every shard.
    IF NEW.status = 'waiting' AND NEW.next_time IS NOT NULL
       AND (OLD.status <> 'waiting' OR OLD.next_time IS DISTINCT FROM NEW.next_time
            OR OLD.scheduled_for IS DISTINCT FROM NEW.scheduled_for) THEN
        UPDATE jobs
           SET status = 'waiting', next_time = NEW.next_time, attempt = NEW.attempt,
               scheduled_for = NEW.scheduled_for, pause_requested = NEW.pause_requested,
               version = version + 1
         WHERE shard_of = NEW.id AND status <> 'running';
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n < NEW.shards - 1 THEN
            -- Not an error: this may be an instance's statement seen as an
            -- operator's (an HTTP task's report).  job_store refuses a run
            -- while a shard runs, so this is raw SQL, or a race.
            SELECT string_agg(shard_index::text, ', ' ORDER BY shard_index) INTO busy
              FROM jobs WHERE shard_of = NEW.id AND status = 'running';
            RAISE WARNING 'job %: running shards (%) do not run this fire time',
                          NEW.name, coalesce(busy, '?')
                USING HINT = 'Run a sharded job once none of its shards runs.';
        END IF;
    END IF;
    -- Resume (or a pause taken back while running).
    IF (OLD.status = 'paused' AND NEW.status = 'waiting' AND NEW.next_time IS NULL)
       OR (OLD.pause_requested AND NOT NEW.pause_requested AND NEW.status IN ('waiting', 'running')
           AND NEW.next_time IS NOT DISTINCT FROM OLD.next_time) THEN
        UPDATE jobs
           SET status = CASE WHEN status = 'paused' THEN 'waiting' ELSE status END,
               next_time = CASE WHEN status = 'paused' THEN NULL ELSE next_time END,
               attempt = CASE WHEN status = 'paused' THEN 1 ELSE attempt END,
               scheduled_for = CASE WHEN status = 'paused' THEN NULL ELSE scheduled_for END,
               pause_requested = false,
               version = CASE WHEN status = 'paused' THEN version + 1 ELSE version END
         WHERE shard_of = NEW.id AND (status = 'paused' OR pause_requested);
    END IF;
    -- Pause: a waiting or done row now, a running one when its run ends.
    IF (NEW.status = 'paused' AND OLD.status <> 'paused')
       OR (NEW.status = 'running' AND NEW.pause_requested AND NOT OLD.pause_requested) THEN
        UPDATE jobs
           SET status = CASE WHEN status = 'running' THEN status ELSE 'paused' END,
               pause_requested = status = 'running',
               version = CASE WHEN status = 'running' THEN version ELSE version + 1 END
         WHERE shard_of = NEW.id
           AND (status IN ('waiting', 'done') OR (status = 'running' AND NOT pause_requested));
    END IF;
    -- Kill: every shard that runs.  A kill request left on a job row that
    -- does not run would kill its next run: take it back.
    IF NEW.kill_requested_at IS NOT NULL AND OLD.kill_requested_at IS NULL THEN
        UPDATE jobs SET kill_requested_at = NEW.kill_requested_at
         WHERE shard_of = NEW.id AND status = 'running' AND kill_requested_at IS NULL;
        IF NEW.status <> 'running' THEN
            UPDATE jobs SET kill_requested_at = NULL WHERE id = NEW.id AND status <> 'running';
        END IF;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION jobs_shards_act() IS
    'Applies an operator''s pause, resume, run now or kill of a sharded job to its shard rows';
CREATE TRIGGER jobs_shards_act
    AFTER UPDATE ON jobs FOR EACH ROW
    WHEN (NEW.shard_of IS NULL AND NEW.shards > 1
          AND (OLD.status, OLD.pause_requested, OLD.next_time, OLD.scheduled_for,
               OLD.kill_requested_at)
              IS DISTINCT FROM
              (NEW.status, NEW.pause_requested, NEW.next_time, NEW.scheduled_for,
               NEW.kill_requested_at))
    EXECUTE FUNCTION jobs_shards_act();
COMMENT ON TRIGGER jobs_shards_act ON jobs IS
    'An operator''s pause, resume, run now or kill of a sharded job reaches its shard rows';

-- Run now: the fire time goes into scheduled_for as well, so each shard
-- runs exactly that fire time whenever an instance has room for it (a
-- fire time in scheduled_for has no misfire check), instead of being
-- skipped as a misfire when it waits longer than misfire_grace.
CREATE FUNCTION jobs_shards_pin_run() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('tablecron.instance', true), '') = '' THEN
        NEW.scheduled_for := date_trunc('second', NEW.next_time);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION jobs_shards_pin_run() IS
    'Pins the fire time of an operator''s run now of a sharded job in scheduled_for';
CREATE TRIGGER jobs_shards_pin_run
    BEFORE UPDATE ON jobs FOR EACH ROW
    WHEN (NEW.shard_of IS NULL AND NEW.shards > 1 AND NEW.status = 'waiting'
          AND NEW.attempt = 1 AND NEW.next_time IS NOT NULL AND NEW.scheduled_for IS NULL
          AND (OLD.status <> 'waiting' OR OLD.next_time IS DISTINCT FROM NEW.next_time))
    EXECUTE FUNCTION jobs_shards_pin_run();
COMMENT ON TRIGGER jobs_shards_pin_run ON jobs IS
    'An operator''s run now of a sharded job runs that fire time in every shard, however late';

-- Scheduling: a row without next_time (new, resumed, schedule edited) is
-- given one by whichever instance gets to it first, computed from its
-- now.  For an @every schedule that now is the grid, so all the rows of a
-- job must take the same one: the job's.  A shard row waits (stays
-- unscheduled) until its job has one, and the job hands it over.
CREATE FUNCTION jobs_shards_schedule() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE jobs SET next_time = NEW.next_time, version = version + 1
     WHERE shard_of = NEW.id AND status = 'waiting' AND next_time IS NULL AND attempt = 1
       AND scheduled_for IS NULL;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION jobs_shards_schedule() IS
    'Gives a sharded job''s first next_time to its unscheduled shard rows';
CREATE TRIGGER jobs_shards_schedule
    AFTER UPDATE ON jobs FOR EACH ROW
    WHEN (NEW.shard_of IS NULL AND NEW.shards > 1 AND OLD.next_time IS NULL
          AND NEW.next_time IS NOT NULL AND NEW.status = 'waiting' AND NEW.attempt = 1
          AND NEW.scheduled_for IS NULL)
    EXECUTE FUNCTION jobs_shards_schedule();
COMMENT ON TRIGGER jobs_shards_schedule ON jobs IS
    'A sharded job that gets its next_time gives it to its unscheduled shard rows';

CREATE FUNCTION jobs_shard_align() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    j jobs;
BEGIN
    SELECT * INTO j FROM jobs WHERE id = NEW.shard_of;
    IF FOUND AND j.status = 'waiting' AND j.attempt = 1 AND j.scheduled_for IS NULL THEN
        NEW.next_time := j.next_time; -- NULL: wait for the job's own
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION jobs_shard_align() IS
    'A shard row being scheduled takes its job''s next_time (or waits for it)';
CREATE TRIGGER jobs_shard_align
    BEFORE UPDATE ON jobs FOR EACH ROW
    WHEN (NEW.shard_of IS NOT NULL AND OLD.next_time IS NULL AND NEW.next_time IS NOT NULL
          AND NEW.status = 'waiting' AND NEW.attempt = 1 AND NEW.scheduled_for IS NULL)
    EXECUTE FUNCTION jobs_shard_align();
COMMENT ON TRIGGER jobs_shard_align ON jobs IS
    'A shard row is scheduled for its job''s next fire time, so all shards share one grid';

-- A shard row made or changed by hand must be one its job would have.
-- Checked after the statement's rows are all written (AFTER triggers see
-- them all), so that one statement may change a job and its shard rows
-- alike (UPDATE jobs SET department_id = ... WHERE ...).
CREATE FUNCTION jobs_shard_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    j jobs;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.shard_of IS NULL
       AND EXISTS (SELECT 1 FROM jobs WHERE shard_of = NEW.id) THEN
        RAISE EXCEPTION 'job % has shard rows: it cannot become a shard row itself', OLD.name
            USING ERRCODE = 'check_violation', CONSTRAINT = 'jobs_shard_row';
    END IF;
    SELECT * INTO j FROM jobs WHERE id = NEW.shard_of;
    IF NOT FOUND THEN
        RETURN NULL; -- the foreign key says so
    END IF;
    IF j.shard_of IS NOT NULL THEN
        RAISE EXCEPTION 'shard row %: shard_of must name a job, not another shard row (%)',
                        NEW.name, j.name
            USING ERRCODE = 'check_violation', CONSTRAINT = 'jobs_shard_row';
    END IF;
    IF NEW.shards <> j.shards OR NEW.shard_index >= j.shards THEN
        RAISE EXCEPTION 'shard row %: shard % of % does not fit job %, which has % shards',
                        NEW.name, NEW.shard_index, NEW.shards, j.name, j.shards
            USING ERRCODE = 'check_violation', CONSTRAINT = 'jobs_shard_row';
    END IF;
    IF NEW.name <> j.name || '#' || NEW.shard_index THEN
        RAISE EXCEPTION 'shard row %: must be named %', NEW.name, j.name || '#' || NEW.shard_index
            USING ERRCODE = 'check_violation', CONSTRAINT = 'jobs_shard_row';
    END IF;
    IF jobs_shard_definition(NEW) IS DISTINCT FROM jobs_shard_definition(j) THEN
        RAISE EXCEPTION 'shard row %: its definition must be its job''s (change job % instead)',
                        NEW.name, j.name
            USING ERRCODE = 'check_violation', CONSTRAINT = 'jobs_shard_row';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION jobs_shard_check() IS
    'Refuses a shard row that does not match its job (parent, index, count, name, definition)';
CREATE TRIGGER jobs_shard_check_insert
    AFTER INSERT ON jobs FOR EACH ROW
    WHEN (NEW.shard_of IS NOT NULL)
    EXECUTE FUNCTION jobs_shard_check();
CREATE TRIGGER jobs_shard_check
    AFTER UPDATE ON jobs FOR EACH ROW
    WHEN (NEW.shard_of IS NOT NULL
          AND (OLD.shard_of, OLD.shard_index, OLD.shards, OLD.name, OLD.department_id,
               OLD.description, OLD.schedule, OLD.timezone, OLD.kind, OLD.config, OLD.timeout_s,
               OLD.max_retries, OLD.retry_backoff_s, OLD.misfire_policy)
              IS DISTINCT FROM
              (NEW.shard_of, NEW.shard_index, NEW.shards, NEW.name, NEW.department_id,
               NEW.description, NEW.schedule, NEW.timezone, NEW.kind, NEW.config, NEW.timeout_s,
               NEW.max_retries, NEW.retry_backoff_s, NEW.misfire_policy))
    EXECUTE FUNCTION jobs_shard_check();
COMMENT ON TRIGGER jobs_shard_check_insert ON jobs IS
    'A shard row inserted by hand must match its job';
COMMENT ON TRIGGER jobs_shard_check ON jobs IS
    'A shard row edited by hand must still match its job (edit the job instead)';

CREATE FUNCTION jobs_shard_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM jobs WHERE id = OLD.shard_of AND shards > OLD.shard_index) THEN
        RAISE EXCEPTION 'shard row % belongs to its job: lower the job''s shards, or delete the job',
                        OLD.name
            USING ERRCODE = 'check_violation', CONSTRAINT = 'jobs_shard_row';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION jobs_shard_delete() IS
    'Refuses to delete a shard row its job still has (its job going, or fewer shards, is fine)';
CREATE TRIGGER jobs_shard_delete
    AFTER DELETE ON jobs FOR EACH ROW
    WHEN (OLD.shard_of IS NOT NULL)
    EXECUTE FUNCTION jobs_shard_delete();
COMMENT ON TRIGGER jobs_shard_delete ON jobs IS
    'A shard row goes only with its job or when the job''s shards are lowered';

-- Each fire time of a sharded job, its shards counted by the status of
-- their latest attempt.  A shard not started yet is pending while its row
-- is still due for that fire time (waiting for a free slot); one that will
-- never run it (skipped as a misfire, recorded as a 'misfired' execution by
-- 0009, or its row removed) leaves the fire time incomplete.
CREATE VIEW shard_fire_times AS
WITH latest AS (
    SELECT DISTINCT ON (e.job_id, e.scheduled_for, e.shard_index)
           e.job_id, e.scheduled_for, e.shard_index, e.shard_count, e.status, e.attempt
      FROM executions e
     ORDER BY e.job_id, e.scheduled_for, e.shard_index, e.attempt DESC
), runs AS (
    SELECT e.job_id, e.scheduled_for, count(*) AS attempts, min(e.started_at) AS started_at,
           max(e.finished_at) AS finished_at, bool_or(e.status = 'running') AS any_running
      FROM executions e
     GROUP BY e.job_id, e.scheduled_for
), f AS (
    SELECT l.job_id, l.scheduled_for,
           greatest(max(l.shard_count), max(l.shard_index) + 1) AS counted,
           count(*) AS started,
           count(*) FILTER (WHERE l.status = 'succeeded') AS succeeded,
           count(*) FILTER (WHERE l.status NOT IN ('succeeded', 'running', 'misfired')) AS failed,
           count(*) FILTER (WHERE l.status = 'running') AS running,
           count(*) FILTER (WHERE l.status = 'misfired') AS missed
      FROM latest l
     GROUP BY l.job_id, l.scheduled_for
), g AS (
    SELECT f.*, j.name AS job, j.shards AS job_shards, w.pending, w.retrying
      FROM f
      JOIN jobs j ON j.id = f.job_id
     CROSS JOIN LATERAL (
           SELECT count(*) FILTER (
                      WHERE NOT EXISTS (SELECT 1 FROM executions x
                                         WHERE x.job_id = f.job_id
                                           AND x.scheduled_for = f.scheduled_for
                                           AND x.shard_index = r.shard_index)) AS pending,
                  count(*) FILTER (WHERE r.attempt > 1) AS retrying
             FROM (SELECT * FROM jobs WHERE id = f.job_id
                   UNION ALL
                   SELECT * FROM jobs WHERE shard_of = f.job_id) r
            WHERE r.status = 'waiting'
              AND (r.scheduled_for = f.scheduled_for
                   OR (r.scheduled_for IS NULL
                       AND r.next_time < f.scheduled_for + interval '1 second'))) w
)
SELECT g.job_id, g.job, g.scheduled_for,
       greatest(g.counted, g.started + g.pending) AS shards,
       g.succeeded, g.failed, g.running, g.pending, g.retrying, g.missed,
       CASE WHEN g.failed > 0 THEN 'failed'
            WHEN g.running > 0 OR g.pending > 0 THEN 'running'
            WHEN g.started < g.counted OR g.missed > 0 THEN 'incomplete'
            ELSE 'succeeded' END AS status,
       r.attempts, r.started_at,
       CASE WHEN r.any_running OR g.pending > 0 OR g.retrying > 0 THEN NULL
            ELSE r.finished_at END AS finished_at
  FROM g JOIN runs r ON r.job_id = g.job_id AND r.scheduled_for = g.scheduled_for
 WHERE g.job_shards > 1 OR g.counted > 1;
COMMENT ON VIEW shard_fire_times IS
    'Each fire time of a sharded job: its shards by the status of their latest attempt, '
    'and the fire time''s status (succeeded only when every shard''s latest attempt did)';
COMMENT ON COLUMN shard_fire_times.job_id IS 'The sharded job';
COMMENT ON COLUMN shard_fire_times.job IS 'Its name';
COMMENT ON COLUMN shard_fire_times.scheduled_for IS 'The fire time';
COMMENT ON COLUMN shard_fire_times.shards IS
    'How many shards the fire time has (as many as when it was claimed)';
COMMENT ON COLUMN shard_fire_times.succeeded IS 'Shards whose latest attempt succeeded';
COMMENT ON COLUMN shard_fire_times.failed IS
    'Shards whose latest attempt failed, timed out, was killed or abandoned (a retry may follow)';
COMMENT ON COLUMN shard_fire_times.running IS 'Shards whose latest attempt is running';
COMMENT ON COLUMN shard_fire_times.pending IS
    'Shards not started yet that are still due for this fire time (waiting for a free slot)';
COMMENT ON COLUMN shard_fire_times.retrying IS
    'Shards whose retry for this fire time is scheduled, not started yet';
COMMENT ON COLUMN shard_fire_times.missed IS
    'Shards that skipped this fire time as a misfire (a ''misfired'' execution)';
COMMENT ON COLUMN shard_fire_times.status IS
    'failed: a shard''s latest attempt did not succeed (a retry may still mend it); '
    'running: shards are running or yet to start; incomplete: a shard did not run it '
    '(skipped as a misfire, or removed); succeeded: every shard''s latest attempt succeeded';
COMMENT ON COLUMN shard_fire_times.attempts IS 'Executions of the fire time, all shards and attempts';
COMMENT ON COLUMN shard_fire_times.started_at IS 'When its first execution started';
COMMENT ON COLUMN shard_fire_times.finished_at IS
    'When its last execution ended; NULL while a shard runs or is yet to run';

-- The listings show jobs, never their shard rows.  New columns go last
-- (CREATE OR REPLACE keeps the others and their comments).
CREATE OR REPLACE VIEW job_overview AS
SELECT j.id,
       j.name,
       d.name AS department,
       j.kind,
       j.schedule,
       j.timezone,
       j.status,
       j.next_time,
       j.lease_owner,
       j.lease_until,
       last.status AS last_status,
       last.started_at AS last_started_at,
       last.finished_at AS last_finished_at,
       last.error AS last_error,
       j.shards
  FROM jobs j
  JOIN departments d ON d.id = j.department_id
  LEFT JOIN LATERAL (
        SELECT e.status, e.started_at, e.finished_at, e.error
          FROM executions e
         WHERE e.job_id = j.id
         ORDER BY e.started_at DESC, e.id DESC
         LIMIT 1) last ON true
 WHERE j.shard_of IS NULL;
COMMENT ON VIEW job_overview IS
    'Each job with its department, scheduling state and last run (shard rows are not listed)';
COMMENT ON COLUMN job_overview.status IS
    'waiting, running, paused or done (of the job''s own row: shard 0 of a sharded job)';
COMMENT ON COLUMN job_overview.shards IS 'Executions per fire time (1: not sharded)';
COMMENT ON COLUMN job_overview.last_status IS
    'Status of the latest execution (of any shard; shard_fire_times has whole fire times)';

CREATE OR REPLACE VIEW recent_failures AS
SELECT e.id AS execution_id,
       j.name AS job,
       d.name AS department,
       e.scheduled_for,
       e.attempt,
       e.status,
       e.instance_id,
       e.started_at,
       e.finished_at,
       e.exit_code,
       e.error,
       e.shard_index
  FROM executions e
  JOIN jobs j ON j.id = e.job_id
  JOIN departments d ON d.id = j.department_id
 WHERE e.status IN ('failed', 'timed_out', 'killed', 'abandoned')
   AND e.started_at > now() - interval '7 days'
 ORDER BY e.started_at DESC, e.id DESC;
COMMENT ON COLUMN recent_failures.shard_index IS 'Which shard of a sharded job (0 otherwise)';
