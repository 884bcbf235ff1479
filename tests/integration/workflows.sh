# workflows.sh - job dependencies (0008_dependencies.sql, job_deps.c,
# api_workflows.c, the workflow page) end to end:
#
#   sql        the database alone, a scheduler's statements written by hand:
#              a chain triggers the next job for the same fire time, not
#              before the last retry, a busy job's trigger waits and starts
#              at its release, two upstream jobs of a fan-in ending at once
#              in two transactions trigger it exactly once, a paused job is
#              skipped, a run ended by hand counts, cycles and shard rows
#              are refused by plain SQL
#   instances  three `tablecron serve`: a chain wf-a -> wf-b -> wf-c and a
#              fan-in wf-d (after wf-b and wf-c) run in order, exactly once
#              per fire time of wf-a over several fire times, each run
#              recording the run that triggered it
#   conditions failure and always edges, after the upstream job's retries;
#              a paused downstream job is skipped
#   cycles     refused by the command line and the API, the cycle named
#   API        read as viewer, change as manager of the job's department
#              and viewer of the upstream job's; jobs of other departments
#              hidden in the graph
#   page       with chromium, tests/browser/workflows.test.mjs draws the
#              graph and sets a dependency in the job editor
. "$TC_SRCDIR/tests/lib.sh"
. "$TC_SRCDIR/tests/api_lib.sh"
api_need_tools

"$TABLECRON" migrate >/dev/null 2>&1 || tc_bail "migrate failed"
api_fixtures # departments A (11) and B (12), users with tokens tok-LOGIN
q "DELETE FROM alert_rules; DELETE FROM alert_channels; DELETE FROM jobs" >/dev/null

cli() { "$TABLECRON" "$@" >>"$TC_TMP/cli.out" 2>&1 || tc_bail "tablecron $*: $(tail -n 3 "$TC_TMP/cli.out")"; }
job_id() { q "SELECT id FROM jobs WHERE name = '$1'"; }
# Rows as one line: "a|b c|d".
rows() { q "$1" | tr '\n' ' ' | sed 's/ $//'; }

# --- sql: the database alone ---------------------------------------------------------------
# A scheduler's claim and release, as claim.c writes them (the release ends
# the execution and moves the job in one statement, in a session that set
# tablecron.instance).
q "CREATE SCHEMA wftest;
CREATE FUNCTION wftest.claim(job text, fire timestamptz DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS \$\$
DECLARE r jobs; x bigint;
BEGIN
    PERFORM set_config('tablecron.instance', 'test', true);
    UPDATE jobs SET status = 'running', lease_owner = 'test', lease_until = now() + interval '1 hour',
           version = version + 1, scheduled_for = coalesce(scheduled_for, fire)
     WHERE name = job AND status = 'waiting' RETURNING * INTO r;
    INSERT INTO executions (job_id, scheduled_for, attempt, instance_id, triggered_by, shard_index)
    VALUES (coalesce(r.shard_of, r.id), r.scheduled_for, r.attempt, 'test', r.triggered_by,
            r.shard_index) RETURNING id INTO x;
    PERFORM set_config('tablecron.instance', '', true);
    RETURN x;
END \$\$;
CREATE FUNCTION wftest.release(job text, st text, retry boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql AS \$\$
BEGIN
    PERFORM set_config('tablecron.instance', 'test', true);
    WITH j AS (
        UPDATE jobs SET status = 'waiting', lease_owner = NULL, lease_until = NULL,
               version = version + 1, next_time = CASE WHEN retry THEN now() END,
               attempt = CASE WHEN retry THEN attempt + 1 ELSE 1 END,
               scheduled_for = CASE WHEN retry THEN scheduled_for END,
               triggered_by = CASE WHEN retry THEN triggered_by END
         WHERE name = job AND status = 'running' RETURNING id)
    UPDATE executions x SET status = st, finished_at = now()
      FROM jobs o WHERE o.name = job AND x.job_id = o.id AND x.scheduled_for = o.scheduled_for
       AND x.attempt = o.attempt AND x.status = 'running' AND EXISTS (SELECT 1 FROM j);
    PERFORM set_config('tablecron.instance', '', true);
END \$\$;
CREATE FUNCTION wftest.dep(up text, down text, cond text DEFAULT 'success') RETURNS void
LANGUAGE sql AS \$\$
    INSERT INTO job_dependencies (downstream_id, upstream_id, condition)
    SELECT d.id, u.id, cond FROM jobs d, jobs u WHERE d.name = down AND u.name = up
\$\$;
-- How a job waits: status, fire time (HH:MI), what triggered it, due.
CREATE FUNCTION wftest.state(job text) RETURNS text LANGUAGE sql AS \$\$
    SELECT status || ' ' || coalesce(to_char(scheduled_for AT TIME ZONE 'UTC', 'HH24:MI'), '-')
           || ' ' || coalesce(triggered_by::text, '-') || ' '
           || CASE WHEN next_time <= now() THEN 'due' ELSE 'idle' END
      FROM jobs WHERE name = job
\$\$;
INSERT INTO jobs (name, schedule, kind)
SELECT n, '@manual', 'noop' FROM unnest('{x,y,w,v,b1,b2,f,m,n,h,k}'::text[]) n;
SELECT wftest.dep('x', 'y'), wftest.dep('x', 'w', 'failure'), wftest.dep('x', 'v', 'always'),
       wftest.dep('b1', 'f'), wftest.dep('b2', 'f'), wftest.dep('m', 'n'), wftest.dep('h', 'k')" >/dev/null ||
    tc_bail "cannot make the SQL fixtures"

x1=$(q "SELECT wftest.claim('x', '2030-01-01 01:00Z')")
q "SELECT wftest.release('x', 'succeeded')" >/dev/null
is "$(q "SELECT wftest.state('y'), wftest.state('v'), wftest.state('w')")" \
    "waiting 01:00 $x1 due|waiting 01:00 $x1 due|waiting - - idle" \
    "a run that ends makes its downstream jobs due for its fire time, recording it; not the failure edge"

x2=$(q "SELECT wftest.claim('x', '2030-01-01 02:00Z')")
q "SELECT wftest.release('x', 'failed', true)" >/dev/null
is "$(q "SELECT wftest.state('w'), fire_time_outcome(id, '2030-01-01 02:00Z') IS NULL FROM jobs WHERE name = 'x'")" \
    "waiting - - idle|t" "a failed run with a retry pending is not final: nothing is triggered"
x3=$(q "SELECT wftest.claim('x')")
q "SELECT wftest.release('x', 'failed')" >/dev/null
is "$(q "SELECT wftest.state('w'), fire_time_outcome(id, '2030-01-01 02:00Z') FROM jobs WHERE name = 'x'")" \
    "waiting 02:00 $x3 due|failed" "its last attempt failing triggers the failure edge, by that attempt"
is "$(rows "SELECT t.status FROM job_triggers t JOIN jobs j ON j.id = t.job_id WHERE j.name = 'v' ORDER BY t.scheduled_for")" \
    "started pending" "the always edge of a busy job (due for 01:00) queues 02:00"
v1=$(q "SELECT wftest.claim('v')")
q "SELECT wftest.release('v', 'succeeded')" >/dev/null
is "$(q "SELECT wftest.state('v')")" "waiting 02:00 $x3 due" \
    "its release starts the queued trigger, for its own fire time and cause"

# A fan-in: b1 and b2 end at once in two transactions.  The first holds
# its commit (an advisory lock this session holds) while the second
# decides: the second must wait for it, then see both runs ended.
q "UPDATE jobs SET next_time = now(), scheduled_for = '2030-01-01 03:00Z', version = version + 1
    WHERE name IN ('b1', 'b2')" >/dev/null
q "SELECT wftest.claim('b1'), wftest.claim('b2')" >/dev/null
api_sql "SELECT pg_advisory_lock(4242)"
psql -X -q -c "BEGIN" -c "SELECT wftest.release('b1', 'succeeded')" -c "SELECT pg_advisory_lock(4242)" \
    -c "COMMIT" >"$TC_TMP/fan1.out" 2>&1 &
fan1=$!
lock_waits() { [ "$(q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted $1")" -ge 1 ]; }
wait_until 10 lock_waits "AND objid = 4242" || tc_bail "the first release did not wait: $(cat "$TC_TMP/fan1.out")"
psql -X -q -c "SELECT wftest.release('b2', 'succeeded')" >"$TC_TMP/fan2.out" 2>&1 &
fan2=$!
wait_until 10 lock_waits "AND classid = hashtext('tablecron.workflow')::oid" ||
    tc_bail "the second release did not wait for the first: $(cat "$TC_TMP/fan2.out")"
is "$(q "SELECT wftest.state('f')")" "waiting - - idle" "while the first one's commit is held, f is not triggered"
api_sql "SELECT pg_advisory_unlock(4242)"
wait "$fan1" "$fan2"
b2x=$(q "SELECT e.id FROM executions e JOIN jobs j ON j.id = e.job_id WHERE j.name = 'b2'")
is "$(q "SELECT wftest.state('f'), (SELECT count(*) FROM job_triggers WHERE job_id = j.id) FROM jobs j WHERE name = 'f'")" \
    "waiting 03:00 $b2x due|1" "then the second triggers it, once, by the run that ended last"

q "UPDATE jobs SET status = 'paused', version = version + 1 WHERE name = 'y'" >/dev/null
q "SELECT wftest.claim('x', '2030-01-01 04:00Z')" >/dev/null
q "SELECT wftest.release('x', 'succeeded')" >/dev/null
is "$(rows "SELECT to_char(t.scheduled_for AT TIME ZONE 'UTC', 'HH24:MI') || ' ' || t.status || ': ' || t.reason
             FROM job_triggers t JOIN jobs j ON j.id = t.job_id WHERE j.name = 'y' ORDER BY t.scheduled_for")" \
    "01:00 skipped: the job was paused before this run started 04:00 skipped: the job is paused" \
    "a paused job is not run: its triggers are recorded as skipped, with why"

# An operator ends a run by hand.
mx=$(q "INSERT INTO executions (job_id, scheduled_for, instance_id, status, finished_at)
        SELECT id, '2030-01-01 05:00Z', 'by-hand', 'succeeded', now() FROM jobs WHERE name = 'm'
        RETURNING id")
is "$(q "SELECT wftest.state('n')")" "waiting 05:00 $mx due" "a run ended by hand with SQL triggers too"

# A long-running HTTP task reports its result through the API (the
# execution ends, its job row still runs); an instance releases the row
# later without touching the execution.
hx=$(q "SELECT wftest.claim('h', '2030-01-01 06:00Z')")
q "UPDATE executions SET status = 'succeeded', finished_at = now() WHERE id = $hx" >/dev/null
is "$(q "SELECT wftest.state('k')")" "waiting - - idle" "a result reported while the job row still runs: not yet"
q "SELECT set_config('tablecron.instance', 'test', false);
   UPDATE jobs SET status = 'waiting', lease_owner = NULL, lease_until = NULL, scheduled_for = NULL,
          version = version + 1 WHERE name = 'h'" >/dev/null
is "$(q "SELECT wftest.state('k')")" "waiting 06:00 $hx due" "the release of the job row then triggers"

run_status 1 "plain SQL cannot close a cycle" psql -X -v ON_ERROR_STOP=1 -v VERBOSITY=verbose \
    -c "\\set VERBOSITY verbose" -c "SELECT wftest.dep('n', 'm')"
like "$TC_OUT" "23T01: dependency would make a cycle: n -> m -> n" "... SQLSTATE 23T01, the cycle named"
run_status 1 "nor make a job run after itself" q "SELECT wftest.dep('m', 'm')"
like "$TC_OUT" "job_dependencies_not_self" "... by job_dependencies_not_self"
q "INSERT INTO jobs (name, schedule, kind, shards) VALUES ('sh', '@manual', 'noop', 2)" >/dev/null
run_status 1 "a shard row cannot be an end of a dependency" q "SELECT wftest.dep('sh#1', 'm')"
like "$TC_OUT" "shard row cannot be an end of a dependency" "... said so"
is "$(q "SELECT count(*) FROM workflow_edges WHERE upstream = 'x'") $(q "SELECT count(*) FROM workflow_runs WHERE upstream = 'x'")" \
    "3 1" "the views workflow_edges and workflow_runs read them by name"

q "DELETE FROM jobs; DROP SCHEMA wftest CASCADE" >/dev/null

# --- instances: a chain and a fan-in on three instances ----------------------------------------
cli job add wf-a --department A --schedule '@every 3s' --noop --paused
cli job add wf-b --department A --after wf-a --shell 'sleep 0.3'
cli job add wf-c --department A --after wf-b --shell 'sleep 0.2'
cli job add wf-d --department A --after wf-b --after wf-c:success --shell 'true'
is "$(rows "SELECT name || '=' || schedule FROM jobs WHERE name IN ('wf-b', 'wf-c', 'wf-d') ORDER BY name")" \
    "wf-b=@manual wf-c=@manual wf-d=@manual" "job add --after without --schedule makes the job @manual"
A=$(job_id wf-a) B=$(job_id wf-b) C=$(job_id wf-c) D=$(job_id wf-d)

export TABLECRON_WWW_DIR=$TC_SRCDIR/www
serve_pids=()
for i in 1 2 3; do
    start_bg "$TC_TMP/w$i.log" "$TABLECRON" serve --instance-id "w$i" --max-poll 1s --lease 5s
    serve_pids+=("$TC_BG_PID")
    wait_until 15 api_started "$TC_TMP/w$i.log" || tc_bail "serve w$i did not start: $(tail -n 5 "$TC_TMP/w$i.log")"
done
API_URL=$(tc_api_url "$TC_TMP/w1.log")
wait_until 10 curl -sf -o /dev/null "$API_URL/healthz" || tc_bail "serve w1 does not answer /healthz"

echo "# instances up (t=${SECONDS}s)"
cli job resume wf-a
FIRES=4
if wait_sql 60 t "SELECT count(*) >= $FIRES FROM executions WHERE job_id = $D AND status <> 'running'"; then
    pass "the fan-in job wf-d ran for $FIRES fire times of wf-a"
else
    fail "the fan-in job wf-d ran for $FIRES fire times of wf-a" "$(rows "SELECT job_id, scheduled_for, status FROM executions")"
fi
cli job pause wf-a
# Quiet: nothing runs, nothing is due or queued.
QUIET="SELECT NOT EXISTS (SELECT 1 FROM jobs WHERE status = 'running' OR scheduled_for IS NOT NULL
                                              OR (next_time <= now() AND status = 'waiting'))
       AND NOT EXISTS (SELECT 1 FROM job_triggers WHERE status = 'pending')"
# quiet DESCRIPTION: wait for it (the rows that are not, if it does not come).
quiet() {
    wait_sql 30 t "$QUIET" ||
        fail "$1" "$(rows "SELECT name, status, scheduled_for, next_time <= now() FROM jobs
                            WHERE status = 'running' OR scheduled_for IS NOT NULL
                               OR (next_time <= now() AND status = 'waiting')")" \
             "$(rows "SELECT job_id, scheduled_for FROM job_triggers WHERE status = 'pending'")"
}
quiet "the workflow settles"

# Per fire time T of wf-a: one run of each downstream job, for T.
PER_FIRE="FROM executions a
  JOIN LATERAL (SELECT count(*) FILTER (WHERE job_id = $B) AS nb, count(*) FILTER (WHERE job_id = $C) AS nc,
                       count(*) FILTER (WHERE job_id = $D) AS nd
                  FROM executions x WHERE x.scheduled_for = a.scheduled_for) n ON true
  LEFT JOIN executions b ON b.job_id = $B AND b.scheduled_for = a.scheduled_for
  LEFT JOIN executions c ON c.job_id = $C AND c.scheduled_for = a.scheduled_for
  LEFT JOIN executions d ON d.job_id = $D AND d.scheduled_for = a.scheduled_for
 WHERE a.job_id = $A"
nfire=$(q "SELECT count(*) FROM executions WHERE job_id = $A")
is "$(q "SELECT count(*) $PER_FIRE AND (n.nb, n.nc, n.nd) = (1, 1, 1)") $(q "SELECT count(*) FROM executions WHERE job_id IN ($B, $C, $D)")" \
    "$nfire $((nfire * 3))" "each of the $nfire fire times of wf-a ran wf-b, wf-c and wf-d exactly once, and nothing else ran"
is "$(q "SELECT count(*) $PER_FIRE AND b.triggered_by = a.id AND c.triggered_by = b.id AND d.triggered_by = c.id")" \
    "$nfire" "each run records the upstream run that triggered it (wf-d: wf-c, the later of its two)"
is "$(q "SELECT count(*) $PER_FIRE AND b.started_at >= a.finished_at AND c.started_at >= b.finished_at
                                  AND d.started_at >= greatest(b.finished_at, c.finished_at)")" \
    "$nfire" "each downstream run started after its upstream runs had finished"
is "$(rows "SELECT DISTINCT status || ':' || attempt FROM executions")" "succeeded:1" "every run succeeded at once"
is "$(rows "SELECT DISTINCT status FROM job_triggers")" "started" "every trigger started (none queued or skipped left)"
echo "# runs per instance: $(rows "SELECT instance_id || '=' || count(*) FROM executions GROUP BY instance_id ORDER BY instance_id") (t=${SECONDS}s)"

# --- conditions: failure, always, after the retries; a paused job -----------------------------
cli job add flaky --department A --schedule @manual --retries 1 --retry-backoff 0 --shell 'exit 3'
cli job add onfail --department A --after flaky:failure --noop
cli job add onok --department A --after flaky --noop
cli job add both --department A --after flaky:ALWAYS --noop
F=$(job_id flaky) OF=$(job_id onfail) OK=$(job_id onok) BO=$(job_id both)
runs() { q "SELECT count(*) FROM executions WHERE job_id = $1"; }
cli job run flaky
wait_sql 30 "1|1" "SELECT (SELECT count(*) FROM executions WHERE job_id = $OF), (SELECT count(*) FROM executions WHERE job_id = $BO)"
quiet "the workflow settles"
is "$(runs "$F") $(runs "$OF") $(runs "$OK") $(runs "$BO")" "2 1 0 1" \
    "a failing job (tried twice): its failure and always edges ran once, its success edge did not"
is "$(q "SELECT o.triggered_by = f.id AND o.started_at >= f.finished_at AND o.scheduled_for = f.scheduled_for
          FROM executions o, executions f WHERE o.job_id = $OF AND f.job_id = $F AND f.attempt = 2")" "t" \
    "the failure edge waited for the last attempt, and records it"
cli job edit flaky --shell true
cli job run flaky
wait_sql 30 "1|2" "SELECT (SELECT count(*) FROM executions WHERE job_id = $OK), (SELECT count(*) FROM executions WHERE job_id = $BO)"
quiet "the workflow settles"
is "$(runs "$OF") $(runs "$OK") $(runs "$BO")" "1 1 2" "succeeding, it runs its success and always edges, not the failure one"
cli job pause onok
cli job run flaky
wait_sql 30 3 "SELECT count(*) FROM executions WHERE job_id = $BO"
quiet "the workflow settles"
is "$(runs "$OK") $(q "SELECT status || ': ' || reason FROM job_triggers WHERE job_id = $OK ORDER BY scheduled_for DESC LIMIT 1")" \
    "1 skipped: the job is paused" "a paused downstream job does not run: its trigger is skipped"
cli job resume onok

echo "# conditions done (t=${SECONDS}s)"

# --- cycles: the command line and the API name them -------------------------------------------
run_status 1 "the command line refuses a cycle (exit 1)" "$TABLECRON" job edit wf-a --after wf-d
like "$TC_OUT" "dependency would make a cycle: wf-d -> wf-a -> wf-b -> (wf-c -> )?wf-d" "... naming it"
api a_manager POST "/api/v1/jobs/$A/dependencies" '{"upstream": "wf-c", "condition": "always"}'
is "$API_CODE $(jpy 'd["error"]["code"], d["error"]["field"]')" "409 ('conflict', 'upstream')" "the API refuses a cycle: 409"
like "$(jpy 'd["error"]["message"]')" "^dependency would make a cycle: wf-c -> wf-a -> wf-b -> wf-c$" "... naming it"
is "$(q "SELECT count(*) FROM job_dependencies WHERE downstream_id = $A")" 0 "and nothing changed"
run_status 1 "job add --after an unknown job: exit 1" "$TABLECRON" job add nope --after no-such-job --noop
like "$TC_OUT" "no job named 'no-such-job'" "... naming it, and the job is not made"
is "$(q "SELECT count(*) FROM jobs WHERE name = 'nope'")" 0 "(none made)"
run_ok "job show lists the jobs a job runs after and before" "$TABLECRON" job show wf-b
like "$(printf '%s' "$TC_OUT" | tr '\n' ' ')" "runs after \(upstream jobs\):.*wf-a +success.*runs before \(downstream jobs\):.*wf-c +success.*wf-d +success" \
    "... with their conditions"
run_ok "job edit --not-after removes one" "$TABLECRON" job edit wf-d --not-after wf-c
is "$(rows "SELECT upstream FROM workflow_edges WHERE downstream = 'wf-d'")" "wf-b" "... and only that one"
cli job edit wf-d --after wf-c

# --- API: who may read and change ----------------------------------------------------------------
cli job add b-up --department B --schedule @manual --noop
BU=$(job_id b-up)
api anon GET "/api/v1/jobs/$B/dependencies"
is "$API_CODE" 401 "anonymous: 401"
api a_viewer GET "/api/v1/jobs/$B/dependencies"
is "$API_CODE $(jpy '[u["name"] + ":" + u["condition"] for u in d["upstreams"]], [x["name"] for x in d["downstreams"]]')" \
    "200 (['wf-a:success'], ['wf-c', 'wf-d'])" "a viewer reads a job's upstream and downstream jobs"
api b_manager GET "/api/v1/jobs/$B/dependencies"
is "$API_CODE" 404 "another department's manager: 404"
api a_viewer POST "/api/v1/jobs/$D/dependencies" '{"upstream": "wf-a"}'
is "$API_CODE" 403 "a viewer cannot change them: 403"
api a_operator DELETE "/api/v1/jobs/$D/dependencies/wf-c"
is "$API_CODE" 403 "nor an operator"
api a_manager POST "/api/v1/jobs/$D/dependencies" '{"upstream": "b-up"}'
is "$API_CODE $(jpy 'd["error"]["field"]')" "404 upstream" "a manager of A cannot make a job run after a job of B it cannot see"
api ab_mover POST "/api/v1/jobs/$D/dependencies" "{\"upstream\": $BU, \"condition\": \"always\"}"
is "$API_CODE $(jpy 'sorted(u["name"] for u in d["upstreams"])')" "200 ['b-up', 'wf-b', 'wf-c']" \
    "a manager of A who views B can"
api b_manager POST "/api/v1/jobs/$BU/dependencies" '{"upstream": "wf-a"}'
is "$API_CODE" 404 "a manager of B cannot make it run after a job of A"
api a_manager GET "/api/v1/jobs/$D/workflow"
is "$API_CODE $(jpy '[(n["id"] == '"$BU"', n["name"], n["hidden"]) for n in d["nodes"] if n["hidden"]], len(d["nodes"]), d["truncated"]')" \
    "200 ([(True, None, True)], 5, False)" "the graph shows a job of another department by its id only"
is "$(jpy 'sorted((e["upstream_id"], e["downstream_id"], e["condition"]) for e in d["edges"])')" \
    "$(apy -c "print(sorted([($A, $B, 'success'), ($B, $C, 'success'), ($B, $D, 'success'), ($C, $D, 'success'), ($BU, $D, 'always')]))")" \
    "with every edge between them"
is "$(jpy '[n["name"] for n in d["nodes"]][0], [n for n in d["nodes"] if n["name"] == "wf-c"][0]["last_status"]')" \
    "('wf-d', 'succeeded')" "the job asked about first, each job with its last status"
api a_manager PUT "/api/v1/jobs/$D/dependencies" '{"upstreams": [{"job": "wf-b"}, {"job": '"$C"', "condition": "always"}]}'
is "$API_CODE $(jpy 'sorted((u["id"], u["condition"]) for u in d["upstreams"])')" \
    "200 $(apy -c "print(sorted([($B, 'success'), ($C, 'always'), ($BU, 'always')]))")" \
    "PUT sets the upstream jobs the caller sees, and keeps the hidden one"
api a_manager PUT "/api/v1/jobs/$D/dependencies" '{"upstreams": [{"job": "wf-b", "when": 1}]}'
is "$API_CODE $(jpy 'd["error"]["field"]')" "400 upstreams" "an unknown field in an item: 400"
api a_manager POST "/api/v1/jobs/$D/dependencies" '{"upstream": "wf-b", "condition": "sometimes"}'
is "$API_CODE $(jpy 'd["error"]["field"]')" "400 condition" "a bad condition: 400 naming it"
api a_manager DELETE "/api/v1/jobs/$D/dependencies/$BU"
is "$API_CODE" 204 "the downstream job's manager removes the edge from a job they cannot see"
api a_manager DELETE "/api/v1/jobs/$D/dependencies/$BU"
is "$API_CODE" 404 "twice: 404"
is "$(q "SELECT string_agg(actor, ' ' ORDER BY id) FROM audit_log WHERE action = 'job.dependencies' AND object_id = '$D'
          AND actor LIKE 'token:%'")" "token:ab_mover token:a_manager token:a_manager" \
    "every change is in the audit log, with who made it"
cli job edit wf-d --after wf-c:success

# --- the page ------------------------------------------------------------------------------------
echo "# API done (t=${SECONDS}s)"
if api_page_script "the workflow page in chromium" workflows.test.mjs TC_WF_JOBS="$A $B $C $D $OK"; then
    is "$(q "SELECT condition FROM job_dependencies WHERE downstream_id = $OK AND upstream_id = $A")" "always" \
        "the editor's Runs after saved the new dependency"
fi

# --- the instances stayed healthy --------------------------------------------------------------
echo "# page done (t=${SECONDS}s)"
# Stopped cleanly, so that a sanitizer build reports leaks too.
kill -TERM "${serve_pids[@]}"
stopped() { ! kill -0 "$@" 2>/dev/null; }
wait_until 40 stopped "${serve_pids[@]}" || fail "the instances stop on SIGTERM"
is "$(cat "$TC_TMP"/w?.log | grep -cE 'level=error|AddressSanitizer|LeakSanitizer|runtime error')" 0 \
    "the instances logged no error (nor a leak)"
is "$(grep -c 'deadlock detected' "$TC_PGDIR/server.log")" 0 "the database saw no deadlock"
plan "$tap_n"
done_testing
