# etcd_mirror.sh - job definitions mirrored to a real etcd (Debian's
# etcd-server, v3 JSON gateway): creates, edits, pauses, moves, renames,
# deletes and plain-SQL inserts reach etcd; runs do not write to it; an
# etcd outage blocks neither the scheduler nor the API, and the mirror
# catches up (stray keys under the prefix removed, keys outside it left
# alone) when etcd is back; of two instances one mirrors and the other
# takes over when it is killed; etcd authentication; bad settings.
. "$TC_SRCDIR/tests/lib.sh"
plan 44

tc_need_tools etcd curl python3
# etcd is on 127.0.0.1: never through a proxy (libcurl and urllib read these).
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

PREFIX=/tablecron/jobs/
free_port() {
    python3 -I -S -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
ETCD_PORT=$(free_port) && PEER_PORT=$(free_port) || tc_bail "no free port"
[ "$ETCD_PORT" != "$PEER_PORT" ] || PEER_PORT=$(free_port)
E=http://127.0.0.1:$ETCD_PORT
ETCD_PID=

# etcd_start: etcd on its data directory (kept across restarts).
etcd_start() {
    start_bg "$TC_TMP/etcd.log" etcd --name tc --data-dir "$TC_TMP/etcd" \
        --listen-client-urls "$E" --advertise-client-urls "$E" \
        --listen-peer-urls "http://127.0.0.1:$PEER_PORT" \
        --initial-advertise-peer-urls "http://127.0.0.1:$PEER_PORT" \
        --initial-cluster "tc=http://127.0.0.1:$PEER_PORT" --log-level warn
    ETCD_PID=$TC_BG_PID
    wait_until 30 ek rev || tc_bail "etcd did not start: $(tail -5 "$TC_TMP/etcd.log")"
}

# ek CMD ARGS: etcd through its JSON gateway (python3, standard library).
#   get KEY | modrev KEY | field KEY NAME | rev | keys | put KEY VALUE
# ETCD_TOKEN, when set, is sent as the auth token.
cat >"$TC_TMP/ek.py" <<'EOF'
import base64, json, os, sys, urllib.request
url, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
b64 = lambda s: base64.b64encode(s.encode()).decode()
def call(path, body):
    headers = {"Content-Type": "application/json"}
    if os.environ.get("ETCD_TOKEN"):
        headers["Authorization"] = os.environ["ETCD_TOKEN"]
    req = urllib.request.Request(url + path, json.dumps(body).encode(), headers)
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.load(r)
def one(key):
    kvs = call("/v3/kv/range", {"key": b64(key)}).get("kvs", [])
    if not kvs:
        sys.exit(1)
    return kvs[0]
if cmd == "get":
    print(base64.b64decode(one(args[0]).get("value", "")).decode())
elif cmd == "modrev":
    print(one(args[0])["mod_revision"])
elif cmd == "field":
    print(json.dumps(json.loads(base64.b64decode(one(args[0]).get("value", "")))[args[1]]))
elif cmd == "rev":
    print(call("/v3/kv/range", {"key": b64("\0")})["header"]["revision"])
elif cmd == "keys":
    r = call("/v3/kv/range", {"key": b64("\0"), "range_end": b64("\0"), "keys_only": True})
    for kv in r.get("kvs", []):
        print(base64.b64decode(kv["key"]).decode())
elif cmd == "put":
    call("/v3/kv/put", {"key": b64(args[0]), "value": b64(args[1])})
EOF
EK_PYTHON=$(python3 -c 'import sys; print(sys.executable)')
ek() { "$EK_PYTHON" -I -S "$TC_TMP/ek.py" "$E" "$@" 2>/dev/null; }

# Conditions for wait_until.
has_key() { ek get "$PREFIX$1" >/dev/null; }
no_key() { ! ek keys | grep -qxF -- "$PREFIX$1"; }
field_is() { [ "$(ek field "$PREFIX$1" "$2")" = "$3" ]; }
log_has() { grep -q -- "$2" "$TC_TMP/$1.log"; }
count_in_log() { grep -c -- "$2" "$TC_TMP/$1.log"; }

"$TABLECRON" migrate >/dev/null 2>&1 || tc_bail "migrate failed"
etcd_start

# --- bad settings: serve stops at once with exit status 2 -----------------
run_status 2 "serve refuses an etcd_endpoints that is not an http(s) URL" \
    timeout 10 "$TABLECRON" serve --etcd-endpoints "$E,etcd.example:2379"
like "$TC_OUT" "etcd_endpoints: 'etcd.example:2379' is not an http:// or https:// URL" \
    "and names the bad URL"
run_status 2 "serve refuses an etcd_prefix that does not start with /" \
    timeout 10 "$TABLECRON" serve --etcd-endpoints "$E" --etcd-prefix tablecron/
like "$TC_OUT" "etcd_prefix: 'tablecron/' must start with '/'" "and says why"

# --- two instances: one mirrors, the other stands by ---------------------
# "a" runs jobs, "b" is API-only (any serve may mirror) and has a dead
# endpoint first in its list.
start_bg "$TC_TMP/a.log" "$TABLECRON" serve --instance-id a --etcd-endpoints "$E"
A_PID=$TC_BG_PID
wait_until 20 log_has a 'msg="this instance mirrors jobs to etcd"' ||
    tc_bail "instance a did not start mirroring: $(tail -5 "$TC_TMP/a.log")"
A_URL=$(tc_api_url "$TC_TMP/a.log")
start_bg "$TC_TMP/b.log" "$TABLECRON" serve --instance-id b --no-scheduler \
    --etcd-endpoints "http://127.0.0.1:1,$E"
B_PID=$TC_BG_PID
if wait_until 20 log_has b 'standing by'; then pass "the second instance stands by"
else fail "the second instance stands by" "$(tail -5 "$TC_TMP/b.log")"; fi
is "$(q "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
         WHERE l.locktype = 'advisory' AND l.granted
           AND a.application_name = 'tablecron etcd mirror'")" 1 \
    "exactly one mirror holds the advisory lock"
is "$(count_in_log b 'this instance mirrors')" 0 "and it is not the standby"

# --- each change reaches etcd ----------------------------------------------
"$TABLECRON" job add j1 --schedule '0 3 * * *' --tz Europe/Paris --shell 'echo one' \
    --timeout 90s --retries 2 >/dev/null || tc_bail "job add failed"
t0=$(date +%s%N)
if wait_until 10 has_key default/j1; then
    pass "a job created with the command line appears in etcd ($((($(date +%s%N) - t0) / 1000000)) ms)"
else fail "a job created with the command line appears in etcd" "keys: $(ek keys | tr '\n' ' ')"; fi
value=$(ek get "${PREFIX}default/j1")
cat >"$TC_TMP/check.py" <<'EOF'
import json, sys
v = json.loads(sys.argv[1])
want = {"name": "j1", "department": "default", "schedule": "0 3 * * *",
        "timezone": "Europe/Paris", "kind": "shell", "config": {"command": "echo one"},
        "timeout_s": 90, "max_retries": 2, "retry_backoff_s": 10, "misfire_policy": "skip",
        "paused": False}
bad = {k: v.get(k) for k in want if v.get(k) != want[k]}
for k in ("status", "version", "next_time", "lease_owner", "lease_until"):
    if k in v:
        bad[k] = "present"
if not str(v.get("updated_at", "")).endswith("Z") or not isinstance(v.get("id"), int):
    bad["updated_at/id"] = [v.get("updated_at"), v.get("id")]
print(bad or "ok")
EOF
is "$(python3 -I -S "$TC_TMP/check.py" "$value")" ok "its value holds the definition and no run state"

"$TABLECRON" job edit j1 --schedule '30 4 * * *' >/dev/null
if wait_until 10 field_is default/j1 schedule '"30 4 * * *"'; then pass "a schedule change reaches etcd"
else fail "a schedule change reaches etcd" "$(ek get "${PREFIX}default/j1")"; fi
"$TABLECRON" job pause j1 >/dev/null
if wait_until 10 field_is default/j1 paused true; then pass "pausing reaches etcd"
else fail "pausing reaches etcd" "$(ek get "${PREFIX}default/j1")"; fi

"$TABLECRON" dept add ops >/dev/null
"$TABLECRON" job edit j1 --department ops >/dev/null
if wait_until 10 has_key ops/j1 && wait_until 10 no_key default/j1; then
    pass "moving a job to another department moves its key"
else fail "moving a job to another department moves its key" "keys: $(ek keys | tr '\n' ' ')"; fi
q "UPDATE jobs SET name = 'j1-renamed' WHERE name = 'j1'" >/dev/null
if wait_until 10 has_key ops/j1-renamed && wait_until 10 no_key ops/j1; then
    pass "renaming a job with SQL moves its key"
else fail "renaming a job with SQL moves its key" "keys: $(ek keys | tr '\n' ' ')"; fi
is "$(ek field "${PREFIX}ops/j1-renamed" department)" '"ops"' \
    "the value names the new department"

q "INSERT INTO jobs (name, schedule, kind, config)
   VALUES ('sqljob', '0 1 * * *', 'shell', '{\"command\": \"true\"}')" >/dev/null
if wait_until 10 has_key default/sqljob; then pass "a job inserted with plain SQL is mirrored"
else fail "a job inserted with plain SQL is mirrored" "keys: $(ek keys | tr '\n' ' ')"; fi

"$TABLECRON" job rm j1-renamed >/dev/null
if wait_until 10 no_key ops/j1-renamed; then pass "deleting a job removes its key"
else fail "deleting a job removes its key" "keys: $(ek keys | tr '\n' ' ')"; fi

# --- runs do not write to etcd ---------------------------------------------
"$TABLECRON" job add tick --schedule '* * * * * *' --shell true >/dev/null
"$TABLECRON" job add gone --schedule '@daily' --shell true >/dev/null
wait_until 20 has_key default/tick && wait_until 20 has_key default/gone ||
    tc_bail "the jobs tick and gone did not appear in etcd: keys $(ek keys | tr '\n' ' '); $(tail -3 "$TC_TMP/a.log")"
runs() { q "SELECT count(*) FROM executions e JOIN jobs j ON j.id = e.job_id WHERE j.name = 'tick'"; }
runs_above() { [ "$(runs)" -ge "$1" ]; }
wait_until 20 runs_above 1 || tc_bail "tick does not run: $(tail -5 "$TC_TMP/a.log")"
modrev=$(ek modrev "${PREFIX}default/tick")
rev=$(ek rev)
n=$(runs)
if wait_until 20 runs_above $((n + 4)); then pass "tick ran 4 more times"
else fail "tick ran 4 more times" "runs: $(runs) (was $n)"; fi
is "$(ek modrev "${PREFIX}default/tick")" "$modrev" "its key was not written by those runs"
is "$(ek rev)" "$rev" "nor was anything else in etcd"

# --- etcd down: scheduling and the API carry on; the mirror catches up -------
ek put "${PREFIX}default/stray" '{"by": "hand"}'
ek put /elsewhere/keep 'not ours'
ek put /tablecron/jobs 'the prefix without its slash: not ours'
keep_rev=$(ek modrev /elsewhere/keep)
kill -TERM "$ETCD_PID"
wait "$ETCD_PID" 2>/dev/null
ek rev && tc_bail "etcd still answers after being stopped"

"$TABLECRON" job add during --schedule '@hourly' --shell true >/dev/null
"$TABLECRON" job edit sqljob --schedule '0 5 * * *' >/dev/null
"$TABLECRON" job rm gone >/dev/null
if wait_until 20 log_has a 'etcd is unavailable'; then pass "the mirror notices etcd is down"
else fail "the mirror notices etcd is down" "$(tail -5 "$TC_TMP/a.log")"; fi
n=$(runs)
if wait_until 20 runs_above $((n + 3)); then pass "jobs keep running while etcd is down"
else fail "jobs keep running while etcd is down" "runs: $(runs) (was $n)"; fi
t=$(curl -s -o /dev/null -m 5 -w '%{http_code} %{time_total}' "$A_URL/readyz")
like "$t" '^200 (0|1)\.' "the API answers at once while etcd is down ($t s)"
"$TABLECRON" job add during2 --schedule '@hourly' --shell true >/dev/null
n=$(runs)
wait_until 20 runs_above $((n + 2)) >/dev/null
is "$(count_in_log a 'etcd is unavailable')" 1 "the outage is logged once, not per attempt"

etcd_start
if wait_until 30 log_has a 'etcd answers again'; then pass "the mirror sees etcd is back"
else fail "the mirror sees etcd is back" "$(tail -5 "$TC_TMP/a.log")"; fi
if wait_until 10 has_key default/during && wait_until 10 has_key default/during2; then
    pass "jobs created during the outage are in etcd"
else fail "jobs created during the outage are in etcd" "keys: $(ek keys | tr '\n' ' ')"; fi
is "$(ek field "${PREFIX}default/sqljob" schedule)" '"0 5 * * *"' "a change made during the outage is in etcd"
if wait_until 10 no_key default/gone; then pass "a job deleted during the outage is gone from etcd"
else fail "a job deleted during the outage is gone from etcd" "keys: $(ek keys | tr '\n' ' ')"; fi
if wait_until 10 no_key default/stray; then pass "a stray key under the prefix is removed"
else fail "a stray key under the prefix is removed" "keys: $(ek keys | tr '\n' ' ')"; fi
is "$(ek get /elsewhere/keep) $(ek modrev /elsewhere/keep)" "not ours $keep_rev" \
    "a key outside the prefix is left alone"
is "$(ek get /tablecron/jobs)" 'the prefix without its slash: not ours' \
    "so is the prefix itself without its slash"
want=$(q "SELECT string_agg('$PREFIX' || d.name || '/' || j.name, ' ' ORDER BY 1)
            FROM jobs j JOIN departments d ON d.id = j.department_id")
got=$(ek keys | grep -F "$PREFIX" | sort | tr '\n' ' ')
is "${got% }" "$(printf '%s\n' $want | sort | tr '\n' ' ' | sed 's/ $//')" \
    "etcd holds exactly the jobs under the prefix"
metrics=$(curl -s "$A_URL/metrics")
like "$metrics" 'tablecron_etcd_mirror_errors_total [1-9]' "/metrics counts the failed requests"
like "$metrics" 'tablecron_etcd_mirror_active 1' "and shows this instance mirrors"
like "$metrics" 'tablecron_etcd_puts_total [1-9]' "and counts the puts"

# --- the mirror dies: the other instance takes over -------------------------
kill -KILL "$A_PID"
wait "$A_PID" 2>/dev/null
if wait_until 20 log_has b 'this instance mirrors jobs to etcd'; then
    pass "the standby takes over when the mirror is killed"
else fail "the standby takes over when the mirror is killed" "$(tail -5 "$TC_TMP/b.log")"; fi
"$TABLECRON" job add after --schedule '@hourly' --shell true >/dev/null
"$TABLECRON" job rm during >/dev/null
if wait_until 10 has_key default/after && wait_until 10 no_key default/during; then
    pass "and mirrors new changes"
else fail "and mirrors new changes" "keys: $(ek keys | tr '\n' ' ')"; fi
B_URL=$(tc_api_url "$TC_TMP/b.log")
like "$(curl -s "$B_URL/metrics")" 'tablecron_etcd_mirror_active 1' "its /metrics shows it mirrors"

# --- etcd with authentication ---------------------------------------------
curl -s -X POST "$E/v3/auth/user/add" -d '{"name": "root", "password": "s3cret pw"}' >/dev/null
curl -s -X POST "$E/v3/auth/user/grant" -d '{"user": "root", "role": "root"}' >/dev/null
curl -s -X POST "$E/v3/auth/enable" -d '{}' >/dev/null
ETCD_TOKEN=$(curl -s -X POST "$E/v3/auth/authenticate" -d '{"name": "root", "password": "s3cret pw"}' |
    python3 -I -S -c 'import json, sys; print(json.load(sys.stdin).get("token", ""))')
export ETCD_TOKEN
[ -n "$ETCD_TOKEN" ] || tc_bail "could not turn on authentication in etcd"
"$TABLECRON" job add authed --schedule '@hourly' --shell true >/dev/null
if wait_until 20 log_has b 'etcd is unavailable'; then pass "without credentials the mirror is refused"
else fail "without credentials the mirror is refused" "$(tail -5 "$TC_TMP/b.log")"; fi
like "$(grep 'etcd is unavailable' "$TC_TMP/b.log" | tail -n 1)" 'user name is empty' \
    "and logs etcd's reason"
kill -KILL "$B_PID"
wait "$B_PID" 2>/dev/null
printf 'etcd_endpoints = %s\netcd_username = root\netcd_password = s3cret pw\n' "$E" >"$TC_TMP/auth.conf"
start_bg "$TC_TMP/c.log" "$TABLECRON" --config "$TC_TMP/auth.conf" serve --instance-id c --no-api
C_PID=$TC_BG_PID
if wait_until 20 has_key default/authed; then pass "with etcd_username and etcd_password it mirrors"
else fail "with etcd_username and etcd_password it mirrors" "$(tail -5 "$TC_TMP/c.log")"; fi
"$TABLECRON" job rm authed >/dev/null
if wait_until 10 no_key default/authed; then pass "and keeps mirroring"
else fail "and keeps mirroring" "$(tail -5 "$TC_TMP/c.log")"; fi
if grep -q 's3cret' "$TC_TMP"/[abc].log; then fail "no log line holds the etcd password"
else pass "no log line holds the etcd password"; fi

# A clean stop (under the sanitizers: no leak, no runtime error anywhere).
kill -TERM "$C_PID"
wait "$C_PID"
is "$?" 0 "an instance with the mirror on stops cleanly with SIGTERM"
problems=$(grep -hE 'level=error|Sanitizer|runtime error|Segmentation' "$TC_TMP"/[abc].log | head -n 5)
is "$problems" "" "no errors, sanitizer reports or leaks in the instances' logs"

done_testing
