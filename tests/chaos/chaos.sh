# chaos.sh - four instances under a steady every-second load while they are
# killed (-9), frozen past their lease (SIGSTOP/SIGCONT) and restarted, and
# PostgreSQL is restarted twice (once cleanly, once as a crash).  Afterwards
# the executions table (with the jobs change log of chaos_lib.sh for the
# exact moments claims ended) must show what DESIGN.md promises:
#
#   - a fire time is started once: per (job, fire time) the attempts are
#     1..n, each one after the first follows a failed or abandoned one, and
#     n <= max_retries + 1 (a run abandoned by a dead owner is re-run only as
#     the retry policy allows);
#   - no run starts before its fire time;
#   - a job never overlaps itself: no run of a job starts while another run
#     of it holds its claim.  A run abandoned by a dead or frozen owner holds
#     the claim until it is taken over, not until its finished_at: its task
#     may really have gone on (a frozen instance's child keeps running, and
#     is killed when the instance wakes and finds its lease lost), which
#     the design does not prevent; what it promises is that nobody else
#     starts the job before the lease has expired (fencing, not mutual
#     exclusion of processes);
#   - take-overs happen only after the lease expired (or when the owner's
#     id was restarted after a kill -9: its start-up closes its dead
#     incarnation's claims at once), and within lease/3 (the reap period)
#     plus SLACK of the expiry, outside outages; a run that was taken over
#     is recorded abandoned, never as the job's result (fencing);
#   - a due job (its fire time, a catch-up or a retry come) is claimed, or
#     its missed fire times skipped, within SLACK while the database is up
#     and an instance healthy: the time allowed for a claim round on a busy
#     machine;
#   - no fire time is missed while its job could have run it.  An instance
#     skips a fire time f only when it decides at a time t with floor(t) -
#     f > GRACE (misfire_grace, whole seconds), i.e. t >= f + GRACE + 1.  So
#     a fire time f with no run is allowed only if during [f, f + GRACE + 1
#     - SLACK) the job never waited for f itself (status waiting, attempt
#     1, next_time = f) while the database was up and an instance healthy:
#     the job was held by a run (a healthy one, or a dead or frozen owner's,
#     whose take-over is held to its own deadline above), was catching up
#     an earlier fire time or waiting for a retry (which the promptness
#     check above keeps short), or there was an outage.  And a fire time
#     that was skipped must have been more than GRACE late when its job was
#     next claimed; after a gap, misfire_policy 'once' must run the latest
#     fire time due;
#   - every job has succeeded runs after the last disruption;
#   - after a settle period with healthy instances only, nothing is left
#     running for an instance that is gone, and after a graceful stop,
#     nothing is running at all.
#
# Outages: from pg_down to pg_up + 1 s (the scheduler's pause after a
# database error before it reconnects), and any time no instance is healthy
# (an instance is healthy from 1 s after its start until it is killed,
# except from its freeze until 1 s after its thaw).  The timeline below
# always keeps two instances healthy.
#
# Settings (environment): TC_CHAOS_LEASE (3 s), TC_CHAOS_GRACE (the misfire
# grace: 1 s, short so that take-overs cause misfires), TC_CHAOS_SLACK (1 s;
# 1.5 s under sanitizers; less than GRACE + 1).  Measured on 2 busy cores:
# due jobs wait at most about 0.2 s for a claim.  TC_CHAOS_DUMP=FILE
# keeps the database and the logs for a look afterwards.
. "$TC_SRCDIR/tests/lib.sh"
. "$TC_SRCDIR/tests/chaos/chaos_lib.sh"
plan 14

if [ "${TC_SANITIZERS:-no}" = yes ]; then
    CHAOS_GRACE=${TC_CHAOS_GRACE:-1}
    CHAOS_SLACK=${TC_CHAOS_SLACK:-1.5}
else
    CHAOS_GRACE=${TC_CHAOS_GRACE:-1}
    CHAOS_SLACK=${TC_CHAOS_SLACK:-1}
fi
CHAOS_LEASE=${TC_CHAOS_LEASE:-3}
CHAOS_MAX_RUNNING=16

[ "$(q 'SHOW server_version_num')" -ge 140000 ] ||
    tc_bail "the chaos checks need PostgreSQL 14 or newer (multiranges)"
"$TABLECRON" migrate >/dev/null 2>&1 || tc_bail "migrate failed"
chaos_setup
q "CREATE TABLE chaos_params AS SELECT $CHAOS_LEASE::numeric AS lease_s,
     $CHAOS_GRACE::numeric AS grace_s, $CHAOS_SLACK::numeric AS slack_s,
     NULL::timestamptz AS w0, NULL::timestamptz AS w1, NULL::timestamptz AS stop_at" >/dev/null

# 40 jobs, about 30 runs a second: every-second ones (half a second long,
# so that a kill or freeze often catches them, under both misfire
# policies, and instant ones), slow ones (1-3 s, longer than the renewal
# period), ones that fail their first attempt, and retried ones.
q "INSERT INTO jobs (name, schedule, kind, config, misfire_policy, max_retries, retry_backoff_s)
   SELECT v.prefix || '-' || g, v.sched, 'shell', jsonb_build_object('command', v.cmd), v.policy, v.retries, 0
     FROM (VALUES ('true',       '* * * * * *',   'true',      'skip', 0, 8),
                  ('sec-skip',   '* * * * * *',   'sleep 0.5', 'skip', 0, 6),
                  ('sec-once',   '* * * * * *',   'sleep 0.5', 'once', 0, 6),
                  ('fail-first', '*/2 * * * * *', '[ \"\$TABLECRON_ATTEMPT\" -gt 1 ]', 'skip', 2, 4),
                  ('slow-1s',    '*/2 * * * * *', 'sleep 1',   'skip', 2, 4),
                  ('slow-1.5s',  '*/3 * * * * *', 'sleep 1.5', 'skip', 0, 6),
                  ('slow-2.5s',  '*/4 * * * * *', 'sleep 2.5', 'once', 0, 4),
                  ('slow-3s',    '*/5 * * * * *', 'sleep 3',   'skip', 1, 2))
          AS v(prefix, sched, cmd, policy, retries, n),
          generate_series(1, v.n) g" >/dev/null
njobs=$(q "SELECT count(*) FROM jobs")

for id in i1 i2 i3 i4; do chaos_start "$id"; done
if ! wait_sql 60 "$njobs" "SELECT count(DISTINCT job_id) FROM executions WHERE status = 'succeeded'"; then
    tc_bail "the jobs did not all run within 60 s of the start"
fi
q "UPDATE chaos_params SET w0 = date_trunc('second', now()) + interval '1 second'" >/dev/null

# --- the disruptions ------------------------------------------------------
# Each kill or freeze first waits (up to 5 s) for its victim to be running
# a slow task, so that it leaves a claim behind to be taken over; the pauses
# count from the previous event.
chaos_after 3; chaos_victim i1; chaos_kill i1
chaos_after 1; chaos_start i1                # same id, before its leases ran out: its
                                             # start-up closes its dead incarnation's claims
chaos_after 3; chaos_victim i2; chaos_freeze i2
chaos_after 6; chaos_thaw i2                 # frozen for two leases
chaos_after 3; chaos_pg_restart fast || tc_bail "PostgreSQL did not restart"
chaos_after 5; chaos_victim i3; chaos_kill i3
               chaos_victim i4; chaos_freeze i4  # two down at once: i1 and i2 carry the load
chaos_after 6; chaos_start i3b               # a replacement with a new id; i3 stays dead
               chaos_thaw i4
chaos_after 3; chaos_victim i2; chaos_kill i2
chaos_after 1; chaos_pg_restart immediate || tc_bail "PostgreSQL did not restart after a crash"
chaos_after 5; chaos_start i2                # same id, long after its claims were taken over
chaos_after 4
chaos_save_events
echo "# timeline (s after the window's start):"
q "SELECT '#   ' || to_char(extract(epoch FROM c.at - p.w0), 'FM990.00') || ' ' || c.kind
            || coalesce(' ' || c.instance, '')
     FROM chaos_events c, chaos_params p ORDER BY c.seq"

# --- settle ---------------------------------------------------------------
# Every claim of a gone instance expires within a lease and is taken over
# within lease/3 after: then nothing may be running for an instance that is
# not alive, and every running execution is its job's current claim.
live=$(chaos_live_ids)
leftovers="SELECT 'job ' || name || ' running for ' || lease_owner || ' until ' || lease_until
             FROM jobs WHERE status = 'running' AND lease_owner <> ALL ('$live')
           UNION ALL
           SELECT 'execution ' || e.id || ' (' || j.name || ' ' || e.scheduled_for || ' attempt ' || e.attempt
                  || ') running on ' || e.instance_id
             FROM executions e JOIN jobs j ON j.id = e.job_id
            WHERE e.status = 'running'
              AND (e.instance_id <> ALL ('$live')
                   OR (j.status, j.lease_owner, j.scheduled_for, j.attempt)
                      IS DISTINCT FROM ('running', e.instance_id, e.scheduled_for, e.attempt))"
no_leftovers() { [ -z "$(q "$leftovers")" ]; }
settle=$(( CHAOS_LEASE * 2 + 7 ))
wait_until "$settle" no_leftovers
chaos_verdict "after settling, nothing is left running for a gone instance (live: $live)" "$(q "$leftovers")"

# Every job runs again after the last disruption.
last=$(q "SELECT max(at) FROM chaos_events")
not_resumed="SELECT name FROM jobs j WHERE NOT EXISTS (SELECT 1 FROM executions e WHERE e.job_id = j.id
               AND e.status = 'succeeded' AND e.started_at > '$last') ORDER BY name"
wait_until 20 sql_is "" "$not_resumed"
chaos_verdict "every job succeeded again after the last disruption" "$(q "$not_resumed")"

# --- graceful stop --------------------------------------------------------
stop_at=$(q "SELECT now()")
chaos_stop_all
chaos_verdict "after a graceful stop of the survivors nothing is running" \
    "$(q "SELECT 'job ' || name || ' running for ' || lease_owner FROM jobs WHERE status = 'running'
          UNION ALL
          SELECT 'execution ' || id || ' running on ' || instance_id
            FROM executions WHERE status = 'running'")"

# Fire times up to GRACE + SLACK + 1 s before the stop must have been decided.
q "UPDATE chaos_params SET stop_at = '$stop_at', w1 = date_trunc('second', '$stop_at'::timestamptz)
     - (grace_s + slack_s + 1) * interval '1 second'" >/dev/null
chaos_views

# --- the checks -------------------------------------------------------------
chaos_check "the disruptions were felt: every kill and freeze left a claim that was taken over" \
    "$CHAOS_SQL_FELT"
desc="no fire time ran twice (attempts 1..n; retries only after a failed, timed-out, shut-down"
chaos_check "$desc or abandoned run, at most max_retries)" "$CHAOS_SQL_TWICE"
chaos_check "no run started before its fire time" \
    "$CHAOS_SQL_EARLY"
chaos_check "no job overlapped itself (a taken-over run holds its claim until the take-over)" \
    "$CHAOS_SQL_OVERLAP"
chaos_check "take-overs only after the lease expired (or the killed owner restarted), within lease/3 + ${CHAOS_SLACK} s of it" \
    "$CHAOS_SQL_TAKEOVER"
chaos_check "no expired lease was renewed later than a take-over was due" \
    "$CHAOS_SQL_LATE_RENEWAL"
chaos_check "fencing: a taken-over run is recorded abandoned, every other run ends with its own release" \
    "$CHAOS_SQL_FENCING"
chaos_check "a due job was claimed within ${CHAOS_SLACK} s while the database was up and an instance healthy" \
    "$CHAOS_SQL_PROMPT"
chaos_check "no fire time missed while its job waited for it (misfire grace ${CHAOS_GRACE} s, slack ${CHAOS_SLACK} s)" \
    "$CHAOS_SQL_MISSED"
chaos_check "skipped fire times were more than the misfire grace late, and 'once' ran the latest" \
    "$CHAOS_SQL_MISFIRE_RULES"
chaos_check "skipped fire times are recorded: a misfired row at the first of each gap, none for a fire time that ran" \
    "$CHAOS_SQL_MISFIRE_RECORDED"

chaos_report
# To look at a run afterwards: TC_CHAOS_DUMP=FILE keeps the database (pg_dump -Fc).
if [ -n "${TC_CHAOS_DUMP:-}" ]; then
    pg_dump -Fc -f "$TC_CHAOS_DUMP" || echo "# pg_dump to $TC_CHAOS_DUMP failed"
    cp "$TC_PGDIR/server.log" "$TC_CHAOS_DUMP.server.log"
    cat "$TC_TMP"/i*.log >"$TC_CHAOS_DUMP.instances.log"
fi
done_testing
