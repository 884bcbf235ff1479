# sched_exactly_once.sh - 4 instances, 200 jobs firing every second for
# 30 s: every (job, fire time) has exactly one successful execution, none
# missing, none doubled.
. "$TC_SRCDIR/tests/lib.sh"
plan 7

# Under ASan+UBSan every fork of the instrumented binary is several times
# slower, and two cores cannot start 200 tasks a second: the sanitizer run
# checks the same properties at a quarter of the load.
if [ "${TC_SANITIZERS:-no}" = yes ]; then
    JOBS=${TC_EXACTLY_ONCE_JOBS:-50}
else
    JOBS=${TC_EXACTLY_ONCE_JOBS:-200}
fi
SECONDS_RUN=${TC_EXACTLY_ONCE_SECONDS:-30}

"$TABLECRON" migrate >/dev/null 2>&1 || { echo "Bail out! migrate failed"; exit 1; }
q "INSERT INTO jobs (name, schedule, kind, config)
   SELECT 'every-second-' || g, '* * * * * *', 'shell', '{\"command\": \"true\"}'
     FROM generate_series(1, $JOBS) g" >/dev/null

pids=()
for i in 1 2 3 4; do
    start_bg "$TC_TMP/i$i.log" "$TABLECRON" serve --instance-id "i$i" --lease 5s --max-running 32
    pids+=("$TC_BG_PID")
done
# The window starts once every job has run at least once (start-up under a
# loaded machine may take a few seconds) and lasts SECONDS_RUN seconds.
if ! wait_sql 60 "$JOBS" "SELECT count(DISTINCT job_id) FROM executions WHERE status = 'succeeded'"; then
    echo "Bail out! the jobs did not all start within 60 s"
    exit 1
fi
t_start=$(q "SELECT extract(epoch FROM now())::bigint")
ran_long_enough() { [ "$(q "SELECT extract(epoch FROM now())::bigint - $t_start")" -ge "$SECONDS_RUN" ]; }
wait_until $((SECONDS_RUN + 30)) ran_long_enough
t_stop=$(q "SELECT extract(epoch FROM now())::bigint")
for pid in "${pids[@]}"; do kill -TERM "$pid"; done
for pid in "${pids[@]}"; do wait "$pid"; done

# The window: from the start to the last second before the stop, less a
# margin for fire times that were due but not yet claimed at the stop.
first=$((t_start + 1))
last=$((t_stop - 2))
span=$((last - first + 1))
if [ "$span" -ge $((SECONDS_RUN - 3)) ] && [ "$span" -le "$SECONDS_RUN" ]; then pass "the jobs ran for ${span} s of the ${SECONDS_RUN} s window"; else fail "the jobs ran for most of the window" "span $span s"; fi

in_window="scheduled_for BETWEEN to_timestamp($first) AND to_timestamp($last)"
is "$(q "SELECT count(*) FROM (SELECT job_id, scheduled_for FROM executions WHERE $in_window
                               GROUP BY 1, 2 HAVING count(*) FILTER (WHERE status = 'succeeded') > 1) d")" 0 \
    "no fire time succeeded twice"
is "$(q "SELECT count(*) FROM (SELECT job_id, scheduled_for, attempt FROM executions
                               GROUP BY 1, 2, 3 HAVING count(*) > 1) d")" 0 \
    "no (job, fire time, attempt) started twice"
missing=$(q "SELECT count(*) FROM jobs j CROSS JOIN generate_series($first, $last) s
              WHERE NOT EXISTS (SELECT 1 FROM executions e WHERE e.job_id = j.id
                                  AND e.scheduled_for = to_timestamp(s) AND e.status = 'succeeded')")
is "$missing" 0 "no fire time is missing ($JOBS jobs x $span s = $((JOBS * span)) runs)"
is "$(q "SELECT count(*) FROM executions WHERE status NOT IN ('succeeded') AND $in_window")" 0 \
    "every run in the window succeeded"
is "$(q "SELECT count(*) FROM (SELECT instance_id FROM executions GROUP BY 1 HAVING count(*) > $((JOBS * span / 20))) x")" 4 \
    "the work spread over all four instances"
is "$(q "SELECT count(*) FROM jobs WHERE status = 'running'")" 0 "no job is left running after the stop"

echo "# executions per instance: $(q "SELECT string_agg(instance_id || '=' || n, ' ') FROM (SELECT instance_id, count(*) n FROM executions GROUP BY 1 ORDER BY 1) x")"
echo "# start lag p50/p99/max ms: $(q "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY l)) || '/' || round(percentile_cont(0.99) WITHIN GROUP (ORDER BY l)) || '/' || round(max(l)) FROM (SELECT extract(epoch FROM started_at - scheduled_for) * 1000 l FROM executions) x")"
done_testing
