# task_callback.sh - long-running HTTP tasks: the endpoint answers 202 and
# reports progress and its outcome to the API (tests/servers/http_server.py
# /async).  Two instances: reports sent to the one that did not start the
# task work the same; progress renews the job's lease; silence for
# timeout_s times the run out; "rebalance" hands parameters to the next
# attempt; a wrong token or a report after the end is refused.
. "$TC_SRCDIR/tests/lib.sh"
. "$TC_SRCDIR/tests/servers/servers.sh"
plan 25

tc_need_tools python3 curl
"$TABLECRON" migrate >/dev/null 2>&1 || tc_bail "migrate failed"
q "CREATE VIEW ex AS SELECT j.name, e.* FROM executions e JOIN jobs j ON j.id = e.job_id" >/dev/null

tc_start_server web python3 "$TC_SERVERS/http_server.py" || tc_bail "the HTTP server did not start"
web=http://127.0.0.1:$TC_SERVER_PORT

# Instance a runs the tasks; instance b only serves the API.
start_bg "$TC_TMP/a.log" "$TABLECRON" serve --instance-id a --lease 3s --max-poll 1s
wait_until 10 grep -q 'msg=starting' "$TC_TMP/a.log" || tc_bail "serve a did not start"
start_bg "$TC_TMP/b.log" "$TABLECRON" serve --instance-id b --no-scheduler
wait_until 10 grep -q 'msg=starting' "$TC_TMP/b.log" || tc_bail "serve b did not start"
api_a=$(tc_api_url "$TC_TMP/a.log")
api_b=$(tc_api_url "$TC_TMP/b.log")

job() {
    q "INSERT INTO jobs (name, schedule, kind, config, next_time ${3:+, $3})
       VALUES ('$1', '@every 1h', 'http', \$cfg\$$2\$cfg\$::jsonb, now() ${4:+, $4})" >/dev/null ||
        echo "# could not insert job $1"
}
ended() {
    wait_sql 30 1 "SELECT count(*) FROM ex WHERE name = '$1' AND attempt = ${2:-1} AND status <> 'running'"
}
result() {
    q "SELECT status, coalesce(progress::text, ''), coalesce(error, ''), output
        FROM ex WHERE name = '$1' AND attempt = ${2:-1}"
}
reports() { tc_log "$TC_TMP/web.log" "r['event'] == 'report' and 'j=$1' in r['path']" "$2"; }

job done "{\"url\": \"$web/async?j=done&steps=3&every=1000&base=$api_b\"}" timeout_s 30
job broke "{\"url\": \"$web/async?j=broke&final=failed\"}" 'timeout_s, max_retries, retry_backoff_s' '30, 1, 0'
job silent "{\"url\": \"$web/async?j=silent&steps=0&final=none\"}" timeout_s 2
job renewed "{\"url\": \"$web/async?j=renewed&steps=6&every=500\"}" timeout_s 2
job moved "{\"url\": \"$web/async?j=moved&steps=0&final=rebalance\"}" 'timeout_s, max_retries' '30, 0'
job early "{\"url\": \"$web/async?j=early&early=1\"}" timeout_s 30

# --- progress while running, then the outcome, reported to the other instance
wait_sql 20 1 "SELECT count(*) FROM ex WHERE name = 'done' AND status = 'running' AND progress > 0"
is "$(q "SELECT awaiting_callback, lease_owner FROM jobs WHERE name = 'done'")" "t|a" \
    "after the 202 the job awaits its callback; it stays leased in the name of its instance"
like "$(q "SELECT message FROM ex WHERE name = 'done'")" '^step [1-3]$' "progress messages are visible while it runs"
ended done
is "$(result done)" "succeeded|100||work done (succeeded)" "the outcome reported to instance b ends the run: succeeded, output kept"
is "$(reports done "str(r['status'])" | sort -u | paste -sd ' ')" "200" "every report was accepted by instance b"
wait_sql 10 1 "SELECT count(*) FROM jobs WHERE name = 'done' AND status = 'waiting' AND NOT awaiting_callback"
is "$(q "SELECT next_time > now() + interval '50 minutes', lease_owner IS NULL FROM jobs WHERE name = 'done'")" "t|t" \
    "the job moves on to its next fire time"

# --- a reported failure is retried like any failure
ended broke 2
is "$(q "SELECT string_agg(attempt || ':' || status, ' ' ORDER BY attempt) FROM ex WHERE name = 'broke'")" \
    "1:failed 2:failed" "a reported failure fails the run and max_retries retries it"
is "$(q "SELECT error FROM ex WHERE name = 'broke' AND attempt = 1")" "it broke" "the reported message is the error"

# --- silence: timed out after timeout_s without a report
ended silent
is "$(q "SELECT status, error FROM ex WHERE name = 'silent'")" \
    "timed_out|no report from the task for 2 s after its 202" "no report for timeout_s: timed_out"
took=$(q "SELECT round(extract(epoch FROM finished_at - started_at)) FROM ex WHERE name = 'silent'")
if [ "${took:-99}" -ge 2 ] && [ "${took:-99}" -le 6 ]; then pass "about timeout_s after the start (${took} s)"
else fail "about timeout_s after the start" "took '${took}' s"; fi

# --- progress renews the lease: 3 s of work with timeout_s 2 succeeds
ended renewed
is "$(q "SELECT status FROM ex WHERE name = 'renewed'")" "succeeded" "reports every 0.5 s keep a 2 s timeout from expiring"
if [ "$(q "SELECT extract(epoch FROM finished_at - started_at) > 2.5 FROM ex WHERE name = 'renewed'")" = t ]; then
    pass "although the work took longer than timeout_s"
else fail "the work took longer than timeout_s" "$(q "SELECT finished_at - started_at FROM ex WHERE name = 'renewed'")"; fi

# --- rebalance: the next attempt runs at once with the parameters
ended moved 2
is "$(q "SELECT string_agg(attempt || ':' || status, ' ' ORDER BY attempt) FROM ex WHERE name = 'moved'")" \
    "1:abandoned 2:succeeded" "rebalance ends the attempt and starts the next one, even with max_retries 0"
is "$(q "SELECT error FROM ex WHERE name = 'moved' AND attempt = 1")" \
    "rebalanced: the next attempt continues the work" "the abandoned attempt says why"
second=$(tc_log "$TC_TMP/web.log" "r['event'] == 'request' and 'j=moved' in r['path'] and r['headers'].get('x-tablecron-attempt') == '2'" "r['headers'].get('x-tablecron-resume', '-')")
is "$second" '{"from": "start", "next": 7}' "the next attempt gets the parameters in X-Tablecron-Resume"

# --- an outcome reported before the 202 was seen
ended early
is "$(result early)" "succeeded|100||work done (succeeded)" "an outcome reported before the 202 answer still ends the run"
wait_sql 10 1 "SELECT count(*) FROM jobs WHERE name = 'early' AND status = 'waiting'"
is "$(q "SELECT awaiting_callback FROM jobs WHERE name = 'early'")" "f" "and the job moves on"

# --- refusals
exec_id=$(q "SELECT id FROM ex WHERE name = 'done'")
code=$(curl -s -o "$TC_TMP/r1" -w '%{http_code}' -X POST -H 'X-Tablecron-Token: wrong' \
    -d '{"progress": 5}' "$api_a/api/v1/executions/$exec_id/progress")
is "$code" 404 "a wrong token is refused (404, like a wrong id)"
token_hash_set=$(q "SELECT count(*) FROM executions WHERE callback_token_hash IS NOT NULL")
if [ "$token_hash_set" -ge 6 ]; then pass "every HTTP execution has its secret's hash stored ($token_hash_set)"
else fail "every HTTP execution has a stored secret hash" "$token_hash_set"; fi
is "$(q "SELECT count(*) FROM executions WHERE length(callback_token_hash) <> 64")" 0 "only SHA-256 hashes are stored"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{"progress": 5}' "$api_a/api/v1/executions/$exec_id/progress")
is "$code" 401 "a report without a token is refused"
# The secret itself only travelled in the request: find it in the server log.
token=$(tc_log "$TC_TMP/web.log" "r['event'] == 'request' and 'j=done' in r['path']" "r['headers'].get('x-tablecron-token', '')" | head -n 1)
code=$(curl -s -o "$TC_TMP/r2" -w '%{http_code}' -X POST -H "X-Tablecron-Token: $token" \
    -d '{"progress": 5}' "$api_a/api/v1/executions/$exec_id/progress")
is "$code" 409 "a report after the end is refused (409)"
code=$(curl -s -o "$TC_TMP/r3" -w '%{http_code}' -X POST -H "X-Tablecron-Token: $token" \
    -d '{"progress": 500}' "$api_a/api/v1/executions/$exec_id/progress")
like "$code $(cat "$TC_TMP/r3")" '^409 ' "even with a bad body once ended"
# Bad outcomes of a running execution: refused, nothing stored.
q "INSERT INTO jobs (name, schedule, kind, config, status, lease_owner, lease_until, scheduled_for, attempt, awaiting_callback)
   VALUES ('held', '@every 1h', 'http', '{\"url\": \"http://127.0.0.1:1/\"}', 'running', 'a', now() + interval '1 hour', now(), 1, true)" >/dev/null
held=$(q "INSERT INTO executions (job_id, scheduled_for, attempt, instance_id, callback_token_hash)
   SELECT id, scheduled_for, 1, 'a', encode(sha256(convert_to('SECRET', 'UTF8')), 'hex') FROM jobs WHERE name = 'held'
   RETURNING id" | head -n 1)
code=$(curl -s -o "$TC_TMP/r4" -w '%{http_code}' -X POST -H 'X-Tablecron-Token: SECRET' \
    -d '{"status": "failed", "exit_code": 4294967297}' "$api_a/api/v1/executions/$held/progress")
is "$code $(q "SELECT status FROM executions WHERE id = $held")" "400 running" "an exit_code beyond 32 bits is refused"
python3 -c 'import json; print(json.dumps({"status": "succeeded", "output": "x" * 1000000 + "END"}))' >"$TC_TMP/big.json"
curl -s -o /dev/null -X POST -H 'X-Tablecron-Token: SECRET' --data-binary @"$TC_TMP/big.json" \
    "$api_a/api/v1/executions/$held/progress"
is "$(q "SELECT length(output) < 70000, output LIKE '[... % bytes dropped ...]%END' FROM executions WHERE id = $held")" "t|t" \
    "a reported output is bounded like a task's: its end is kept, with a marker"
is "$(grep -c "$token" "$TC_TMP/a.log" "$TC_TMP/b.log" | awk -F: '{s += $2} END {print s}')" 0 \
    "the secret appears in no instance's log"
done_testing
