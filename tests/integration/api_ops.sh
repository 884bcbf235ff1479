# api_ops.sh - what operators' tools read without signing in: /healthz,
# /readyz (database and schema) and /metrics (Prometheus text), the
# security headers on every answer, and --no-api.
. "$TC_SRCDIR/tests/lib.sh"
plan 16

tc_need_tools curl

# Before migrate: alive, but not ready.
start_bg "$TC_TMP/s0.log" "$TABLECRON" serve --no-scheduler --instance-id ops0
wait_until 10 grep -q 'msg=starting' "$TC_TMP/s0.log" || tc_bail "serve did not start: $(tail -3 "$TC_TMP/s0.log")"
url=$(tc_api_url "$TC_TMP/s0.log")
is "$(curl -s -o /dev/null -w '%{http_code}' "$url/healthz")" 200 "/healthz answers 200 at once"
is "$(curl -s -o "$TC_TMP/ready0" -w '%{http_code}' "$url/readyz")" 503 "/readyz is 503 before the schema exists"
like "$(cat "$TC_TMP/ready0")" 'tablecron migrate' "and says what to do"
kill "$TC_BG_PID"; wait "$TC_BG_PID" 2>/dev/null

"$TABLECRON" migrate >/dev/null 2>&1 || tc_bail "migrate failed"
start_bg "$TC_TMP/s1.log" "$TABLECRON" serve --instance-id ops1 --max-poll 1s
wait_until 10 grep -q 'msg=starting' "$TC_TMP/s1.log" || tc_bail "serve did not start: $(tail -3 "$TC_TMP/s1.log")"
url=$(tc_api_url "$TC_TMP/s1.log")
is "$(curl -s "$url/readyz")" '{"status":"ready","schema":'"$(sed -n 's/^#define MIGRATE_SCHEMA_VERSION //p' "$TC_SRCDIR/src/migrate.h")"'}' \
    "/readyz is ready once migrated"
is "$(q "SELECT api_url FROM instances WHERE id = 'ops1'")" "$url" "the instance registers its API URL"

curl -s -D "$TC_TMP/headers" -o /dev/null "$url/api/v1/jobs"
for h in 'X-Content-Type-Options: nosniff' 'Referrer-Policy: no-referrer' \
         "Content-Security-Policy: default-src 'self'; script-src 'self'"; do
    if grep -qi "^$h" "$TC_TMP/headers"; then pass "every answer carries $h"
    else fail "every answer carries $h" "$(cat "$TC_TMP/headers")"; fi
done

# A job runs: claims, executions and requests show in /metrics.
q "INSERT INTO jobs (name, schedule, kind, config, next_time)
   VALUES ('m1', '@every 1h', 'shell', '{\"command\": \"true\"}', now())" >/dev/null
wait_sql 20 1 "SELECT count(*) FROM executions WHERE status = 'succeeded'"
curl -s -o /dev/null "$url/api/v1/nothing-here"
curl -s -D "$TC_TMP/mh" -o "$TC_TMP/metrics" "$url/metrics"
like "$(grep -i '^Content-Type' "$TC_TMP/mh")" 'text/plain; version=0.0.4' "/metrics is Prometheus text"
like "$(cat "$TC_TMP/metrics")" 'tablecron_claims_won_total [1-9]' "claims won are counted"
like "$(cat "$TC_TMP/metrics")" 'tablecron_executions_total\{kind="shell",status="succeeded"\} 1' \
    "executions by kind and status"
like "$(cat "$TC_TMP/metrics")" 'tablecron_start_lag_seconds_count 1' "the start lag histogram counts the run"
like "$(cat "$TC_TMP/metrics")" 'tablecron_http_requests_total\{route="/api/v1/jobs",status="401"\} 1' \
    "requests by route and status"
like "$(cat "$TC_TMP/metrics")" 'tablecron_http_requests_total\{route="none",status="404"\} 1' \
    "requests matching no route too"
# Every sample line is "name{labels} value" or "name value".
bad=$(grep -v '^#' "$TC_TMP/metrics" | grep -Ev '^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.]+$' | head -3)
is "$bad" "" "every sample line is well formed"

start_bg "$TC_TMP/s2.log" "$TABLECRON" serve --no-api --instance-id ops2
wait_until 10 grep -q 'msg=starting' "$TC_TMP/s2.log"
like "$(grep 'msg=starting' "$TC_TMP/s2.log")" 'api=off' "--no-api serves no HTTP"
done_testing
