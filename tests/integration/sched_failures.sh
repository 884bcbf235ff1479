# sched_failures.sh - an instance killed with -9, an instance frozen past its
# lease, and PostgreSQL restarted under running instances.
. "$TC_SRCDIR/tests/lib.sh"
plan 17

"$TABLECRON" migrate >/dev/null 2>&1 || { echo "Bail out! migrate failed"; exit 1; }
q "CREATE VIEW ex AS SELECT j.name, e.* FROM executions e JOIN jobs j ON j.id = e.job_id" >/dev/null
serve() { start_bg "$TC_TMP/$1.log" "$TABLECRON" serve --instance-id "$1" --lease 3s --max-poll 2s "${@:2}"; }
alive() { kill -0 "$1" 2>/dev/null; }

# --- kill -9 of the instance running a 20 s task ----------------------------
serve k1
k1=$TC_BG_PID
wait_until 10 grep -q 'msg=starting' "$TC_TMP/k1.log"
q "INSERT INTO jobs (name, schedule, kind, config, next_time)
   VALUES ('crash', '@every 1h', 'shell', '{\"command\": \"sleep 20.5\"}', now())" >/dev/null
wait_sql 10 1 "SELECT count(*) FROM ex WHERE name = 'crash' AND status = 'running'"
wait_until 5 pgrep -f 'sleep 20[.]5'
fire=$(q "SELECT extract(epoch FROM scheduled_for)::bigint FROM ex WHERE name = 'crash'")
serve k2
k2=$TC_BG_PID
kill -KILL "$k1"
if wait_until 5 sh -c '! pgrep -f "sleep 20[.]5" >/dev/null'; then pass "the dead instance's task dies with it"; else fail "the dead instance's task dies with it"; fi
if wait_sql 15 abandoned "SELECT status FROM ex WHERE name = 'crash'"; then pass "after the lease expired the dead run is recorded abandoned"; else fail "the dead run is recorded abandoned" "$(q "SELECT status, instance_id FROM ex WHERE name = 'crash'")"; fi
like "$(q "SELECT error FROM ex WHERE name = 'crash'")" 'instance k1 stopped renewing its lease' "the error names the dead instance"
is "$(q "SELECT status, lease_owner IS NULL, extract(epoch FROM next_time)::bigint - $fire FROM jobs WHERE name = 'crash'")" \
    "waiting|t|3600" "the job keeps its schedule (next fire time one hour after the dead one)"
like "$(cat "$TC_TMP/k2.log")" 'took over a job .*dead_owner=k1' "the take-over is logged by the survivor"

# --- kill -STOP past the lease, then -CONT: fencing ---------------------------
# Attempt 1 sleeps long; the retry (attempt 2, no backoff) is quick.
q "INSERT INTO jobs (name, schedule, kind, config, max_retries, retry_backoff_s)
   VALUES ('frozen', '@every 1h', 'shell',
   '{\"command\": \"if [ \$TABLECRON_ATTEMPT = 1 ]; then sleep 30.5; echo late; else echo second; fi\"}', 1, 0)" >/dev/null
kill -TERM "$k2"; wait "$k2"
serve f1
f1=$TC_BG_PID
wait_until 10 grep -q 'msg=starting' "$TC_TMP/f1.log"
q "UPDATE jobs SET next_time = now() WHERE name = 'frozen'" >/dev/null
wait_sql 10 1 "SELECT count(*) FROM ex WHERE name = 'frozen' AND status = 'running'"
wait_until 5 pgrep -f 'sleep 30[.]5'
kill -STOP "$f1"
serve f2
f2=$TC_BG_PID
if wait_sql 20 succeeded "SELECT status FROM ex WHERE name = 'frozen' AND attempt = 2"; then pass "a second instance takes over the frozen one's job and runs the retry"; else fail "the frozen instance's job is taken over" "$(q "SELECT attempt, status, instance_id FROM ex WHERE name = 'frozen'")"; fi
after_takeover=$(q "SELECT version, status, lease_owner, next_time FROM jobs WHERE name = 'frozen'")
second_row=$(q "SELECT id, status, output, instance_id, finished_at FROM ex WHERE name = 'frozen' AND attempt = 2")
kill -CONT "$f1"
if wait_until 10 grep -q 'lease lost, killing the task\|lease lost: result recorded as abandoned' "$TC_TMP/f1.log"; then pass "the frozen instance discovers it lost the lease"; else fail "the frozen instance discovers it lost the lease" "$(tail -5 "$TC_TMP/f1.log")"; fi
if wait_until 10 sh -c '! pgrep -f "sleep 30[.]5" >/dev/null'; then pass "it kills its task"; else fail "it kills its task"; fi
wait_until 10 grep -q 'lease lost: result recorded as abandoned' "$TC_TMP/f1.log"
is "$(q "SELECT version, status, lease_owner, next_time FROM jobs WHERE name = 'frozen'")" "$after_takeover" \
    "its late result does not change the job"
is "$(q "SELECT id, status, output, instance_id, finished_at FROM ex WHERE name = 'frozen' AND attempt = 2")" "$second_row" \
    "nor the new owner's execution row"
is "$(q "SELECT status, instance_id FROM ex WHERE name = 'frozen' AND attempt = 1")" "abandoned|f1" \
    "its own run is recorded abandoned"
is "$(q "SELECT count(*) FROM ex WHERE name = 'frozen'")" 2 "no third run"
kill -TERM "$f1" "$f2"; wait "$f1"; wait "$f2"

# --- PostgreSQL restarted under two busy instances ---------------------------
q "UPDATE jobs SET status = 'paused', version = version + 1 WHERE status = 'waiting'" >/dev/null
q "INSERT INTO jobs (name, schedule, kind, config)
   SELECT 'tick-' || g, '* * * * * *', 'shell', '{\"command\": \"true\"}' FROM generate_series(1, 20) g" >/dev/null
serve r1 --misfire-grace 20s
r1=$TC_BG_PID
serve r2 --misfire-grace 20s
r2=$TC_BG_PID
wait_sql 20 t "SELECT count(*) >= 60 FROM ex WHERE name LIKE 'tick-%'"
pg_stop
pg_start
restarted=$(q "SELECT extract(epoch FROM now())::bigint")
wait_sql 30 t "SELECT count(*) = 20 FROM (SELECT job_id FROM ex WHERE name LIKE 'tick-%' AND status = 'succeeded' AND scheduled_for > to_timestamp($restarted + 3) GROUP BY 1) x"
alive "$r1" && alive "$r2" && pass "both instances survive the restart" || fail "both instances survive the restart"
like "$(cat "$TC_TMP/r1.log" "$TC_TMP/r2.log")" 'reconnected to database' "they reconnect by themselves"
kill -TERM "$r1" "$r2"; wait "$r1"; wait "$r2"
range=$(q "SELECT min(f) || ' ' || max(l) FROM (SELECT min(extract(epoch FROM scheduled_for))::bigint f, max(extract(epoch FROM scheduled_for))::bigint l FROM ex WHERE name LIKE 'tick-%' GROUP BY job_id) x")
first=${range% *}; last=$(( ${range#* } - 1 ))
is "$(q "SELECT count(*) FROM (SELECT job_id, scheduled_for FROM ex WHERE name LIKE 'tick-%' AND status = 'succeeded' GROUP BY 1, 2 HAVING count(*) > 1) d")" 0 \
    "no fire time ran twice across the restart"
is "$(q "SELECT count(*) FROM jobs j CROSS JOIN generate_series($first, $last) s WHERE j.name LIKE 'tick-%'
          AND NOT EXISTS (SELECT 1 FROM executions e WHERE e.job_id = j.id AND e.scheduled_for = to_timestamp(s) AND e.status = 'succeeded')")" 0 \
    "no fire time was lost across the restart ($((last - first + 1)) s, misfire grace 20 s)"
is "$(q "SELECT count(*) FROM executions WHERE status = 'running'")" 0 "nothing is left running"

done_testing
