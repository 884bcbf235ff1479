-- 0008: job dependencies (workflows).
--
-- A job may run after other jobs: an edge of job_dependencies says that the
-- downstream job runs when a fire time of the upstream job has ended, on a
-- condition (success, failure or always).  A job with several upstream
-- jobs waits for all of them, for the same fire time (fan-in).  The
-- downstream run is for the fire time of the runs that triggered it, so the
-- executions_once constraint keeps a chain to one run per fire time however
-- many instances race, and it records which execution triggered it.
--
-- Glossary:
--   *fire time* (T): executions.scheduled_for; a downstream run keeps T.
--   *final*: every shard of a job's fire time has ended its last attempt and
--     no retry is pending (fire_time_outcome() says how it ended).
--   *idle*: a job that waits for nothing (status waiting, attempt 1, no
--     scheduled_for); *ready*: idle on all its rows (the job and its shard
--     rows) and not due on its own schedule either.
--   *trigger*: the decision that job J runs for T (a job_triggers row): it
--     starts at once when J is ready, else it is queued (pending) until J
--     is ready again; each (J, T) is decided once.
--
-- Where it happens: when a run ends, its job row leaves 'running' (the
-- release, the reap, or the end of a task that reported back by callback),
-- and a statement-level trigger on jobs (jobs_workflow) looks at the ended
-- runs of that statement, however many.  The executions row ends in the
-- same statement or before (a callback's result is written by the API
-- while the job row still runs), so this is the one moment when the fire
-- time can have become final.  Operators' changes of executions by hand
-- (outside a scheduler session) are looked at too (executions_workflow).
--
-- Concurrency: the decisions about a downstream job are serialised by an
-- advisory transaction lock on that job (workflow_lock_key), taken in key
-- order for all the jobs a statement concerns, in one go; the queries after it
-- see what the transactions that held it committed (READ COMMITTED takes a
-- snapshot per statement).  So two upstream jobs of a fan-in ending at
-- once in two transactions cannot both miss the other, and a job's release
-- sees the triggers queued for it while it ran.  A decision waits for a
-- job row's lock only when the row looked ready, i.e. not held by a
-- release: that keeps the schedulers' releases free of deadlocks.
--
-- Paused and done downstream jobs: a trigger for a paused job, or for a
-- one-off job that is done, or one whose schedule cannot be used, is not
-- run: it is recorded as skipped with the reason.  A trigger queued for a
-- job that is paused before it could start is skipped too.

ALTER TABLE jobs ADD COLUMN triggered_by bigint;
COMMENT ON COLUMN jobs.triggered_by IS
    'Execution that made the run at next_time due (an upstream job''s run); NULL for a scheduled run';
ALTER TABLE executions ADD COLUMN triggered_by bigint REFERENCES executions (id) ON DELETE SET NULL;
COMMENT ON COLUMN executions.triggered_by IS
    'The upstream execution whose end started this run (job dependencies); NULL otherwise';
CREATE INDEX executions_triggered_by_idx ON executions (triggered_by) WHERE triggered_by IS NOT NULL;

-- --- the edges --------------------------------------------------------------

CREATE TABLE job_dependencies (
    downstream_id bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    upstream_id   bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    condition     text NOT NULL DEFAULT 'success'
                  CHECK (condition IN ('success', 'failure', 'always')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (downstream_id, upstream_id),
    CONSTRAINT job_dependencies_not_self CHECK (downstream_id <> upstream_id)
);
CREATE INDEX job_dependencies_upstream_idx ON job_dependencies (upstream_id);
COMMENT ON TABLE job_dependencies IS
    'Workflow edges: the downstream job runs when a fire time of the upstream job has ended '
    'on the condition; a job with several upstream jobs waits for all of them (same fire time). '
    'Cycles are refused (SQLSTATE 23T01)';
COMMENT ON COLUMN job_dependencies.downstream_id IS 'The job that runs after the upstream job';
COMMENT ON COLUMN job_dependencies.upstream_id IS 'The job it waits for';
COMMENT ON COLUMN job_dependencies.condition IS
    'success: when the upstream fire time succeeded (every shard); failure: when it did not '
    '(failed, timed out, killed or abandoned, retries included); always: either way';
COMMENT ON COLUMN job_dependencies.created_at IS 'When the edge was made';

-- The cycle an edge upstream -> downstream would close, in words
-- ("a -> b -> c -> a": each job runs after the one before it), or NULL.
-- The edge (ignore_down, ignore_up), one being changed, is left out of
-- the graph.  The API and the command line ask first, for a clear answer;
-- job_dependencies_check asks again under its lock, which is what counts.
CREATE FUNCTION job_dependencies_cycle(downstream bigint, upstream bigint,
                                       ignore_down bigint DEFAULT NULL,
                                       ignore_up bigint DEFAULT NULL) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    reached bigint[];
    path bigint[];
    cur bigint;
    names text;
BEGIN
    -- Every job downstream of the new edge's downstream job, each once.
    WITH RECURSIVE down(id) AS (
        SELECT downstream
        UNION
        SELECT d.downstream_id FROM down JOIN job_dependencies d ON d.upstream_id = down.id
         WHERE (d.downstream_id, d.upstream_id) IS DISTINCT FROM (ignore_down, ignore_up)
    )
    SELECT array_agg(id) INTO reached FROM down;
    IF NOT upstream = ANY (reached) THEN
        RETURN NULL;
    END IF;
    -- Walk back from the upstream job to the downstream one within the
    -- reached jobs (each has an upstream job among them, and the graph has
    -- no cycle, so the walk ends there; the bound is for a graph made with
    -- the check switched off).
    cur := upstream;
    path := ARRAY[cur];
    FOR step IN 1 .. cardinality(reached) LOOP
        EXIT WHEN cur = downstream OR cur IS NULL;
        SELECT min(d.upstream_id) INTO cur FROM job_dependencies d
         WHERE d.downstream_id = cur AND d.upstream_id = ANY (reached)
           AND (d.downstream_id, d.upstream_id) IS DISTINCT FROM (ignore_down, ignore_up);
        path := cur || path;
    END LOOP;
    SELECT string_agg(coalesce(j.name, '#' || p.id), ' -> ' ORDER BY p.n) INTO names
      FROM unnest(upstream || path) WITH ORDINALITY AS p(id, n)
      LEFT JOIN jobs j ON j.id = p.id;
    RETURN names;
END
$$;
COMMENT ON FUNCTION job_dependencies_cycle(bigint, bigint, bigint, bigint) IS
    'The cycle that an edge upstream -> downstream would close, as job names '
    '("a -> b -> a"), or NULL when it closes none';

-- Refuse an edge that touches a shard row (the sharded job is the end) or
-- closes a cycle.  The check holds a transaction lock until commit, so two
-- concurrent inserts are checked one after the other, the second seeing
-- the first's edge (READ COMMITTED takes a new snapshot for the query).
-- Under REPEATABLE READ that snapshot would be older than the lock, so the
-- check refuses to run there; SERIALIZABLE is safe (its own checks).
CREATE FUNCTION job_dependencies_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    -- An edge being changed is not part of the graph it is checked against.
    old_down bigint := CASE WHEN TG_OP = 'UPDATE' THEN OLD.downstream_id END;
    old_up bigint := CASE WHEN TG_OP = 'UPDATE' THEN OLD.upstream_id END;
    cycle text;
BEGIN
    IF EXISTS (SELECT 1 FROM jobs WHERE id IN (NEW.downstream_id, NEW.upstream_id)
                                    AND shard_of IS NOT NULL) THEN
        RAISE EXCEPTION 'a shard row cannot be an end of a dependency: use its job'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'job_dependencies_not_shard',
                  TABLE = 'job_dependencies';
    END IF;
    IF (NEW.downstream_id, NEW.upstream_id) IS NOT DISTINCT FROM (old_down, old_up)
       OR NEW.downstream_id = NEW.upstream_id OR NEW.downstream_id IS NULL
       OR NEW.upstream_id IS NULL THEN
        RETURN NEW; -- a new condition changes no path; the constraints refuse the others
    END IF;
    IF current_setting('transaction_isolation') = 'repeatable read' THEN
        RAISE EXCEPTION
            'job dependencies cannot be checked for cycles in a REPEATABLE READ transaction'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Use READ COMMITTED (the default) or SERIALIZABLE.';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('tablecron.job_dependencies'));
    cycle := job_dependencies_cycle(NEW.downstream_id, NEW.upstream_id, old_down, old_up);
    IF cycle IS NOT NULL THEN
        RAISE EXCEPTION 'dependency would make a cycle: %', cycle
            USING ERRCODE = '23T01', CONSTRAINT = 'job_dependencies_acyclic',
                  TABLE = 'job_dependencies',
                  DETAIL = 'Each job in the list would run after the one before it.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION job_dependencies_check() IS
    'Refuses a dependency that touches a shard row or closes a cycle (SQLSTATE 23T01, '
    'the cycle named in the message)';
CREATE TRIGGER job_dependencies_check
    BEFORE INSERT OR UPDATE ON job_dependencies FOR EACH ROW
    EXECUTE FUNCTION job_dependencies_check();

-- --- how a fire time ended ----------------------------------------------------

-- Final means: for every shard s of the job, the latest attempt for
-- (job, T, s) has ended, and the row running shard s (the job itself for
-- s = 0, else its shard row) is not waiting for, or running, that attempt
-- or a later one of T (a retry pending, or a task that reported its result
-- by callback before its job row was released).
CREATE FUNCTION fire_time_outcome(job bigint, fire_time timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
               WHEN count(*) = 0 OR bool_or(NOT s.final) THEN NULL
               WHEN bool_and(s.status = 'succeeded') THEN 'succeeded'
               ELSE 'failed'
           END
      FROM jobs j
     CROSS JOIN LATERAL generate_series(0, j.shards - 1) AS g(shard)
      LEFT JOIN LATERAL (
            SELECT e.status, e.attempt FROM executions e
             WHERE e.job_id = j.id AND e.scheduled_for = fire_time AND e.shard_index = g.shard
             ORDER BY e.attempt DESC LIMIT 1) e ON true
     CROSS JOIN LATERAL (
            SELECT e.status,
                   e.status IS NOT NULL AND e.status <> 'running'
                   AND NOT EXISTS (
                       SELECT 1 FROM jobs r
                        WHERE r.id = j.id AND g.shard = 0
                          AND r.status IN ('waiting', 'running') AND r.scheduled_for = fire_time
                          AND r.attempt >= e.attempt)
                   AND NOT EXISTS (
                       SELECT 1 FROM jobs r
                        WHERE g.shard > 0 AND r.shard_of = j.id AND r.shard_index = g.shard
                          AND r.status IN ('waiting', 'running') AND r.scheduled_for = fire_time
                          AND r.attempt >= e.attempt) AS final) s
     WHERE j.id = job AND j.shard_of IS NULL
$$;
COMMENT ON FUNCTION fire_time_outcome(bigint, timestamptz) IS
    'How fire time T of a job ended: succeeded (every shard''s last attempt succeeded), failed, '
    'or NULL while it is not final (a shard still runs, has not run, or a retry is pending)';

-- The execution that completes the fan-in of a downstream job for T (the
-- upstream run that ended last), when every upstream job's fire time T is
-- final with an outcome its edge's condition accepts; else NULL.
CREATE FUNCTION workflow_fan_in(downstream bigint, fire_time timestamptz) RETURNS bigint
LANGUAGE sql STABLE AS $$
    WITH u AS (
        SELECT d.upstream_id, d.condition, fire_time_outcome(d.upstream_id, fire_time) AS outcome
          FROM job_dependencies d WHERE d.downstream_id = downstream)
    SELECT (SELECT e.id FROM executions e
             WHERE e.job_id IN (SELECT upstream_id FROM u) AND e.scheduled_for = fire_time
               AND e.status <> 'running'
             ORDER BY e.finished_at DESC, e.id DESC LIMIT 1)
     WHERE EXISTS (SELECT 1 FROM u)
       AND NOT EXISTS (
           SELECT 1 FROM u
            WHERE NOT coalesce(CASE u.condition
                                   WHEN 'success' THEN u.outcome = 'succeeded'
                                   WHEN 'failure' THEN u.outcome = 'failed'
                                   ELSE u.outcome IS NOT NULL
                               END, false))
$$;
COMMENT ON FUNCTION workflow_fan_in(bigint, timestamptz) IS
    'The upstream execution that completes a downstream job''s dependencies for fire time T '
    '(the last to end), or NULL when some upstream fire time is not final or its outcome does '
    'not meet the edge''s condition';

-- --- triggers: decided once, started when the job is ready --------------------

CREATE TABLE job_triggers (
    job_id        bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    scheduled_for timestamptz NOT NULL,
    triggered_by  bigint NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'started', 'skipped')),
    reason        text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    -- A downstream job is triggered at most once per fire time.
    PRIMARY KEY (job_id, scheduled_for),
    CONSTRAINT job_triggers_started_at CHECK ((status = 'started') = (started_at IS NOT NULL)),
    CONSTRAINT job_triggers_skipped_reason CHECK ((status = 'skipped') = (reason IS NOT NULL))
);
CREATE INDEX job_triggers_pending_idx ON job_triggers (created_at) WHERE status = 'pending';
CREATE INDEX job_triggers_triggered_by_idx ON job_triggers (triggered_by);
COMMENT ON TABLE job_triggers IS
    'Each time a job''s dependencies were met for a fire time: started at once, pending (queued '
    'while the job was busy) or skipped (the job was paused or done). Rows go with the upstream '
    'execution (history retention)';
COMMENT ON COLUMN job_triggers.job_id IS 'The downstream job';
COMMENT ON COLUMN job_triggers.scheduled_for IS
    'The fire time it runs for (its upstream runs'' fire time)';
COMMENT ON COLUMN job_triggers.triggered_by IS
    'The upstream execution whose end met the dependencies (the last to end, for a fan-in)';
COMMENT ON COLUMN job_triggers.status IS
    'pending: waits until the job is idle (it was running, retrying or had another run due); '
    'started: made due (jobs.next_time, scheduled_for, triggered_by); skipped: not run (reason)';
COMMENT ON COLUMN job_triggers.reason IS 'Why a skipped trigger was not run; NULL otherwise';
COMMENT ON COLUMN job_triggers.created_at IS 'When the dependencies were met';
COMMENT ON COLUMN job_triggers.started_at IS 'When the run was made due; NULL unless started';

-- The lock that serialises the decisions about one job (two-key advisory
-- locks: a space of their own, apart from the one-key locks of migrate,
-- the alerter and retention).  Ids beyond 2^31 share keys: only more
-- waiting, never less safety.
CREATE FUNCTION workflow_lock_key(job bigint) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$ SELECT (job % 2147483647)::integer $$;
COMMENT ON FUNCTION workflow_lock_key(bigint) IS
    'Second key of the advisory lock (hashtext(''tablecron.workflow''), key) taken while '
    'deciding about a downstream job';

-- Start the oldest pending trigger of a job if the job is ready; skip them
-- all if it is paused or done.  The caller holds the job's workflow lock.
CREATE FUNCTION workflow_apply(job bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    j record;
    t record;
    why text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM job_triggers WHERE job_id = job AND status = 'pending') THEN
        RETURN;
    END IF;
    FOR round IN 1 .. 2 LOOP
        SELECT status, schedule_error INTO j FROM jobs WHERE id = job;
        IF NOT FOUND THEN
            RETURN;
        END IF;
        why := CASE
                   WHEN j.status = 'paused' THEN 'the job is paused'
                   WHEN j.status = 'done' THEN 'the job is done (a one-off job that has run)'
                   WHEN j.schedule_error IS NOT NULL
                       THEN 'the job''s schedule cannot be used: ' || j.schedule_error
               END;
        IF why IS NOT NULL THEN
            UPDATE job_triggers SET status = 'skipped', reason = why
             WHERE job_id = job AND status = 'pending';
            RETURN;
        END IF;
        -- Ready: every row of the job waits idle and is not due by itself.
        IF EXISTS (SELECT 1 FROM jobs r
                    WHERE (r.id = job OR r.shard_of = job)
                      AND NOT (r.status = 'waiting' AND r.attempt = 1 AND r.scheduled_for IS NULL
                               AND (r.next_time IS NULL OR r.next_time > now()))) THEN
            RETURN; -- stays pending: the job's release looks again
        END IF;
        -- The rows looked ready, so no release holds them (a release's
        -- rows look running until it commits); wait for a claim or an
        -- operator's edit that may, then look again at what they left.
        EXIT WHEN round = 2;
        PERFORM 1 FROM jobs r WHERE r.id = job OR r.shard_of = job ORDER BY r.id
            FOR NO KEY UPDATE;
    END LOOP;
    FOR t IN SELECT * FROM job_triggers
              WHERE job_id = job AND status = 'pending'
              ORDER BY scheduled_for, created_at LOOP
        IF EXISTS (SELECT 1 FROM executions e
                    WHERE e.job_id = job AND e.scheduled_for = t.scheduled_for) THEN
            UPDATE job_triggers SET status = 'skipped',
                   reason = 'the job has already run for this fire time'
             WHERE job_id = t.job_id AND scheduled_for = t.scheduled_for;
            CONTINUE;
        END IF;
        UPDATE jobs SET next_time = now(), scheduled_for = t.scheduled_for, attempt = 1,
                        triggered_by = t.triggered_by, version = version + 1
         WHERE id = job OR shard_of = job;
        UPDATE job_triggers SET status = 'started', started_at = now()
         WHERE job_id = t.job_id AND scheduled_for = t.scheduled_for;
        -- A scheduler's own statements do not wake the others (jobs_notify).
        PERFORM pg_notify('tablecron_wake', '');
        RETURN;
    END LOOP;
END
$$;
COMMENT ON FUNCTION workflow_apply(bigint) IS
    'Starts the oldest pending trigger of a job when all its rows wait idle, or skips its '
    'pending triggers when it is paused or done (caller holds the job''s workflow lock)';

-- The decisions after runs ended (ended_jobs[i] ran fire time
-- ended_times[i]) and jobs became idle (touched): lock every job concerned
-- in key order, in one go, then trigger the downstream jobs whose
-- dependencies are met and start what is pending.  Also looks at a few
-- triggers pending for more than a minute, a safety net for anything
-- that left one behind.
CREATE FUNCTION workflow_settle(ended_jobs bigint[], ended_times timestamptz[],
                                touched bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    pair_jobs bigint[];
    pair_times timestamptz[];
    stale bigint[];
    k integer;
    p record;
    x bigint;
    jid bigint;
BEGIN
    SELECT coalesce(array_agg(q.downstream_id ORDER BY q.downstream_id, q.t), '{}'),
           coalesce(array_agg(q.t ORDER BY q.downstream_id, q.t), '{}')
      INTO pair_jobs, pair_times
      FROM (SELECT DISTINCT d.downstream_id, e.t
              FROM unnest(ended_jobs, ended_times) AS e(j, t)
              JOIN job_dependencies d ON d.upstream_id = e.j
             WHERE e.t IS NOT NULL) q;
    SELECT coalesce(array_agg(DISTINCT s.job_id), '{}') INTO stale
      FROM (SELECT job_id FROM job_triggers
             WHERE status = 'pending' AND created_at < now() - interval '1 minute'
             ORDER BY created_at LIMIT 10) s;
    IF cardinality(pair_jobs) + cardinality(touched) + cardinality(stale) = 0 THEN
        RETURN;
    END IF;
    FOR k IN SELECT DISTINCT workflow_lock_key(u) FROM unnest(pair_jobs || touched || stale) u
              ORDER BY 1 LOOP
        PERFORM pg_advisory_xact_lock(hashtext('tablecron.workflow'), k);
    END LOOP;
    -- From here on each query sees what the lock's earlier holders committed.
    FOR p IN SELECT * FROM unnest(pair_jobs, pair_times) AS q(down, t) LOOP
        x := workflow_fan_in(p.down, p.t);
        IF x IS NOT NULL THEN
            INSERT INTO job_triggers (job_id, scheduled_for, triggered_by)
            VALUES (p.down, p.t, x) ON CONFLICT DO NOTHING;
        END IF;
    END LOOP;
    FOR jid IN SELECT DISTINCT u FROM unnest(pair_jobs || touched || stale) u ORDER BY 1 LOOP
        PERFORM workflow_apply(jid);
    END LOOP;
END
$$;
COMMENT ON FUNCTION workflow_settle(bigint[], timestamptz[], bigint[]) IS
    'After runs ended and jobs became idle: triggers the downstream jobs whose dependencies are '
    'met and starts pending triggers, under per-job advisory locks taken in order';

-- The runs that ended in a statement on jobs, and the jobs that became
-- idle (their queued triggers may start) or paused or done (theirs are
-- skipped), whatever the number of rows: one call of workflow_settle.
CREATE FUNCTION jobs_workflow() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ended_jobs bigint[];
    ended_times timestamptz[];
    touched bigint[];
    stopped bigint[];
BEGIN
    -- One pass over the statement's rows.  Claims and lease renewals (the
    -- hot path) match none of the cheap tests, so they cost this one query.
    SELECT coalesce(array_agg(c.job) FILTER (WHERE c.ended), '{}'),
           coalesce(array_agg(o.scheduled_for) FILTER (WHERE c.ended), '{}'),
           coalesce(array_agg(DISTINCT c.job) FILTER (WHERE c.idle), '{}'),
           coalesce(array_agg(DISTINCT c.job) FILTER (WHERE c.stopped), '{}')
      INTO ended_jobs, ended_times, touched, stopped
      FROM old_rows o
      JOIN new_rows n ON n.id = o.id
     CROSS JOIN LATERAL (
           SELECT coalesce(o.shard_of, o.id) AS job,
                  -- a run ended (release, reap): its fire time may be final
                  o.status = 'running' AND n.status <> 'running' AS ended0,
                  -- now waiting idle: triggers queued meanwhile may start
                  n.status = 'waiting' AND n.attempt = 1 AND n.scheduled_for IS NULL
                  AND NOT (o.status = 'waiting' AND o.attempt = 1 AND o.scheduled_for IS NULL)
                      AS idle0,
                  -- now paused or done: what is queued will not run
                  n.status IN ('paused', 'done') AND o.status <> n.status
                  AND n.shard_of IS NULL AS stopped) c0
     CROSS JOIN LATERAL (
           SELECT c0.job, c0.stopped,
                  c0.ended0 AND EXISTS (SELECT 1 FROM job_dependencies d
                                         WHERE d.upstream_id = c0.job) AS ended,
                  -- only a job with upstream jobs has triggers queued, even
                  -- ones this statement cannot see yet
                  c0.idle0 AND (EXISTS (SELECT 1 FROM job_dependencies d
                                         WHERE d.downstream_id = c0.job)
                                OR EXISTS (SELECT 1 FROM job_triggers t
                                            WHERE t.job_id = c0.job AND t.status = 'pending'))
                      AS idle) c
     WHERE c0.ended0 OR c0.idle0 OR c0.stopped;
    -- No lock for this: a decision that waits for these rows sees the new
    -- status and skips as well.  A triggered run that was due but had not
    -- started when the job was paused will not run either (resume forgets it).
    IF cardinality(stopped) > 0 THEN
        UPDATE job_triggers t
           SET status = 'skipped', started_at = NULL,
               reason = CASE WHEN j.status = 'done'
                                 THEN 'the job is done (a one-off job that has run)'
                             WHEN t.status = 'started'
                                 THEN 'the job was paused before this run started'
                             ELSE 'the job is paused' END
          FROM jobs j
         WHERE j.id = t.job_id AND t.job_id = ANY (stopped) AND j.status IN ('paused', 'done')
           AND (t.status = 'pending'
                OR (t.status = 'started' AND t.scheduled_for = j.scheduled_for
                    AND t.triggered_by = j.triggered_by
                    AND NOT EXISTS (SELECT 1 FROM executions e
                                     WHERE e.job_id = j.id
                                       AND e.scheduled_for = t.scheduled_for)));
    END IF;
    IF cardinality(ended_jobs) > 0 OR cardinality(touched) > 0 THEN
        PERFORM workflow_settle(ended_jobs, ended_times, touched);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION jobs_workflow() IS
    'After a statement on jobs: the runs that ended (rows that left running) trigger their '
    'downstream jobs, and jobs that became idle start their queued triggers';
CREATE TRIGGER jobs_workflow
    AFTER UPDATE ON jobs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION jobs_workflow();

-- Executions ended by hand (an operator's SQL, or a task's result reported
-- through the API, whose job row is released later): the same decision for
-- that run.  Scheduler sessions skip this, their job rows tell (above).
CREATE FUNCTION executions_workflow() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM job_dependencies WHERE upstream_id = NEW.job_id) THEN
        PERFORM workflow_settle(ARRAY[NEW.job_id], ARRAY[NEW.scheduled_for], '{}');
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION executions_workflow() IS
    'An execution ended outside a scheduler session (by hand, or reported by its task): '
    'triggers the downstream jobs whose dependencies it met';
CREATE TRIGGER executions_workflow_end
    AFTER UPDATE OF status ON executions FOR EACH ROW
    WHEN (OLD.status = 'running' AND NEW.status <> 'running'
          AND coalesce(current_setting('tablecron.instance', true), '') = '')
    EXECUTE FUNCTION executions_workflow();
CREATE TRIGGER executions_workflow_insert
    AFTER INSERT ON executions FOR EACH ROW
    WHEN (NEW.status <> 'running'
          AND coalesce(current_setting('tablecron.instance', true), '') = '')
    EXECUTE FUNCTION executions_workflow();

-- A waiting row without a fire time of its own is no triggered run: forget
-- what triggered it (e.g. an operator replaced the run with "run now", or
-- edited the schedule, which clears scheduled_for).
CREATE FUNCTION jobs_workflow_forget() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.triggered_by := NULL;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION jobs_workflow_forget() IS
    'Clears jobs.triggered_by when scheduled_for is cleared (the row is no triggered run)';
-- Named to run after jobs_definition_changed (BEFORE triggers go by name).
CREATE TRIGGER jobs_workflow_forget
    BEFORE UPDATE ON jobs FOR EACH ROW
    WHEN (NEW.scheduled_for IS NULL AND NEW.triggered_by IS NOT NULL)
    EXECUTE FUNCTION jobs_workflow_forget();

-- --- views for psql -------------------------------------------------------------

CREATE VIEW workflow_edges AS
SELECT d.upstream_id,
       u.name AS upstream,
       ud.name AS upstream_department,
       d.downstream_id,
       w.name AS downstream,
       wd.name AS downstream_department,
       d.condition,
       d.created_at
  FROM job_dependencies d
  JOIN jobs u ON u.id = d.upstream_id
  JOIN departments ud ON ud.id = u.department_id
  JOIN jobs w ON w.id = d.downstream_id
  JOIN departments wd ON wd.id = w.department_id;
COMMENT ON VIEW workflow_edges IS
    'Job dependencies with the names of both jobs: upstream -> downstream';
COMMENT ON COLUMN workflow_edges.upstream_id IS 'The job waited for';
COMMENT ON COLUMN workflow_edges.upstream IS 'Its name';
COMMENT ON COLUMN workflow_edges.upstream_department IS 'Its department';
COMMENT ON COLUMN workflow_edges.downstream_id IS 'The job that runs after it';
COMMENT ON COLUMN workflow_edges.downstream IS 'Its name';
COMMENT ON COLUMN workflow_edges.downstream_department IS 'Its department';
COMMENT ON COLUMN workflow_edges.condition IS 'success, failure or always';
COMMENT ON COLUMN workflow_edges.created_at IS 'When the edge was made';

CREATE VIEW workflow_runs AS
SELECT e.id AS execution_id,
       j.name AS job,
       e.scheduled_for,
       e.shard_index,
       e.attempt,
       e.status,
       e.started_at,
       e.finished_at,
       e.triggered_by,
       uj.name AS upstream,
       ue.status AS upstream_status,
       ue.finished_at AS upstream_finished_at
  FROM executions e
  JOIN jobs j ON j.id = e.job_id
  LEFT JOIN executions ue ON ue.id = e.triggered_by
  LEFT JOIN jobs uj ON uj.id = ue.job_id
 WHERE e.triggered_by IS NOT NULL;
COMMENT ON VIEW workflow_runs IS
    'Runs started by an upstream job''s run, with that run: which execution triggered which';
COMMENT ON COLUMN workflow_runs.execution_id IS 'The downstream execution';
COMMENT ON COLUMN workflow_runs.job IS 'Its job';
COMMENT ON COLUMN workflow_runs.scheduled_for IS 'The fire time (the same as the upstream run''s)';
COMMENT ON COLUMN workflow_runs.shard_index IS 'Its shard (0 when not sharded)';
COMMENT ON COLUMN workflow_runs.attempt IS 'Its attempt';
COMMENT ON COLUMN workflow_runs.status IS 'Its status';
COMMENT ON COLUMN workflow_runs.started_at IS 'When it started';
COMMENT ON COLUMN workflow_runs.finished_at IS 'When it ended; NULL while running';
COMMENT ON COLUMN workflow_runs.triggered_by IS 'The upstream execution that triggered it';
COMMENT ON COLUMN workflow_runs.upstream IS 'The upstream job';
COMMENT ON COLUMN workflow_runs.upstream_status IS 'How the upstream execution ended';
COMMENT ON COLUMN workflow_runs.upstream_finished_at IS 'When the upstream execution ended';
