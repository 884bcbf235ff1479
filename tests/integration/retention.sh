# retention.sh - bounded run history: `tablecron history prune` and the
# pruning thread of serve delete exactly the executions the two limits
# (history_keep_days, history_keep_per_job) name, and nothing else: not a
# running execution, not a job's newest one, not another job's.  Then, on
# a generated table of a million executions, the listings and the pruning
# statements walk indexes (EXPLAIN), and a prune pass never holds a lock
# that makes a new execution wait.
. "$TC_SRCDIR/tests/lib.sh"
plan 29

"$TABLECRON" migrate >/dev/null 2>&1 || tc_bail "migrate failed"
count() { q "SELECT count(*) FROM executions WHERE $1"; }

# --- a small history with every case ------------------------------------------
# Ages are far from the 30-day line, so the seconds between the expected
# set and the prune do not matter.
q "INSERT INTO jobs (id, name, schedule, kind, config, status)
   SELECT i, 'job' || i, '@hourly', 'shell', '{\"command\": \"true\"}', 'paused'
   FROM generate_series(1, 6) i" >/dev/null
q "INSERT INTO executions (job_id, scheduled_for, instance_id, status, started_at, finished_at)
   -- job1: 1500 runs in the last 25 hours: 500 beyond the newest 1000
   SELECT 1, t, 'i', 'succeeded', t, t + interval '1 s'
     FROM (SELECT now() - i * interval '1 minute' AS t FROM generate_series(1, 1500) i) s
   UNION ALL -- job2: 10 runs 40 to 31 days ago: all old, the newest one stays
   SELECT 2, t, 'i', 'failed', t, t + interval '1 s'
     FROM (SELECT now() - i * interval '1 day' AS t FROM generate_series(31, 40) i) s
   UNION ALL -- job3: 5 recent runs: nothing to do
   SELECT 3, t, 'i', 'succeeded', t, t + interval '1 s'
     FROM (SELECT now() - i * interval '1 hour' AS t FROM generate_series(1, 5) i) s
   UNION ALL -- job4: 3 old runs and a newer one, all finished
   SELECT 4, t, 'i', 'succeeded', t, t + interval '1 s'
     FROM (SELECT now() - i * interval '1 day' AS t FROM generate_series(33, 35) i) s
   UNION ALL SELECT 4, now() - interval '2 days', 'i', 'succeeded', now() - interval '2 days',
                    now() - interval '2 days'
   UNION ALL -- job5: 1100 runs, 200 of them older than 30 days; both limits
   SELECT 5, t, 'i', 'succeeded', t, t + interval '1 s'
     FROM (SELECT now() - i * interval '30 minutes' AS t FROM generate_series(1, 900) i
           UNION ALL SELECT now() - interval '31 days' - i * interval '1 hour'
           FROM generate_series(1, 200) i) s" >/dev/null
# job6: an old run still running (a very long task) and an older finished one
q "INSERT INTO executions (job_id, scheduled_for, instance_id, status, started_at)
   VALUES (6, now() - interval '50 days', 'i', 'running', now() - interval '50 days')" >/dev/null
q "INSERT INTO executions (job_id, scheduled_for, instance_id, status, started_at, finished_at)
   VALUES (6, now() - interval '60 days', 'i', 'succeeded', now() - interval '60 days',
           now() - interval '60 days')" >/dev/null

# What must survive, computed apart from the implementation: the newest
# 1000 of each job, minus those that ended over 30 days ago unless newest;
# running ones always.
q "CREATE TABLE expected AS SELECT id FROM (
     SELECT e.*, row_number() OVER (PARTITION BY job_id ORDER BY started_at DESC, id DESC) AS rn
     FROM executions e) x
   WHERE status = 'running'
      OR (rn <= 1000 AND (rn = 1 OR started_at >= now() - interval '30 days'
                          OR finished_at >= now() - interval '30 days'))" >/dev/null
is "$(q "SELECT count(*) FROM executions")/$(q "SELECT count(*) FROM expected")" "2621/1908" \
    "the history has 2621 executions, 1908 of which must stay"

run_ok "history prune with both limits" "$TABLECRON" --history-keep-days 30 \
    --history-keep-per-job 1000 history prune
is "$TC_OUT" "deleted 713 executions: 213 that ended more than 30 days ago, 500 beyond the newest 1000 of their job" \
    "says how many went for each limit"
is "$(q "SELECT count(*) FROM (SELECT id FROM executions EXCEPT SELECT id FROM expected) a")" 0 \
    "nothing is kept that should have gone"
is "$(q "SELECT count(*) FROM (SELECT id FROM expected EXCEPT SELECT id FROM executions) a")" 0 \
    "nothing is deleted that should have stayed"
is "$(count "job_id = 1")/$(count "job_id = 2")/$(count "job_id = 3")/$(count "job_id = 4")/$(count "job_id = 5")/$(count "job_id = 6")" \
    "1000/1/5/1/900/1" "per job: 1000, the newest old one, all 5, the recent one, 900, the running one"
is "$(q "SELECT status FROM executions WHERE job_id = 6")" running "the old running execution is kept"
run_ok "a second prune" "$TABLECRON" --history-keep-days 30 --history-keep-per-job 1000 history prune
is "$TC_OUT" "deleted nothing: no execution ended more than 30 days ago or is beyond the newest 1000 of its job" \
    "finds nothing more to do"
run_ok "history prune with a count limit only" "$TABLECRON" --history-keep-days 0 \
    --history-keep-per-job 3 history prune
is "$(count "job_id = 1")/$(count "job_id = 3")/$(count "job_id = 6")" "3/3/1" \
    "keeps the newest 3 of each job"
run_status 2 "a negative limit is a usage error" "$TABLECRON" --history-keep-days -1 history prune
like "$TC_OUT" "history_keep_days" "naming the key"
run_ok "with both limits 0 it deletes nothing" "$TABLECRON" --history-keep-days 0 \
    --history-keep-per-job 0 history prune
like "$TC_OUT" "nothing to prune: history_keep_days and history_keep_per_job are both 0" "and says why"

# --- the thread of serve ------------------------------------------------------
q "INSERT INTO executions (job_id, scheduled_for, instance_id, status, started_at, finished_at)
   SELECT 3, t, 'i', 'failed', t, t FROM (SELECT now() - i * interval '1 day' AS t
                                          FROM generate_series(40, 44) i) s" >/dev/null
start_bg "$TC_TMP/serve1.log" "$TABLECRON" serve --no-api --history-keep-days 30 \
    --history-prune-interval 1s
serve1=$TC_BG_PID
start_bg "$TC_TMP/serve2.log" "$TABLECRON" serve --no-api --history-keep-days 30 \
    --history-prune-interval 1s
serve2=$TC_BG_PID
if wait_sql 20 3 "SELECT count(*) FROM executions WHERE job_id = 3"; then
    pass "serve prunes by itself (every 1s here)"
else
    fail "serve prunes by itself (every 1s here)" "job3 has $(count "job_id = 3")"
fi
like "$(cat "$TC_TMP/serve1.log" "$TC_TMP/serve2.log")" 'msg="run history pruned" by_age=5 by_count=0' \
    "and logs what it deleted"
is "$(cat "$TC_TMP/serve1.log" "$TC_TMP/serve2.log" | grep -c 'msg="run history pruned"')" 1 \
    "once, by one of the two instances"

# They would prune the big table below before the timed pass does.
kill -TERM "$serve1" "$serve2"
wait "$serve1" "$serve2" 2>/dev/null

# --- a million executions: indexes, and no lock that makes a run wait -----------
q "INSERT INTO jobs (id, name, schedule, kind, config, status)
   SELECT i, 'big' || i, '@hourly', 'shell', '{\"command\": \"true\"}', 'paused'
   FROM generate_series(100, 1099) i" >/dev/null
q "INSERT INTO executions (job_id, scheduled_for, instance_id, status, started_at, finished_at)
   SELECT 100 + i % 1000, t, 'i', CASE WHEN i % 997 = 0 THEN 'failed' ELSE 'succeeded' END, t, t
   FROM (SELECT i, now() - interval '40 days' + i * interval '3 s' AS t
         FROM generate_series(1, 1000000) i) s" >/dev/null
q "ANALYZE executions" >/dev/null
# plan SQL: the EXPLAIN of SQL as one line
plan_of() { q "EXPLAIN $1" | tr '\n' ' '; }
list="SELECT e.id FROM executions e JOIN jobs j ON j.id = e.job_id"
p=$(plan_of "$list ORDER BY e.started_at DESC, e.id DESC LIMIT 50")
like "$p" 'Index (Only )?Scan using executions_started_idx' "the newest-first listing walks executions_started_idx"
unlike "$p" 'Seq Scan on executions' "and never reads the whole table"
p=$(plan_of "$list WHERE e.job_id = 500 ORDER BY e.started_at DESC, e.id DESC LIMIT 50")
like "$p" 'Index (Only )?Scan using executions_job_started_idx' "one job's listing walks executions_job_started_idx"
p=$(plan_of "$list WHERE e.status = 'failed' ORDER BY e.started_at DESC, e.id DESC LIMIT 50")
like "$p" 'Index (Only )?Scan using executions_ended_badly_idx' \
    "the listing of failures (one run in a thousand) walks their own small index"
p=$(plan_of "$list WHERE e.started_at >= now() - interval '1 day' ORDER BY e.started_at DESC, e.id DESC LIMIT 50")
unlike "$p" 'Seq Scan on executions' "a time range is an index range"
started=$(date +%s%N)
"$TABLECRON" history --status failed --limit 50 >/dev/null
is "$?" 0 "history --status failed answers"
ms=$(( ($(date +%s%N) - started) / 1000000 ))
if [ "$ms" -lt 5000 ]; then pass "in ${ms} ms"; else fail "in ${ms} ms (over 5 s)"; fi

# A prune pass deleting ~280,000 rows in batches while new executions
# are inserted: no insert waits more than a moment.
# (What was older than 30 days when it started must be gone; rows that
# turn 30 days old while it runs may stay until the next pass.)
pruned_at=$(q "SELECT now()")
"$TABLECRON" --history-keep-days 30 --history-keep-per-job 0 history prune >"$TC_TMP/prune.out" 2>&1 &
prune_pid=$!
worst=0 inserted=0
while kill -0 "$prune_pid" 2>/dev/null && [ "$inserted" -lt 200 ]; do
    t0=$(date +%s%N)
    q "INSERT INTO executions (job_id, scheduled_for, instance_id, status, finished_at)
       VALUES (100, now(), 'i', 'succeeded', now())" >/dev/null
    t=$(( ($(date +%s%N) - t0) / 1000000 ))
    [ "$t" -gt "$worst" ] && worst=$t
    inserted=$((inserted + 1))
done
wait "$prune_pid"
is "$?" 0 "the big prune succeeds"
like "$(cat "$TC_TMP/prune.out")" '^deleted [0-9]+ executions: [0-9]+ that ended more than 30 days ago' \
    "and says what it deleted"
if [ "$inserted" -gt 0 ] && [ "$worst" -lt 2000 ]; then
    pass "$inserted inserts while it ran, the slowest took ${worst} ms"
else
    fail "inserts while it ran" "inserted=$inserted worst=${worst}ms"
fi
is "$(count "started_at < '$pruned_at'::timestamptz - interval '30 days'
             AND finished_at < '$pruned_at'::timestamptz - interval '30 days'
             AND EXISTS (SELECT 1 FROM executions n WHERE n.job_id = executions.job_id
                         AND n.started_at > executions.started_at)")" 0 \
    "afterwards no execution is older than 30 days but a job's newest"
