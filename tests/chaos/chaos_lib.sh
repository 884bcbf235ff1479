# chaos_lib.sh - instances, disruptions and the record they leave, for the
# chaos test (sourced by tests/chaos/chaos.sh after tests/lib.sh).
#
# Two records are kept, both in the test database, both on the database's
# clock (the machine's clock: the server is local):
#
#   chaos_events  what the test did and when: an instance started, was
#                 killed (-9), frozen (SIGSTOP) or thawed (SIGCONT), and
#                 PostgreSQL going down and coming back.  Kept in a bash
#                 array while the test runs (the server may be down) and
#                 written at the end.
#   chaos_log     every change of every jobs row, written by a row trigger
#                 in the changing transaction: who changed it (the session's
#                 tablecron.instance, empty for plain SQL), the state before
#                 and after (status, version, owner, lease_until, the claimed
#                 fire time and attempt, next_time).  The executions table
#                 says what ran; this log says exactly when a claim ended
#                 (release or take-over) and how long its lease had been,
#                 which the checks need to hold the scheduler to the
#                 design's promises rather than to rough bounds.
#
# Glossary: an *incarnation* is one process of an instance id (an id killed
# and started again has two); a *take-over* is a claim ended by another
# instance (or by the restarted owner) after its lease expired.

# chaos_setup: instrument the database (after `tablecron migrate`).
chaos_setup() {
    q "
    -- An immediate stop of the server must lose no acknowledged commit, or
    -- the test would blame the scheduler for what asynchronous commit forgot.
    ALTER DATABASE $PGDATABASE SET synchronous_commit = on;

    CREATE TABLE chaos_events (
        seq      serial PRIMARY KEY,
        at       timestamptz NOT NULL,
        kind     text NOT NULL CHECK (kind IN ('start', 'kill', 'freeze', 'thaw', 'pg_down', 'pg_up')),
        instance text
    );

    CREATE TABLE chaos_log (
        id              bigserial PRIMARY KEY,
        at              timestamptz NOT NULL DEFAULT now(),  -- the changing transaction's now()
        clk             timestamptz NOT NULL DEFAULT clock_timestamp(),
        actor           text,
        job_id          bigint NOT NULL,
        old_status      text, old_version bigint, old_owner text, old_lease_until timestamptz,
        old_sf          timestamptz, old_attempt int,
        status          text, version bigint, owner text, lease_until timestamptz,
        sf              timestamptz, attempt int, next_time timestamptz
    );
    CREATE INDEX ON chaos_log (job_id, id);

    CREATE FUNCTION chaos_log_job() RETURNS trigger LANGUAGE plpgsql AS \$\$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO chaos_log (actor, job_id, status, version, owner, lease_until, sf, attempt, next_time)
            VALUES (nullif(current_setting('tablecron.instance', true), ''), NEW.id, NEW.status,
                    NEW.version, NEW.lease_owner, NEW.lease_until, NEW.scheduled_for, NEW.attempt,
                    NEW.next_time);
        ELSE
            INSERT INTO chaos_log (actor, job_id, old_status, old_version, old_owner, old_lease_until,
                                   old_sf, old_attempt, status, version, owner, lease_until, sf,
                                   attempt, next_time)
            VALUES (nullif(current_setting('tablecron.instance', true), ''), NEW.id, OLD.status,
                    OLD.version, OLD.lease_owner, OLD.lease_until, OLD.scheduled_for, OLD.attempt,
                    NEW.status, NEW.version, NEW.lease_owner, NEW.lease_until, NEW.scheduled_for,
                    NEW.attempt, NEW.next_time);
        END IF;
        RETURN NULL;
    END \$\$;
    CREATE TRIGGER chaos_log_job AFTER INSERT OR UPDATE ON jobs
        FOR EACH ROW EXECUTE FUNCTION chaos_log_job();

    -- The period of each job's schedule (every schedule here is '* * * * * *'
    -- or '*/N * * * * *' with N dividing 60: its fire times are the epoch
    -- seconds that N divides).
    CREATE VIEW chaos_jobs AS
    SELECT id AS job_id, name, misfire_policy, max_retries,
           CASE WHEN schedule = '* * * * * *' THEN 1
                ELSE substring(schedule FROM '^\*/([0-9]+) ')::int END AS period
      FROM jobs;
    " >/dev/null
}

# --- the timeline --------------------------------------------------------

chaos_events=()          # "epoch kind instance"
declare -A chaos_pid     # instance id -> pid of its live incarnation
chaos_incarnation=0

chaos_now() { printf '%s' "${EPOCHREALTIME/[,]/.}"; }
chaos_last_ms=0          # when the last event was recorded
chaos_event() {
    chaos_events+=("$(chaos_now) $1 ${2:-}")
    chaos_last_ms=$(( ${EPOCHREALTIME/[.,]/} / 1000 ))
}

# chaos_start ID: start an instance (a new incarnation if ID ran before).
chaos_start() {
    chaos_incarnation=$((chaos_incarnation + 1))
    start_bg "$TC_TMP/$1.$chaos_incarnation.log" "$TABLECRON" serve --no-api --instance-id "$1" \
        --lease "${CHAOS_LEASE}s" --max-running "$CHAOS_MAX_RUNNING" --grace 5s \
        --misfire-grace "${CHAOS_GRACE}s"
    chaos_pid[$1]=$TC_BG_PID
    chaos_event start "$1"
}

# chaos_forget PID: a process that has been waited for is no longer lib.sh's
# to kill at exit (its pid may belong to someone else by then).
chaos_forget() {
    local i
    for i in "${!tc_children[@]}"; do
        [ "${tc_children[$i]}" != "$1" ] || unset "tc_children[$i]"
    done
}

# chaos_kill ID: SIGKILL; the event is recorded once the process is gone.
chaos_kill() {
    local pid=${chaos_pid[$1]}
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null
    chaos_forget "$pid"
    unset "chaos_pid[$1]"
    chaos_event kill "$1"
}

# chaos_stop_all: SIGTERM every live instance and wait for them (those
# still there after 20 s, four times their grace, are killed and named).
chaos_stop_all() {
    local id pid watchdog
    for id in "${!chaos_pid[@]}"; do kill -TERM "${chaos_pid[$id]}"; done
    ( sleep 20; for pid in "${chaos_pid[@]}"; do kill -KILL "$pid"; done ) >/dev/null 2>&1 &
    watchdog=$!
    for id in "${!chaos_pid[@]}"; do
        pid=${chaos_pid[$id]}
        wait "$pid"
        [ $? -ne 137 ] || echo "# $id did not stop within 20 s of SIGTERM: killed"
        chaos_forget "$pid"
        unset "chaos_pid[$id]"
    done
    kill "$watchdog" 2>/dev/null
    wait "$watchdog" 2>/dev/null
}

# Frozen from before the signal, thawed after it.
chaos_freeze() { chaos_event freeze "$1"; kill -STOP "${chaos_pid[$1]}"; }
chaos_thaw() { kill -CONT "${chaos_pid[$1]}"; chaos_event thaw "$1"; }

# chaos_pg_restart fast|immediate: immediate is a crash (recovery at start).
chaos_pg_restart() {
    chaos_event pg_down
    pg_as "$TC_PGBIN/pg_ctl" -D "$TC_PGDATA" -m "$1" -w stop >/dev/null || return 1
    pg_start || return 1
    chaos_event pg_up
}

# chaos_busy ID: the instance is running one of the long (sleep) tasks.
chaos_busy() {
    [ "$(q "SELECT count(*) > 0 FROM executions e JOIN jobs j ON j.id = e.job_id
             WHERE e.status = 'running' AND e.instance_id = '$1'
               AND j.config->>'command' LIKE 'sleep%'")" = t ]
}

# chaos_after SECONDS: wait until SECONDS after the last event.
chaos_past() { [ $(( ${EPOCHREALTIME/[.,]/} / 1000 )) -ge "$1" ]; }
chaos_after() { wait_until $(($1 + 1)) chaos_past $((chaos_last_ms + $1 * 1000)); }

# chaos_victim ID: wait (up to 5 s) until ID runs a slow task, so that a
# kill or freeze leaves a claim behind to be taken over.
chaos_victim() {
    wait_until 5 chaos_busy "$1" || echo "# $1 was not running a slow task when disrupted"
}

# chaos_save_events: write the timeline into chaos_events.
chaos_save_events() {
    local ev values=
    for ev in "${chaos_events[@]}"; do
        set -- $ev
        values+="${values:+,}(to_timestamp($1), '$2', nullif('${3:-}', ''))"
    done
    q "INSERT INTO chaos_events (at, kind, instance) VALUES $values" >/dev/null
}

# chaos_live_ids: the ids with a live incarnation, as a SQL array literal.
chaos_live_ids() {
    local id out=
    for id in "${!chaos_pid[@]}"; do out+="${out:+,}$id"; done
    printf '{%s}' "$out"
}

# --- what the checks read ---------------------------------------------------

# chaos_views: once everything has stopped, materialise what the checks
# read (the data no longer changes): outages, each run with the moment its
# claim ended, and each job's states over time.
chaos_views() {
    q "
    CREATE FUNCTION chaos_t(timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS
        \$\$ SELECT to_char(\$1 AT TIME ZONE 'UTC', 'HH24:MI:SS.MS') \$\$;

    -- When the job could not be claimed by anyone: PostgreSQL down (until
    -- 1 s after it is back: the scheduler pauses 1 s after a database error
    -- before reconnecting), or no instance healthy (one is from 1 s after
    -- its start to its kill, except from its freeze to 1 s after its thaw).
    CREATE TABLE chaos_outage AS
    WITH pg AS (
        SELECT tstzrange(d.at, coalesce((SELECT min(u.at) FROM chaos_events u
                                          WHERE u.kind = 'pg_up' AND u.at >= d.at), 'infinity')
                               + interval '1 second') AS r
          FROM chaos_events d WHERE d.kind = 'pg_down'),
    life AS (
        SELECT s.instance, tstzrange(s.at + interval '1 second',
               coalesce((SELECT min(k.at) FROM chaos_events k WHERE k.kind = 'kill'
                          AND k.instance = s.instance AND k.at > s.at), 'infinity')) AS r
          FROM chaos_events s WHERE s.kind = 'start'),
    frozen AS (
        SELECT f.instance, tstzrange(f.at,
               coalesce((SELECT min(t.at) FROM chaos_events t WHERE t.kind = 'thaw'
                          AND t.instance = f.instance AND t.at > f.at), 'infinity')
               + interval '1 second') AS r
          FROM chaos_events f WHERE f.kind = 'freeze'),
    healthy_each AS (
        SELECT l.instance, range_agg(l.r)
               - coalesce((SELECT range_agg(f.r) FROM frozen f WHERE f.instance = l.instance),
                          '{}'::tstzmultirange) AS mr
          FROM life l GROUP BY l.instance),
    healthy AS (
        SELECT coalesce(range_agg(r), '{}'::tstzmultirange) AS mr FROM healthy_each, unnest(mr) r)
    SELECT (SELECT coalesce(range_agg(r), '{}'::tstzmultirange) FROM pg)
           + ('{(,)}'::tstzmultirange - (SELECT mr FROM healthy)) AS mr;

    -- A time moved to the end of the outage it falls in (or kept).
    CREATE FUNCTION chaos_adjusted(timestamptz) RETURNS timestamptz LANGUAGE sql STABLE AS
        \$\$ SELECT coalesce((SELECT max(upper(r)) FROM chaos_outage o, unnest(o.mr) r
                               WHERE r @> \$1), \$1) \$\$;

    -- Every run, with the moment its claim ended (the first change of the
    -- job after it that was not a renewal: its own release, or a take-over)
    -- and by whom.  A take-over is an end by another instance, or by the
    -- same id started again since the claim (its start-up closes the claims
    -- of its dead incarnation).
    CREATE TABLE chaos_claims AS
    SELECT e.id, e.job_id, j.name, j.misfire_policy, j.period, j.max_retries, e.scheduled_for,
           e.attempt, e.instance_id, e.status, e.started_at, e.finished_at,
           ce.at AS claim_end, ce.actor AS ended_by, ce.old_lease_until AS lease_until_at_end,
           e.error,
           ce.at IS NOT NULL AND (ce.actor IS DISTINCT FROM e.instance_id
               OR EXISTS (SELECT 1 FROM chaos_events s WHERE s.kind = 'start'
                           AND s.instance = e.instance_id AND s.at > e.started_at
                           AND s.at < ce.at)) AS takeover
      FROM executions e JOIN chaos_jobs j USING (job_id)
      LEFT JOIN LATERAL (
          SELECT l.at, l.actor, l.old_lease_until FROM chaos_log l
           WHERE l.job_id = e.job_id AND l.old_status = 'running' AND l.version <> l.old_version
             AND l.old_owner = e.instance_id AND l.old_sf = e.scheduled_for
             AND l.old_attempt = e.attempt AND l.at >= e.started_at
           ORDER BY l.id LIMIT 1) ce ON true
     -- A 'misfired' row records skipped fire times: it never ran.
     WHERE e.status <> 'misfired';
    CREATE INDEX ON chaos_claims (job_id, scheduled_for);

    CREATE FUNCTION chaos_run(c chaos_claims) RETURNS text LANGUAGE sql STABLE AS \$\$
        SELECT format('#%s (fire %s attempt %s) %s on %s [%s, %s)%s', c.id, chaos_t(c.scheduled_for),
                      c.attempt, c.status, c.instance_id, chaos_t(c.started_at),
                      coalesce(chaos_t(c.finished_at), 'running'),
                      CASE WHEN c.takeover THEN ' taken over by ' || coalesce(c.ended_by, 'SQL')
                           || ' at ' || chaos_t(c.claim_end) ELSE '' END) \$\$;

    -- Each job's state between two changes: from the moment the change
    -- was written (clk) to the start of the statement that made the next
    -- one (at): a claim holds its row from its start, even when it is
    -- slow to finish, so the job is not claimable by anyone meanwhile.
    CREATE TABLE chaos_states AS
    SELECT id, job_id, status, attempt, next_time, owner, lease_until, actor,
           tstzrange(clk, greatest(clk, next_at)) AS r
      FROM (SELECT l.*, lead(l.at, 1, 'infinity') OVER (PARTITION BY l.job_id ORDER BY l.id) AS next_at
              FROM chaos_log l) l;
    CREATE INDEX ON chaos_states (job_id);
    " >/dev/null
}

# chaos_check DESCRIPTION SQL: SQL lists the offences, one line each; none
# is a pass.  The first 25 are shown.
chaos_check() {
    local desc=$1 out n
    if ! out=$(q "$2" 2>&1); then
        fail "$desc" "the check's query failed:" "$out"
        return
    fi
    chaos_verdict "$desc" "$out"
}

# chaos_verdict DESCRIPTION OFFENCES: pass if OFFENCES (lines) is empty.
chaos_verdict() {
    local desc=$1 out=$2 n lines=()
    if [ -z "$out" ]; then
        pass "$desc"
        return
    fi
    n=$(printf '%s\n' "$out" | wc -l)
    mapfile -t lines < <(printf '%s\n' "$out" | head -n 25)
    [ "$n" -gt 25 ] && lines+=("... $((n - 25)) more")
    fail "$desc" "$n offending:" "${lines[@]}"
}

# The runs of a gone instance that nobody took over, one per kill or freeze.
CHAOS_SQL_FELT="
SELECT format('%s of %s at %s: none of its claims was taken over', ev.kind, ev.instance, chaos_t(ev.at))
  FROM chaos_events ev
 WHERE ev.kind IN ('kill', 'freeze')
   AND NOT EXISTS (SELECT 1 FROM chaos_claims c WHERE c.takeover AND c.instance_id = ev.instance
                     AND c.started_at < ev.at AND c.claim_end > ev.at)"

# Per (job, fire time): attempts 1..n, n <= max_retries + 1, and every
# attempt but the last ended in a way that the retry policy retries: failed,
# timed out, killed by its instance's shutdown, or abandoned (a dead or
# frozen owner's run, taken over).  'killed' on request is not retried.
CHAOS_SQL_TWICE="
WITH f AS (
    SELECT c.name, c.scheduled_for, max(c.max_retries) AS max_retries, count(*)::int AS n,
           array_agg(c.attempt ORDER BY c.attempt, c.id) AS attempts,
           array_agg(c.status IN ('failed', 'timed_out', 'abandoned')
                     OR (c.status = 'killed' AND c.error LIKE 'killed: instance % shut down %')
                     ORDER BY c.attempt, c.id) AS retryable,
           string_agg(chaos_run(c), '; ' ORDER BY c.attempt, c.id) AS runs
      FROM chaos_claims c GROUP BY c.job_id, c.name, c.scheduled_for)
SELECT format('%s fire time %s (max_retries %s): %s', name, chaos_t(scheduled_for), max_retries, runs)
  FROM f
 WHERE attempts <> ARRAY(SELECT generate_series(1, n))
    OR n > max_retries + 1
    OR false = ANY (retryable[1:n - 1])"

CHAOS_SQL_EARLY="
SELECT c.name || ': ' || chaos_run(c) FROM chaos_claims c WHERE c.started_at < c.scheduled_for"

# A run holds its job from its start to its release (finished_at), or, if
# it was taken over, to the take-over.
CHAOS_SQL_OVERLAP="
SELECT format('%s: %s overlaps %s', x.name, chaos_run(x), chaos_run(y))
  FROM chaos_claims x
  JOIN chaos_claims y ON y.job_id = x.job_id AND y.id <> x.id
   AND (x.started_at, x.id) < (y.started_at, y.id)
 WHERE y.started_at < CASE WHEN x.takeover THEN x.claim_end
                           ELSE coalesce(x.finished_at, 'infinity') END"

CHAOS_SQL_TAKEOVER="
SELECT format('%s: %s; its lease ran until %s: %s', c.name, chaos_run(c), chaos_t(c.lease_until_at_end),
              CASE WHEN t.too_early THEN 'taken over before it expired'
                   ELSE 'taken over ' || round(extract(epoch FROM c.claim_end - chaos_adjusted(c.lease_until_at_end)), 2)
                        || ' s after it expired (outages taken out)' END)
  FROM chaos_claims c, chaos_params p,
       LATERAL (SELECT
           NOT (c.claim_end > c.lease_until_at_end
                OR (c.ended_by = c.instance_id
                    AND EXISTS (SELECT 1 FROM chaos_events k WHERE k.kind = 'kill'
                                 AND k.instance = c.instance_id
                                 AND k.at > c.started_at AND k.at < c.claim_end))) AS too_early,
           c.claim_end > chaos_adjusted(c.lease_until_at_end)
                         + (p.lease_s / 3 + p.slack_s) * interval '1 second' AS too_late) t
 WHERE c.takeover AND (t.too_early OR t.too_late)"

CHAOS_SQL_LATE_RENEWAL="
SELECT format('%s: %s renewed its lease (fire %s attempt %s) at %s, %s s after it expired at %s',
              j.name, l.owner, chaos_t(l.sf), l.attempt, chaos_t(l.at),
              round(extract(epoch FROM l.at - l.old_lease_until), 2), chaos_t(l.old_lease_until))
  FROM chaos_log l JOIN chaos_jobs j USING (job_id), chaos_params p
 WHERE l.old_status = 'running' AND l.status = 'running' AND l.version = l.old_version
   AND l.at > chaos_adjusted(l.old_lease_until) + (p.lease_s / 3 + p.slack_s) * interval '1 second'"

CHAOS_SQL_FENCING="
SELECT c.name || ': ' || chaos_run(c) || CASE
         WHEN c.takeover AND c.status <> 'abandoned' THEN ': taken over, yet not recorded abandoned'
         WHEN c.status = 'abandoned' AND NOT c.takeover THEN ': abandoned, yet its claim was never taken over'
         ELSE format(': its claim ended at %s by %s, not by its own release', chaos_t(c.claim_end),
                     coalesce(c.ended_by, 'nobody')) END
  FROM chaos_claims c
 WHERE c.takeover <> (c.status = 'abandoned')
    OR (c.status NOT IN ('running', 'abandoned')
        AND (c.claim_end IS DISTINCT FROM c.finished_at OR c.ended_by IS DISTINCT FROM c.instance_id))"

# The expected fire times of the window that have no run at all, and
# whether each is the first of its gap.
CHAOS_SQL_MISSING_CTE="
WITH p AS (SELECT * FROM chaos_params),
ran AS (SELECT DISTINCT job_id, scheduled_for FROM chaos_claims),
missing AS (
    SELECT j.job_id, j.name, j.misfire_policy AS policy, j.period, to_timestamp(s) AS f,
           (j.job_id, to_timestamp(s - j.period)) IN (SELECT * FROM ran)
           OR to_timestamp(s - j.period) < p.w0 AS gap_first
      FROM chaos_jobs j, p,
           generate_series(ceil(extract(epoch FROM p.w0))::bigint, floor(extract(epoch FROM p.w1))::bigint) s
     WHERE s % j.period = 0 AND (j.job_id, to_timestamp(s)) NOT IN (SELECT * FROM ran))"

# A fire time without a run, while its job was waiting for exactly that
# fire time (attempt 1, next_time = f) in [f, f + GRACE + 1 - SLACK) outside
# outages: a claim then would have run it (CHAOS_SQL_PROMPT holds claims to
# SLACK).  Waiting for an earlier fire time (catching up), for a retry, or
# running is not waiting for f.
CHAOS_SQL_MISSED="$CHAOS_SQL_MISSING_CTE,
m AS (
    SELECT mi.*, coalesce((
             SELECT range_agg(s.r * tstzrange(mi.f, mi.f + (p.grace_s + 1 - p.slack_s) * interval '1 second'))
               FROM chaos_states s
              WHERE s.job_id = mi.job_id AND s.status = 'waiting' AND s.attempt = 1 AND s.next_time = mi.f
                AND s.r && tstzrange(mi.f, mi.f + (p.grace_s + 1 - p.slack_s) * interval '1 second')),
             '{}'::tstzmultirange) - (SELECT mr FROM chaos_outage) AS avail
      FROM missing mi, p)
SELECT format('%s (%s, every %s s): fire time %s never ran, yet the job waited for it during %s; the job then: %s',
              m.name, m.policy, m.period, chaos_t(m.f),
              (SELECT string_agg(chaos_t(lower(r)) || '..' || chaos_t(upper(r)), ', ') FROM unnest(m.avail) r),
              (SELECT string_agg(format('%s %s a%s next %s %s', chaos_t(lower(s.r)), s.status, s.attempt,
                                        chaos_t(s.next_time), coalesce(s.owner, '')), '; ' ORDER BY s.id)
                 FROM chaos_states s, p
                WHERE s.job_id = m.job_id
                  AND s.r && tstzrange(m.f - interval '4 seconds', m.f + (p.grace_s + 1) * interval '1 second')))
  FROM m WHERE NOT isempty(m.avail)"

# A due job (waiting, next_time passed: a fire time, a catch-up or a retry)
# must be claimed or rescheduled within SLACK, outside outages, from the
# start of the window to the graceful stop.
CHAOS_SQL_PROMPT="
SELECT format('%s: due at %s (%s, attempt %s), unclaimed for %s s from %s with instances healthy and the database up',
              j.name, chaos_t(s.next_time), s.status, s.attempt,
              round(extract(epoch FROM upper(x) - lower(x)), 3), chaos_t(lower(x)))
  FROM chaos_states s JOIN chaos_jobs j USING (job_id), chaos_params p,
       unnest(tstzmultirange(s.r * tstzrange(s.next_time, p.stop_at))
              - (SELECT mr FROM chaos_outage)) x
 WHERE s.status = 'waiting' AND s.next_time BETWEEN p.w0 AND p.stop_at
   AND upper(x) - lower(x) > p.slack_s * interval '1 second'"

CHAOS_SQL_MISFIRE_RULES="$CHAOS_SQL_MISSING_CTE,
g AS (
    SELECT mi.*, nx.id AS nid, nx.scheduled_for AS nsf, nx.started_at AS nstart
      FROM missing mi CROSS JOIN LATERAL (
           SELECT * FROM chaos_claims c WHERE c.job_id = mi.job_id AND c.scheduled_for > mi.f
            ORDER BY c.scheduled_for, c.attempt LIMIT 1) nx)
SELECT format('%s (%s): fire time %s skipped, but the next run #%s (fire %s) started at %s: %s', g.name, g.policy,
              chaos_t(g.f), g.nid, chaos_t(g.nsf), chaos_t(g.nstart),
              CASE WHEN g.nstart < g.f + (p.grace_s + 1) * interval '1 second'
                   THEN 'it was within the misfire grace then'
                   ELSE 'a later fire time was already due: once must run the latest' END)
  FROM g, p
 WHERE ((g.policy = 'skip' OR g.gap_first) AND g.nstart < g.f + (p.grace_s + 1) * interval '1 second')
    OR (g.policy = 'once' AND g.gap_first
        AND g.nsf <= g.nstart - (g.period + p.slack_s) * interval '1 second')"

# Skipped fire times are recorded (0009): a gap of fire times that never
# ran, after one that did, has a 'misfired' row for its first fire time,
# written by the instance that moved the job past it; and no fire time that
# ran has one.
CHAOS_SQL_MISFIRE_RECORDED="$CHAOS_SQL_MISSING_CTE,
rec AS (SELECT e.job_id, e.scheduled_for, e.id FROM executions e JOIN chaos_jobs USING (job_id)
         WHERE e.status = 'misfired')
SELECT format('%s (%s): the skipped fire times from %s have no misfired row', mi.name, mi.policy,
              chaos_t(mi.f))
  FROM missing mi, p
 WHERE mi.gap_first AND to_timestamp(extract(epoch FROM mi.f) - mi.period) >= p.w0
   AND (mi.job_id, mi.f) NOT IN (SELECT job_id, scheduled_for FROM rec)
UNION ALL
SELECT format('misfired row #%s: its fire time %s ran', r.id, chaos_t(r.scheduled_for))
  FROM rec r WHERE (r.job_id, r.scheduled_for) IN (SELECT * FROM ran)"

# chaos_report: what happened, as TAP comments.
chaos_report() {
    psql -X -A -t -q -v ON_ERROR_STOP=1 <<SQL
    SELECT '# runs per instance: ' || string_agg(instance_id || '=' || n
               || coalesce(' (' || ab || ' abandoned)', ''), ', ' ORDER BY instance_id)
      FROM (SELECT instance_id, count(*) n, nullif(count(*) FILTER (WHERE status = 'abandoned'), 0) ab
              FROM chaos_claims GROUP BY 1) x;
    SELECT '# runs by status: ' || string_agg(status || '=' || n, ', ' ORDER BY status)
      FROM (SELECT status, count(*) n FROM chaos_claims GROUP BY 1) x;
    SELECT '# misfired rows (skipped fire times recorded): ' || count(*)
      FROM executions WHERE status = 'misfired';
    SELECT format('# take-overs: %s (%s by a restarted owner), retries: %s, '
                  'max lease overrun before take-over: %s s',
                  count(*) FILTER (WHERE takeover),
                  count(*) FILTER (WHERE takeover AND ended_by = instance_id),
                  count(*) FILTER (WHERE attempt > 1),
                  round(max(extract(epoch FROM claim_end - chaos_adjusted(lease_until_at_end)))
                        FILTER (WHERE takeover AND claim_end > lease_until_at_end), 2))
      FROM chaos_claims;
    $CHAOS_SQL_MISSING_CTE
    SELECT format('# window %s..%s: fire times without a run: %s (skip: %s, once: %s)',
                  chaos_t(p.w0), chaos_t(p.w1), count(m.f),
                  count(m.f) FILTER (WHERE m.policy = 'skip'), count(m.f) FILTER (WHERE m.policy = 'once'))
      FROM p LEFT JOIN missing m ON true GROUP BY p.w0, p.w1;
    SELECT format('# start lag ms p50/p99/max: %s/%s/%s',
                  round(percentile_cont(0.5) WITHIN GROUP (ORDER BY l)),
                  round(percentile_cont(0.99) WITHIN GROUP (ORDER BY l)), round(max(l)))
      FROM (SELECT extract(epoch FROM started_at - scheduled_for) * 1000 l
              FROM chaos_claims WHERE attempt = 1) x;
    -- How long a due job waited for a claim (outages taken out): the margin
    -- the promptness check has against its slack.
    SELECT format('# due and unclaimed ms p50/p99/max: %s/%s/%s (slack %s s)',
                  round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)),
                  round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)), round(max(ms)),
                  (SELECT slack_s FROM chaos_params))
      FROM (SELECT extract(epoch FROM upper(x) - lower(x)) * 1000 ms
              FROM chaos_states s, chaos_params p,
                   unnest(tstzmultirange(s.r * tstzrange(s.next_time, p.stop_at))
                          - (SELECT mr FROM chaos_outage)) x
             WHERE s.status = 'waiting' AND s.next_time BETWEEN p.w0 AND p.stop_at) y;
SQL
}
