# task_http.sh - HTTP tasks against a real HTTP(S) server
# (tests/servers/http_server.py): success and the X-Tablecron-* headers,
# unexpected statuses, retries, a timeout that aborts the transfer,
# redirects, a bounded big body, request bodies, connection refused, TLS
# with and without the CA, and connection reuse.
. "$TC_SRCDIR/tests/lib.sh"
. "$TC_SRCDIR/tests/servers/servers.sh"
plan 40

tc_need_tools python3 openssl
"$TABLECRON" migrate >/dev/null 2>&1 || tc_bail "migrate failed"
q "CREATE VIEW ex AS SELECT j.name, e.* FROM executions e JOIN jobs j ON j.id = e.job_id" >/dev/null

tc_make_cert || tc_bail "openssl could not make a certificate"
tc_start_server web python3 "$TC_SERVERS/http_server.py" || tc_bail "the HTTP server did not start"
web=http://127.0.0.1:$TC_SERVER_PORT
tc_start_server tls python3 "$TC_SERVERS/http_server.py" --tls "$TC_TMP/cert.pem" "$TC_TMP/key.pem" ||
    tc_bail "the HTTPS server did not start"
tls=https://localhost:$TC_SERVER_PORT
tc_start_server reuse python3 "$TC_SERVERS/http_server.py" || tc_bail "the second HTTP server did not start"
reuse=http://127.0.0.1:$TC_SERVER_PORT
refused=http://127.0.0.1:$(tc_free_port)
ca=$TC_TMP/cert.pem

# job NAME CONFIG [COLUMNS VALUES]: an http job due now, then hourly (it
# runs once here).  Every URL carries ?j=NAME so the server log tells the
# jobs' requests apart.
job() {
    q "INSERT INTO jobs (name, schedule, kind, config, next_time ${3:+, $3})
       VALUES ('$1', '@every 1h', 'http', \$cfg\$$2\$cfg\$::jsonb, now() ${4:+, $4})" >/dev/null ||
        echo "# could not insert job $1"
}
# ended NAME [ATTEMPT]: wait, within the test's time budget, for that run to end
ended() {
    wait_sql "$(tc_budget_left)" 1 \
        "SELECT count(*) FROM ex WHERE name = '$1' AND attempt = ${2:-1} AND status <> 'running'"
}
# result NAME [ATTEMPT]: status|exit_code|error of that run
result() {
    q "SELECT status, coalesce(exit_code::text, ''), coalesce(error, '') FROM ex
        WHERE name = '$1' AND attempt = ${2:-1}"
}
output() { q "SELECT output FROM ex WHERE name = '$1' AND attempt = ${2:-1}"; }
# requests LOG NAME EXPR: EXPR for each request of job NAME seen by a server
requests() { tc_log "$1" "r['event'] == 'request' and 'j=$2' in r['path'].split('?', 1)[-1].split('&')" "$3"; }

start_bg "$TC_TMP/serve.log" "$TABLECRON" serve --instance-id h1 --lease 3s --max-poll 1s --grace 2s
serve_pid=$TC_BG_PID
wait_until 10 grep -q 'msg=starting' "$TC_TMP/serve.log" || tc_bail "serve did not start: $(tail -3 "$TC_TMP/serve.log")"

# Every job starts now and they run side by side; the waits below share
# one time budget, so a broken executor fails the test in about a minute.
job ok "{\"url\": \"$web/ok?j=ok\"}"
job fail500 "{\"url\": \"$web/status/500?j=fail500\"}"
job retry "{\"url\": \"$web/status/503?j=retry\"}" 'max_retries, retry_backoff_s' '1, 0'
job slow "{\"url\": \"$web/slow?ms=30000&j=slow\"}" timeout_s 1
job kill-me "{\"url\": \"$web/slow?ms=30000&j=kill-me\"}" timeout_s 60
job lose "{\"url\": \"$web/slow?ms=30000&j=lose\"}" timeout_s 60
job redir "{\"url\": \"$web/redirect?j=redir\"}"
job redir-follow "{\"url\": \"$web/redirect?j=redir-follow\", \"follow_redirects\": true}"
job big "{\"url\": \"$web/big?bytes=200000&j=big\", \"output_limit\": 1000}"
job post-json "{\"url\": \"$web/json?j=post-json\", \"method\": \"POST\",
                \"json\": {\"a\": [1, \"é\"], \"n\": null, \"t\": true}}"
job put-text "{\"url\": \"$web/echo?j=put-text\", \"method\": \"PUT\",
               \"headers\": {\"X-Custom\": \"custom value\"}, \"body\": \"plain text body\"}"
job expect-list "{\"url\": \"$web/status/204?j=expect-list\", \"expect_status\": [200, 204]}"
job expect-one "{\"url\": \"$web/status/404?j=expect-one\", \"expect_status\": 404}"
job expect-miss "{\"url\": \"$web/ok?j=expect-miss\", \"expect_status\": [201, 202]}"
job refused "{\"url\": \"$refused/ok?j=refused\"}"
job tls-noca "{\"url\": \"$tls/ok?j=tls-noca\"}"
job tls-ca "{\"url\": \"$tls/ok?j=tls-ca\", \"ca_file\": \"$ca\"}"
job tls-noverify "{\"url\": \"$tls/ok?j=tls-noverify\", \"tls_verify\": false}"
# Every second: requests one after the other to the same server.
q "INSERT INTO jobs (name, schedule, kind, config)
   VALUES ('reuse', '* * * * * *', 'http', '{\"url\": \"$reuse/ok?j=reuse\"}')" >/dev/null
tc_budget_start 60

# --- success: status, exit code, output, and what the server saw ------------
ended ok
is "$(result ok)" "succeeded|200|" "a 200 answer is a success with exit_code 200"
is "$(output ok)" "ok" "the response body is the output"
exec_id=$(q "SELECT id FROM ex WHERE name = 'ok'")
is "$(requests "$TC_TMP/web.log" ok "r['method'] + ' ' + ' '.join(h.get(k, '-') for k in
        ('x-tablecron-job', 'x-tablecron-execution', 'x-tablecron-attempt'))")" \
    "GET ok $exec_id 1" "one GET carrying X-Tablecron-Job, X-Tablecron-Execution and X-Tablecron-Attempt"

# --- unexpected status ---------------------------------------------------------
ended fail500
is "$(result fail500)" "failed|500|unexpected HTTP status 500 (expected 2xx)" "a 500 answer fails and says why"
is "$(output fail500)" "status 500" "the error page is kept as output"

# --- retry: attempt 2 of the same fire time --------------------------------------
# (stop waiting early when attempt 1 ended and no retry is planned)
wait_sql "$(tc_budget_left)" t "SELECT EXISTS (SELECT 1 FROM ex WHERE name = 'retry' AND attempt = 2 AND status <> 'running')
    OR EXISTS (SELECT 1 FROM ex e JOIN jobs j ON j.id = e.job_id WHERE e.name = 'retry' AND e.attempt = 1
               AND e.status <> 'running' AND j.status = 'waiting' AND j.attempt = 1)"
is "$(q "SELECT string_agg(attempt || ':' || status || ':' || coalesce(exit_code::text, '-'), ' ' ORDER BY attempt),
                count(DISTINCT scheduled_for) FROM ex WHERE name = 'retry'")" \
    "1:failed:503 2:failed:503|1" "with max_retries 1 a failed request is tried twice for one fire time"
is "$(result retry 2)" "failed|503|unexpected HTTP status 503 (expected 2xx)" "the retry's error"
is "$(requests "$TC_TMP/web.log" retry "h.get('x-tablecron-attempt', '-') + ':' + h.get('x-tablecron-execution', '-')" | paste -sd ' ')" \
    "$(q "SELECT string_agg(attempt || ':' || id, ' ' ORDER BY attempt) FROM ex WHERE name = 'retry'")" \
    "each attempt tells the server its attempt number and execution id"

# --- timeout: the transfer is aborted, not waited for ----------------------------
ended slow
is "$(result slow)" "timed_out||timed out after 1 s" "a request past timeout_s is timed_out"
took=$(q "SELECT round(extract(epoch FROM finished_at - started_at), 3) FROM ex WHERE name = 'slow'")
if [ "$(q "SELECT status = 'timed_out' AND $took BETWEEN 0.9 AND 3.0 FROM ex WHERE name = 'slow'" 2>/dev/null)" = t ]; then
    pass "it ends within 2 s of the timeout (${took} s)"
else fail "it ends within 2 s of the timeout" "took '${took}' s, $(result slow)"; fi
if wait_until 5 grep -q '"slow_aborted", "path": "/slow?ms=30000&j=slow"' "$TC_TMP/web.log"; then
    pass "the server sees the connection closed"
else fail "the server sees the connection closed" "$(grep 'j=slow' "$TC_TMP/web.log" | cut -c1-200)"; fi
waited=$(tc_log "$TC_TMP/web.log" "r['event'] in ('slow_aborted', 'slow_done') and r['path'].endswith('j=slow')" "r['waited_ms']")
if [ -n "$waited" ] && [ "$waited" -lt 3000 ]; then pass "after less than 3 s (${waited} ms)"
else fail "the connection is closed within 3 s" "server waited '${waited}' ms"; fi

# --- a kill request and a lost lease abort the transfer too ---------------------
# aborted NAME: how long the server waited before the client went away
aborted() {
    wait_until 10 grep -q "\"slow_aborted\", \"path\": \"/slow?ms=30000&j=$1\"" "$TC_TMP/web.log" &&
        tc_log "$TC_TMP/web.log" "r['event'] == 'slow_aborted' and r['path'].endswith('j=$1')" "r['waited_ms']"
}
wait_sql "$(tc_budget_left)" 2 "SELECT count(*) FROM ex WHERE name IN ('kill-me', 'lose') AND status = 'running'"
"$TABLECRON" job kill kill-me >/dev/null 2>&1 || echo "# job kill failed"
q "UPDATE jobs SET lease_owner = 'thief', version = version + 1 WHERE name = 'lose'" >/dev/null
ended kill-me
is "$(result kill-me)" "killed||killed on request" "job kill stops a running request: killed"
waited=$(aborted kill-me)
if [ -n "$waited" ] && [ "$waited" -lt 10000 ]; then pass "the server sees the connection closed (after ${waited} ms)"
else fail "the server sees the kill close the connection" "server: '${waited}'"; fi
ended lose
is "$(q "SELECT status FROM ex WHERE name = 'lose'")" "abandoned" \
    "a lease taken over under a running request: the run is recorded abandoned"
waited=$(aborted lose)
if [ -n "$waited" ] && [ "$waited" -lt 10000 ]; then pass "and its connection is closed at once (after ${waited} ms)"
else fail "the lost lease closes the connection" "server: '${waited}'"; fi

# --- redirects ---------------------------------------------------------------------
ended redir
is "$(result redir)" "failed|302|unexpected HTTP status 302 (expected 2xx)" "a redirect is not followed by default"
ended redir-follow
is "$(result redir-follow)" "succeeded|200|" "follow_redirects true follows it"
is "$(output redir-follow)" "ok" "and keeps the final body"

# --- big body: the last output_limit bytes and a marker -----------------------------
ended big
is "$(result big)" "succeeded|200|" "a 200 KB body succeeds"
big_out=$(output big)
is "$(printf '%s\n' "$big_out" | head -n 1)" "[... 199000 bytes dropped ...]" "output_limit 1000: the first line counts the dropped bytes"
expected=$(printf '[... 199000 bytes dropped ...]\n%s' "$(tc_fetch "$web/big?bytes=200000" | tail -c 1000)")
if [ "$big_out" = "$expected" ]; then pass "then the body's last 1000 bytes, ending in END"
else fail "then the body's last 1000 bytes, ending in END" "got ${#big_out} characters ending '${big_out: -40}'" \
    "expected ${#expected} characters ending '${expected: -40}'"; fi

# --- request bodies and headers ---------------------------------------------------------
ended post-json
is "$(result post-json)" "succeeded|200|" "a POST with a json body succeeds"
is "$(requests "$TC_TMP/web.log" post-json "r['method'] + ' ' + h.get('content-type', '-') + ' ' +
        json.dumps(json.loads(r['body']), sort_keys=True, ensure_ascii=False)")" \
    'POST application/json {"a": [1, "é"], "n": null, "t": true}' "the server receives it as application/json with the same value"
is "$(output post-json | python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["received"], sort_keys=True, ensure_ascii=False))' 2>/dev/null)" \
    '{"a": [1, "é"], "n": null, "t": true}' "and its answer is the output"
ended put-text
is "$(requests "$TC_TMP/web.log" put-text "r['method'] + '|' + h.get('x-custom', '-') + '|' + r['body']")" \
    "PUT|custom value|plain text body" "method, configured headers and a text body reach the server"

# --- expect_status -------------------------------------------------------------------------
ended expect-list
is "$(result expect-list)" "succeeded|204|" "expect_status [200, 204] accepts 204"
ended expect-one
is "$(result expect-one)" "succeeded|404|" "expect_status 404 accepts 404"
ended expect-miss
is "$(result expect-miss)" "failed|200|unexpected HTTP status 200 (expected 201, 202)" "expect_status [201, 202] refuses 200"

# --- connection refused --------------------------------------------------------------------
ended refused
like "$(result refused)" '^failed\|[^|]*\|could not connect' "connection refused: failed, 'could not connect'"

# --- TLS --------------------------------------------------------------------------------------
ended tls-noca
like "$(result tls-noca)" '^failed\|[^|]*\|.*TLS' "a self-signed certificate without ca_file: failed with a TLS error"
like "$(tc_log "$TC_TMP/tls.log" "r['event'] == 'tls_error'" "r['error']" | head -n 1)" 'UNKNOWN_CA|unknown ca|certificate' \
    "the client refused the certificate during the handshake"
is "$(requests "$TC_TMP/tls.log" tls-noca "r['path']")" "" "no request was sent over it"
ended tls-ca
is "$(result tls-ca)" "succeeded|200|" "with ca_file the HTTPS request succeeds"
is "$(output tls-ca)" "ok" "and its body is the output"
ended tls-noverify
is "$(result tls-noverify)" "succeeded|200|" "tls_verify false accepts the certificate"

# --- connection reuse: sequential requests to one server ------------------------------------------
wait_sql "$(tc_budget_left)" t "SELECT count(*) >= 5 FROM ex WHERE name = 'reuse' AND status <> 'running'"
q "UPDATE jobs SET pause_requested = true WHERE name = 'reuse'" >/dev/null
q "UPDATE jobs SET status = 'paused', version = version + 1 WHERE name = 'reuse' AND status = 'waiting'" >/dev/null
wait_sql 10 paused "SELECT status FROM jobs WHERE name = 'reuse'"
if [ "$(q "SELECT count(*) >= 5 AND bool_and(status = 'succeeded') FROM ex WHERE name = 'reuse'")" = t ]; then
    pass "an every-second job runs five times or more, all succeeded"
else fail "an every-second job runs five times or more, all succeeded" \
    "$(q "SELECT count(*), string_agg(DISTINCT status || ' ' || coalesce(error, ''), ', ') FROM ex WHERE name = 'reuse'")"; fi
n_requests=$(requests "$TC_TMP/reuse.log" reuse "r['connection']" | wc -l)
n_conns=$(requests "$TC_TMP/reuse.log" reuse "r['connection']" | sort -u | wc -l)
# Loose on purpose: one connection for all would be ideal, but an idle
# connection may be closed by either side at any time; fewer connections
# than requests proves keep-alive is used.
if [ "$n_requests" -ge 5 ] && [ "$n_conns" -lt "$n_requests" ]; then
    pass "keep-alive: $n_requests requests over $n_conns connection(s)"
else fail "keep-alive: fewer connections than requests" "$n_requests requests over $n_conns connections"; fi

# --- nothing left behind -----------------------------------------------------------------------------
if kill -0 "$serve_pid" 2>/dev/null; then pass "the instance is still running"
else fail "the instance is still running" "$(tail -5 "$TC_TMP/serve.log")"; fi
kill -TERM "$serve_pid"
wait "$serve_pid"
is "$(q "SELECT count(*) FROM executions WHERE status = 'running'")" 0 "no execution is left running"
tc_stop_servers || echo "# a test server did not stop cleanly on SIGTERM"

if [ "$tap_failed" -ne 0 ]; then
    echo "# tablecron serve log (last lines):"
    tail -n 20 "$TC_TMP/serve.log" | sed 's/^/#   /'
fi
done_testing
