# demo.sh - the README's first command: scripts/demo leaves the pages
# reachable at the address it prints, with a first administrator whose
# login it prints, and demo jobs running.  Run against the suite's
# database (--db) with the binary under test (--binary), so it builds and
# starts nothing else.
. "$TC_SRCDIR/tests/lib.sh"
plan 9

tc_need_tools curl python3

# A free port: bind 0, read it, let it go (the demo prints a fixed address).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
conninfo="host=$PGHOST port=$PGPORT user=$PGUSER dbname=$PGDATABASE"
start_bg "$TC_TMP/demo.log" env TABLECRON_LISTEN="127.0.0.1:$port" \
    bash "$TC_SRCDIR/scripts/demo" --db "$conninfo" --state-dir "$TC_TMP/state" \
    --binary "$TABLECRON" --max-poll 1s </dev/null
wait_until 60 grep -q 'msg=starting' "$TC_TMP/demo.log" || tc_bail "the demo did not start: $(tail -5 "$TC_TMP/demo.log")"

url=$(sed -n 's/^tablecron: the admin pages: \(http[^ ]*\)$/\1/p' "$TC_TMP/demo.log")
is "$url" "http://127.0.0.1:$port/" "the demo prints the pages' address"
password=$(sed -n "s/^tablecron:   sign in as 'admin' with password '\([^']*\)'.*/\1/p" "$TC_TMP/demo.log")
like "$password" '^[A-Za-z0-9=]{16,}$' "and the first administrator's password"
is "$(stat -c %a "$TC_TMP/state/admin-password")" 600 "which only its owner can read"

is "$(curl -s -o "$TC_TMP/index" -w '%{http_code} %{content_type}' "$url")" \
    '200 text/html; charset=utf-8' "the address serves the pages"
like "$(cat "$TC_TMP/index")" '<script type="module" src="/js/app.js">' "with their script"

body=$(python3 -c 'import json, sys; print(json.dumps({"login": "admin", "password": sys.argv[1]}))' "$password")
code=$(curl -s -c "$TC_TMP/cookies" -o "$TC_TMP/login" -w '%{http_code}' \
    -H 'Content-Type: application/json' -d "$body" "${url}api/v1/login")
is "$code" 200 "the printed login signs in"

# demo-hello runs every 10 s: its runs show through the API the pages use.
jobs_ok() {
    curl -s -b "$TC_TMP/cookies" "${url}api/v1/executions?status=succeeded" >"$TC_TMP/execs" &&
        grep -q '"name":"demo-hello"' "$TC_TMP/execs"
}
if wait_until 30 jobs_ok; then pass "the demo job runs and its runs are listed"
else fail "the demo job runs and its runs are listed" "$(cat "$TC_TMP/execs")"; fi
curl -s -b "$TC_TMP/cookies" "${url}api/v1/jobs?q=demo-counter" >"$TC_TMP/jobs"
like "$(cat "$TC_TMP/jobs")" '"name":"demo-counter"' "the long demo job is there to watch"

# A second run of the demo keeps the same administrator and password.
kill "$TC_BG_PID"; wait "$TC_BG_PID" 2>/dev/null
start_bg "$TC_TMP/demo2.log" env TABLECRON_LISTEN="127.0.0.1:$port" \
    bash "$TC_SRCDIR/scripts/demo" --db "$conninfo" --state-dir "$TC_TMP/state" \
    --binary "$TABLECRON" </dev/null
wait_until 60 grep -q 'msg=starting' "$TC_TMP/demo2.log"
like "$(cat "$TC_TMP/demo2.log")" "with password '$password'" "a second run prints the same login"
kill "$TC_BG_PID"; wait "$TC_BG_PID" 2>/dev/null

done_testing
