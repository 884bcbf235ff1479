# sched_basic.sh - one instance: SQL-inserted jobs, NOTIFY wake-up, timeout,
# kill, retries with backoff, misfire skip and once, paused jobs, a bad
# schedule, and a graceful stop.
. "$TC_SRCDIR/tests/lib.sh"
plan 35

"$TABLECRON" migrate >/dev/null 2>&1 || { echo "Bail out! migrate failed"; exit 1; }
# Executions with their job's name, for short queries below.
q "CREATE VIEW ex AS SELECT j.name, e.* FROM executions e JOIN jobs j ON j.id = e.job_id" >/dev/null

# add NAME SCHEDULE COMMAND [extra columns] [extra values]: a job by plain SQL
add() {
    local cols=${4:-} vals=${5:-}
    q "INSERT INTO jobs (name, schedule, kind, config $cols)
       VALUES ('$1', '$2', 'shell', jsonb_build_object('command', \$cmd\$$3\$cmd\$) $vals)
       RETURNING id"
}
count() { q "SELECT count(*) FROM ex WHERE name = '$1' ${2:+AND $2}"; }
has() { [ "$(count "$1" "${2:-}")" -ge "${3:-1}" ]; }

# The instance sleeps up to a minute: only NOTIFY can wake it early.
start_bg "$TC_TMP/a.log" "$TABLECRON" serve --instance-id a --lease 3s --max-poll 60s \
    --misfire-grace 2s --grace 10s
pid=$TC_BG_PID
wait_until 10 grep -q 'msg=starting' "$TC_TMP/a.log"

# 1. A job inserted by SQL without next_time is scheduled and runs.
id=$(add env '* * * * * *' 'echo "$TABLECRON_JOB $TABLECRON_ATTEMPT $TABLECRON_EXECUTION_ID $TABLECRON_SCHEDULED_FOR"')
if wait_until 10 has env "status = 'succeeded'"; then pass "a job inserted by SQL runs"; else fail "a job inserted by SQL runs" "$(tail -5 "$TC_TMP/a.log")"; fi
row=$(q "SELECT id, to_char(scheduled_for AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), output FROM executions WHERE job_id = $id AND status = 'succeeded' ORDER BY id LIMIT 1")
exec_id=${row%%|*}; rest=${row#*|}; sched=${rest%%|*}; output=${rest#*|}
is "$output" "env 1 $exec_id $sched" "the task sees TABLECRON_JOB, _ATTEMPT, _EXECUTION_ID, _SCHEDULED_FOR"
is "$(q "SELECT count(*) FROM executions WHERE job_id = $id AND extract(second FROM scheduled_for) <> floor(extract(second FROM scheduled_for))")" 0 \
    "fire times are whole seconds"
q "UPDATE jobs SET status = 'paused', version = version + 1 WHERE id = $id AND status = 'waiting'" >/dev/null
wait_sql 5 paused "SELECT status FROM jobs WHERE id = $id"

# 2. NOTIFY: a job due now starts at once although the instance sleeps 60 s.
t0=$(date +%s%N)
add wake '@every 1h' 'true' ', next_time' ', now()' >/dev/null
if wait_until 5 has wake "status = 'succeeded'"; then pass "a NOTIFY wakes the sleeping instance"; else fail "a NOTIFY wakes the sleeping instance"; fi
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ $ms -lt 3000 ]; then pass "it started within 3 s (${ms} ms)"; else fail "it started within 3 s" "took ${ms} ms"; fi

# 3. Timeout: the whole process group is stopped, status timed_out.
add slow '@every 1h' 'sleep 31.25 & sleep 31.25; wait' ', next_time, timeout_s' ', now(), 1' >/dev/null
if wait_until 15 has slow "status = 'timed_out'"; then pass "a run past timeout_s is timed_out"; else fail "a run past timeout_s is timed_out" "$(q "SELECT status, error FROM ex WHERE name = 'slow'")"; fi
is "$(q "SELECT error FROM ex WHERE name = 'slow'")" \
    "timed out after 1 s" "the error says so"
if wait_until 5 sh -c '! pgrep -f "sleep 31[.]25" >/dev/null'; then pass "the task's whole process group is gone"; else fail "the task's whole process group is gone"; fi
is "$(q "SELECT status, next_time > now() + interval '50 minutes' FROM jobs WHERE name = 'slow'")" "waiting|t" \
    "the job waits for its next fire time"

# 4. Kill on request: recorded as killed within a second.
add killme '@every 1h' 'sleep 60' ', next_time' ', now()' >/dev/null
wait_until 10 has killme "status = 'running'"
wait_until 5 pgrep -f 'sleep 6[0]' >/dev/null
asked=$(q "UPDATE jobs SET kill_requested_at = now() WHERE name = 'killme' RETURNING extract(epoch FROM kill_requested_at)")
if wait_until 5 has killme "status = 'killed'"; then pass "a kill request stops the run"; else fail "a kill request stops the run"; fi
took=$(q "SELECT round(extract(epoch FROM finished_at) - $asked, 3) FROM ex WHERE name = 'killme'")
if [ "$(q "SELECT $took < 1.0")" = t ]; then pass "killed within a second (${took} s)"; else fail "killed within a second" "took ${took} s"; fi
is "$(q "SELECT kill_requested_at IS NULL AND status = 'waiting' FROM jobs WHERE name = 'killme'")" t \
    "the kill request is cleared and the job waits"

# 5. Retries with doubling backoff: attempts 1, 2, 3 of the same fire time.
add flaky '@every 1h' 'exit 3' ', next_time, max_retries, retry_backoff_s' ', now(), 2, 1' >/dev/null
if wait_until 20 has flaky "attempt = 3 AND status <> 'running'"; then pass "a failing job is retried max_retries times"; else fail "a failing job is retried max_retries times" "$(q "SELECT attempt, status FROM ex WHERE name='flaky'")"; fi
is "$(q "SELECT string_agg(attempt || ':' || status || ':' || exit_code, ' ' ORDER BY attempt), count(DISTINCT scheduled_for) FROM ex WHERE name = 'flaky'")" \
    "1:failed:3 2:failed:3 3:failed:3|1" "three failed attempts of one fire time, exit code kept"
gaps=$(q "SELECT string_agg((extract(epoch FROM e2.started_at - e1.finished_at) >= d)::text, ' ' ORDER BY e1.attempt)
          FROM executions e1 JOIN executions e2 ON e2.job_id = e1.job_id AND e2.attempt = e1.attempt + 1
          JOIN jobs j ON j.id = e1.job_id, LATERAL (SELECT 1 * 2 ^ (e1.attempt - 1) - 0.01 AS d) b
         WHERE j.name = 'flaky'")
is "$gaps" "true true" "the backoff doubles: at least 1 s, then 2 s"
is "$(q "SELECT attempt, scheduled_for IS NULL, next_time > now() + interval '50 minutes' FROM jobs WHERE name = 'flaky'")" \
    "1|t|t" "after the last attempt the job goes back to its schedule"

# 6. Misfires: fire times missed for ten hours.
add skipper '@every 1h' 'true' ', next_time, misfire_policy' ", now() - interval '10 hours 30 minutes', 'skip'" >/dev/null
add catcher '@every 1h' 'true' ', next_time, misfire_policy' ", now() - interval '10 hours 30 minutes', 'once'" >/dev/null
if wait_until 10 has catcher "status = 'succeeded'"; then pass "misfire once: one catch-up run"; else fail "misfire once: one catch-up run"; fi
wait_sql 10 t "SELECT next_time > now() FROM jobs WHERE name = 'skipper'"
is "$(count skipper "status <> 'misfired'")" 0 "misfire skip: the missed fire times do not run"
is "$(q "SELECT round(extract(epoch FROM next_time - now()) / 60) FROM jobs WHERE name = 'skipper'")" 30 \
    "misfire skip: next fire time is the next one of the schedule"
is "$(count catcher "status <> 'misfired'") $(q "SELECT round(extract(epoch FROM now() - scheduled_for) / 60) FROM ex WHERE name = 'catcher' AND status <> 'misfired'")" \
    "1 30" "misfire once: exactly one run, for the latest missed fire time"
like "$(q "SELECT string_agg(name || ':' || round(extract(epoch FROM now() - scheduled_for) / 60) || ':'
         || (started_at = finished_at) || ':' || error, ' | ' ORDER BY name)
         FROM ex WHERE status = 'misfired'")" \
    '^catcher:630:true:missed 10 fire times from [0-9-]+T[0-9:]+Z: no instance started them within the misfire grace \(misfire_policy once\) [|] skipper:630:true:missed 11 fire times from [0-9-]+T[0-9:]+Z: no instance started them within the misfire grace \(misfire_policy skip\)$' \
    "each job's skipped fire times are recorded once, as a misfired execution of the first"
like "$(cat "$TC_TMP/a.log")" 'msg="skipped missed fire times" .*skipped=1[01] .*policy=skip' "the skipped fire times are logged"

# 7. A paused job never runs, while others keep running.
add paused '* * * * * *' 'true' ', status, next_time' ", 'paused', now()" >/dev/null
add ticker '* * * * * *' 'true' >/dev/null
wait_until 10 has ticker "status = 'succeeded'" 3
is "$(count paused)" 0 "a paused job does not run"

# 8. A bad schedule inserted by SQL is reported in the row, not run.
add broken '0 0 30 2 * *' 'true' >/dev/null
if wait_sql 10 t "SELECT schedule_error IS NOT NULL FROM jobs WHERE name = 'broken'"; then pass "a bad schedule is recorded in schedule_error"; else fail "a bad schedule is recorded in schedule_error"; fi
like "$(q "SELECT schedule_error FROM jobs WHERE name = 'broken'")" '^schedule: .* at [0-9]+$' "with the position"
q "UPDATE jobs SET schedule = '@every 1h', next_time = now() WHERE name = 'broken'" >/dev/null
if wait_until 10 has broken "status = 'succeeded'"; then pass "fixing the schedule clears the error and the job runs"; else fail "fixing the schedule clears the error and the job runs"; fi

# 9. Graceful stop: a running task may finish within the grace period.
q "UPDATE jobs SET status = 'paused', version = version + 1 WHERE name = 'ticker'" >/dev/null
add last '@every 1h' 'sleep 1; echo finished' ', next_time' ', now()' >/dev/null
wait_until 10 has last "status = 'running'"
kill -TERM "$pid"
wait "$pid"
is "$?" 0 "SIGTERM: serve exits 0 after its task finished"
is "$(q "SELECT status, output FROM ex WHERE name = 'last'")" \
    "succeeded|finished" "the task ran to its end within the grace period"
is "$(q "SELECT count(*) FROM jobs WHERE status = 'running'") $(q "SELECT count(*) FROM executions WHERE status = 'running'")" \
    "0 0" "nothing is left running"
like "$(cat "$TC_TMP/a.log")" 'no longer claiming' "the stop is logged"

# ... and past the grace period it is killed, recorded and released.
start_bg "$TC_TMP/b.log" "$TABLECRON" serve --instance-id b --lease 3s --grace 1s
pid=$TC_BG_PID
add long '@every 1h' 'sleep 60' ', next_time' ', now()' >/dev/null
wait_until 10 has long "status = 'running'"
kill -TERM "$pid"
wait "$pid"
is "$(q "SELECT x.status, x.error LIKE 'killed: instance b shut down%', j.status FROM ex x JOIN jobs j ON j.id = x.job_id WHERE x.name = 'long'")" \
    "killed|t|waiting" "past the grace the task is killed, recorded, and the job released"

# 10. Many tasks at once: every task's output and exit are watched, so 40
# long tasks do not delay the end of short ones.
q "UPDATE jobs SET status = 'paused', version = version + 1 WHERE status = 'waiting'" >/dev/null
q "INSERT INTO jobs (name, schedule, kind, config, next_time)
   SELECT 'hold-' || g, '@every 1h', 'shell', '{\"command\": \"sleep 30.75\"}', now()
     FROM generate_series(1, 40) g" >/dev/null
start_bg "$TC_TMP/c.log" "$TABLECRON" serve --instance-id c --lease 3s --max-running 64 --grace 0s
pid=$TC_BG_PID
wait_sql 20 40 "SELECT count(*) FROM ex WHERE name LIKE 'hold-%' AND status = 'running'"
add quick '@every 1h' 'echo quick' ', next_time' ', now()' >/dev/null
wait_sql 10 1 "SELECT count(*) FROM ex WHERE name = 'quick' AND status = 'succeeded'"
is "$(q "SELECT finished_at - started_at < interval '1 second' FROM ex WHERE name = 'quick'")" t \
    "a short task beside 40 long ones ends at once"

# 11. The output of a running task reaches its row while it runs (the pages
# and `history show` follow it), and the whole output when it ends.
add follow '@every 1h' 'echo first line; sleep 2; echo second line; sleep 30' ', next_time' ', now()' >/dev/null
if wait_until 10 has follow "status = 'running' AND output = E'first line\\n'"; then
    pass "a running task's output so far is in its row"
else fail "a running task's output so far is in its row" "$(q "SELECT status, output FROM ex WHERE name = 'follow'")"; fi
if wait_until 10 has follow "status = 'running' AND output = E'first line\\nsecond line\\n'"; then
    pass "and grows as the task writes"
else fail "and grows as the task writes" "$(q "SELECT status, output FROM ex WHERE name = 'follow'")"; fi
q "UPDATE jobs SET kill_requested_at = now() WHERE name = 'follow'" >/dev/null
wait_until 10 has follow "status = 'killed'"
is "$(q "SELECT output FROM ex WHERE name = 'follow'")" "first line
second line" "the ended row keeps the whole output"
kill -TERM "$pid"
wait "$pid"

done_testing
