# sched_manual_shards.sh - the scheduler's side of workflows and sharded
# jobs, driven by plain SQL (the triggers of 0007/0008 are tested in
# workflows.sh and shards.sh): a @manual job waits until made due and never
# becomes done; a triggered run (scheduled_for set on a waiting row) runs
# for that fire time and records what triggered it, also on its retry; a
# shard row's runs are recorded under its job with their shard_index and
# the task is told its shard.
. "$TC_SRCDIR/tests/lib.sh"
plan 13

"$TABLECRON" migrate >/dev/null 2>&1 || tc_bail "migrate failed"

start_bg "$TC_TMP/a.log" "$TABLECRON" serve --instance-id a --lease 3s --max-poll 1s --no-api
wait_until 10 grep -q 'msg=starting' "$TC_TMP/a.log" || tc_bail "serve did not start"

# 1. @manual: never scheduled, never done; run now runs it once.
m=$(q "INSERT INTO jobs (name, schedule, kind, config) VALUES ('m', ' @Manual ', 'shell',
       '{\"command\": \"echo manual\"}') RETURNING id")
up=$(q "INSERT INTO jobs (name, schedule, kind, config) VALUES ('up', '@every 1s', 'noop', '{}')
        RETURNING id")
wait_until 10 sql_is t "SELECT count(*) >= 3 FROM executions WHERE job_id = $up"
is "$(q "SELECT status, next_time IS NULL, schedule_error IS NULL, version FROM jobs WHERE id = $m")" \
    "waiting|t|t|1" "a @manual job is left waiting without a next time (never touched)"
is "$(q "SELECT count(*) FROM executions WHERE job_id = $m")" 0 "and does not run by itself"
q "UPDATE jobs SET next_time = now(), version = version + 1 WHERE id = $m" >/dev/null
if wait_sql 10 1 "SELECT count(*) FROM executions WHERE job_id = $m AND status = 'succeeded'"; then
    pass "made due (run now), it runs once"; else fail "made due (run now), it runs once"; fi
wait_sql 10 "waiting|t" "SELECT status, next_time IS NULL FROM jobs WHERE id = $m"
is "$(q "SELECT status, next_time IS NULL, scheduled_for IS NULL FROM jobs WHERE id = $m")" \
    "waiting|t|t" "after its run it waits again, not done"

# 2. A triggered run: scheduled_for and triggered_by set on the waiting row.
# (A fire time m has not run yet: the same one would rightly not run twice.)
x=$(q "SELECT max(id) FROM executions WHERE job_id = $up
       AND scheduled_for NOT IN (SELECT scheduled_for FROM executions WHERE job_id = $m)")
xt=$(q "SELECT scheduled_for FROM executions WHERE id = $x")
q "UPDATE jobs SET next_time = now(), scheduled_for = '$xt', triggered_by = $x,
   version = version + 1 WHERE id = $m" >/dev/null
if wait_sql 10 1 "SELECT count(*) FROM executions WHERE job_id = $m AND triggered_by = $x"; then
    pass "a triggered run runs"; else fail "a triggered run runs" "$(tail -3 "$TC_TMP/a.log")"; fi
is "$(q "SELECT scheduled_for = '$xt', status IN ('running', 'succeeded') FROM executions
         WHERE job_id = $m AND triggered_by = $x")" "t|t" \
    "for the fire time of the run that triggered it, which it records"
wait_sql 10 "waiting|t|t" "SELECT status, next_time IS NULL, triggered_by IS NULL FROM jobs WHERE id = $m"
is "$(q "SELECT status, next_time IS NULL, triggered_by IS NULL FROM jobs WHERE id = $m")" \
    "waiting|t|t" "its release forgets the trigger"

# 3. A failing triggered run is retried for the same fire time, still
#    recording its trigger.
f=$(q "INSERT INTO jobs (name, schedule, kind, config, max_retries, retry_backoff_s, next_time,
         scheduled_for, triggered_by)
       VALUES ('f', '@manual', 'shell', '{\"command\": \"exit 3\"}', 1, 0, now(), '$xt', $x)
       RETURNING id")
wait_sql 15 2 "SELECT count(*) FROM executions WHERE job_id = $f AND status = 'failed'"
is "$(q "SELECT string_agg(attempt || ':' || (triggered_by = $x) || ':' || (scheduled_for = '$xt'), ' '
         ORDER BY attempt) FROM executions WHERE job_id = $f")" "1:true:true 2:true:true" \
    "its retry runs for the same fire time and keeps the trigger"
wait_sql 10 "waiting|t" "SELECT status, triggered_by IS NULL FROM jobs WHERE id = $f"
is "$(q "SELECT status, triggered_by IS NULL FROM jobs WHERE id = $f")" "waiting|t" \
    "after the last attempt it waits for the next trigger"

# 4. Shard rows: their runs are the job's, with their shard index.  (The
#    triggers of 0007 add the shard rows of a job with shards > 1; any
#    missing here are added by hand, as an operator could.)
s=$(q "INSERT INTO jobs (name, schedule, kind, config, shards) VALUES ('sh', '@manual', 'shell',
       '{\"command\": \"echo \$TABLECRON_JOB \$TABLECRON_JOB_ID \$TABLECRON_SHARD_INDEX/\$TABLECRON_SHARD_COUNT\"}', 3)
       RETURNING id")
for k in 1 2; do
    q "INSERT INTO jobs (name, schedule, kind, config, shards, shard_of, shard_index)
       SELECT name || '#$k', schedule, kind, config, shards, id, $k FROM jobs j WHERE id = $s
       AND NOT EXISTS (SELECT 1 FROM jobs WHERE shard_of = j.id AND shard_index = $k)" >/dev/null
done
q "UPDATE jobs SET next_time = now(), scheduled_for = '2030-01-01', triggered_by = $x,
   version = version + 1 WHERE $s IN (id, shard_of) AND status = 'waiting'" >/dev/null
if wait_sql 10 3 "SELECT count(*) FROM executions WHERE job_id = $s AND status = 'succeeded'"; then
    pass "the job and its shard rows all run"; else fail "the job and its shard rows all run" "$(tail -3 "$TC_TMP/a.log")"; fi
is "$(q "SELECT string_agg(shard_index || '=' || btrim(output, E'\\n'), ',' ORDER BY shard_index)
         FROM executions WHERE job_id = $s")" "0=sh $s 0/3,1=sh $s 1/3,2=sh $s 2/3" \
    "recorded under the job, each with its shard index; the task sees the job and its shard"
is "$(q "SELECT count(*) FROM executions e JOIN jobs j ON j.id = e.job_id WHERE j.shard_of = $s")" 0 \
    "nothing is recorded under a shard row's own id"
is "$(q "SELECT count(DISTINCT scheduled_for) || ' ' || count(*) FROM executions WHERE job_id = $s")" "1 3" \
    "all for the same fire time (the unique key includes the shard)"
