# shards.sh - sharded jobs: the shard rows 0007's triggers keep in step
# with their job and the hand edits they refuse (plain SQL); then, on two
# instances that run one task each, a 4-shard shell job run through the
# API: both instances run shards, each shard sees its index and count, a
# shard that fails once is retried alone and shard_fire_times says
# "failed" until its retry succeeds; pause, resume, shards 4 -> 2 -> 4,
# kill, run and delete act on every shard; an HTTP job's shards send their
# headers to a local server; bad shards values are refused with a 400;
# the etcd mirror writes a sharded job as one key.
. "$TC_SRCDIR/tests/lib.sh"
. "$TC_SRCDIR/tests/servers/servers.sh"
plan 56

tc_need_tools curl python3 etcd
"$TABLECRON" migrate >/dev/null 2>&1 || tc_bail "migrate failed"

# rows JOB: the job's rows (its own and its shard rows) as name=status.
rows() {
    q "SELECT string_agg(name || '=' || status, ' ' ORDER BY shard_index) FROM jobs
        WHERE id = $1 OR shard_of = $1"
}
# refused DESC SQL REGEX: the statement fails with an error matching REGEX.
refused() {
    local out
    if out=$(q "$2" 2>&1); then fail "$1" "the statement was accepted: $out"; else like "$out" "$3" "$1"; fi
}

# --- 1. the shard rows, in plain SQL -----------------------------------------
j=$(q "INSERT INTO jobs (name, schedule, kind, config, shards, timeout_s)
       VALUES ('sq', '@manual', 'shell', '{\"command\": \"true\"}', 3, 77) RETURNING id")
defs="SELECT string_agg(name || ':' || shard_index || ':' || shards || ':' || timeout_s || ':' || status,
                        ' ' ORDER BY shard_index) FROM jobs WHERE id = $j OR shard_of = $j"
is "$(q "$defs")" "sq:0:3:77:waiting sq#1:1:3:77:waiting sq#2:2:3:77:waiting" \
    "a job inserted with shards = 3 gets shard rows 1 and 2, named after it, with its definition"
q "UPDATE jobs SET name = 'sq2', timeout_s = 88, status = 'paused' WHERE id = $j" >/dev/null
is "$(q "$defs")" "sq2:0:3:88:paused sq2#1:1:3:88:paused sq2#2:2:3:88:paused" \
    "a rename, a definition change and a pause by SQL reach them"
s1=$(q "SELECT id FROM jobs WHERE shard_of = $j AND shard_index = 1")
refused "a shard row's definition is not edited by hand" \
    "UPDATE jobs SET timeout_s = 5 WHERE id = $s1" "definition must be its job's"
refused "nor its name" "UPDATE jobs SET name = 'other#1' WHERE id = $s1" "must be named sq2#1"
refused "a shard row of a shard row is refused" \
    "INSERT INTO jobs (name, schedule, kind, config, shards, timeout_s, shard_of, shard_index, status)
     VALUES ('zz#1', '@manual', 'shell', '{\"command\": \"true\"}', 3, 88, $s1, 1, 'paused')" \
    'must name a job, not another shard row'
refused "so is an index the job does not have" \
    "INSERT INTO jobs (name, schedule, kind, config, shards, timeout_s, shard_of, shard_index)
     VALUES ('sq2#3', '@manual', 'shell', '{\"command\": \"true\"}', 3, 88, $j, 3)" 'jobs_shard_in_range'
refused "and a second row for one index" \
    "INSERT INTO jobs (name, schedule, kind, config, shards, timeout_s, shard_of, shard_index)
     VALUES ('sq2#2', '@manual', 'shell', '{\"command\": \"true\"}', 3, 88, $j, 2)" 'jobs_shard_once|jobs_name_key'
refused "a shard row is not deleted alone" "DELETE FROM jobs WHERE id = $s1" 'belongs to its job'
is "$(q "SELECT string_agg(name, ' ') FROM job_overview")" "sq2" "job_overview lists the job, not its shard rows"
run_status 1 "the command line does not know a shard row as a job" "$TABLECRON" job show 'sq2#1'
q "DELETE FROM jobs WHERE id = $j" >/dev/null
is "$(q "SELECT count(*) FROM jobs")" 0 "deleting the job deletes its shard rows"

# --- 2. two instances, one task at a time each --------------------------------
tc_start_server web python3 "$TC_SERVERS/http_server.py" || tc_bail "the HTTP server did not start"
web=http://127.0.0.1:$TC_SERVER_PORT
"$TABLECRON" user add admin --admin >/dev/null 2>&1 || tc_bail "user add failed"
token=$("$TABLECRON" token create admin --name shards 2>/dev/null) || tc_bail "token create failed"
start_bg "$TC_TMP/a.log" "$TABLECRON" serve --instance-id a --max-running 1 --lease 3s --max-poll 1s
wait_until 10 grep -q 'msg=starting' "$TC_TMP/a.log" || tc_bail "serve a did not start: $(tail -3 "$TC_TMP/a.log")"
url=$(tc_api_url "$TC_TMP/a.log")
start_bg "$TC_TMP/b.log" "$TABLECRON" serve --instance-id b --max-running 1 --lease 3s --max-poll 1s --no-api
wait_until 10 grep -q 'msg=starting' "$TC_TMP/b.log" || tc_bail "serve b did not start: $(tail -3 "$TC_TMP/b.log")"

# api METHOD PATH [BODY]: the status in $code, the answer in $TC_TMP/body.
api() {
    code=$(curl -s -o "$TC_TMP/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' ${3:+--data "$3"} "$url/api/v1$2")
}
# jget EXPR: a Python expression of the answer d.
jget() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$TC_TMP/body" "$1"; }

# --- API and command line: shards in, bad values out ---------------------------
job='{"name": "bad", "department": "default", "schedule": "@manual", "kind": "noop", "config": {}'
for v in 0 1001 -1 '"4"' null 2.5; do
    api POST /jobs "$job, \"shards\": $v}"
    is "$code $(jget 'd["error"]["field"]')" "400 shards" "POST /jobs with shards = $v: 400 naming shards"
done
like "$(jget 'd["error"]["message"]')" 'shards' "and says so"
run_status 2 "job add --shards 1001 is a usage error" "$TABLECRON" job add bad --schedule @manual --noop --shards 1001
like "$TC_OUT" "bad --shards '1001': a whole number from 1 to 1000" "that names the range"

cmd="echo shard \$TABLECRON_SHARD_INDEX/\$TABLECRON_SHARD_COUNT of \$TABLECRON_JOB; sleep 2;"
cmd="$cmd if [ \$TABLECRON_SHARD_INDEX = 1 ] && ! [ -e $TC_TMP/failed-once ]; then"
cmd="$cmd touch $TC_TMP/failed-once; exit 3; fi"
api POST /jobs "{\"name\": \"sh\", \"department\": \"default\", \"schedule\": \"@manual\", \"kind\": \"shell\",
                 \"config\": {\"command\": \"$cmd\"}, \"max_retries\": 1, \"retry_backoff_s\": 4,
                 \"shards\": 4}"
is "$code $(jget 'd["shards"]')" "201 4" "POST /jobs with shards = 4 creates a sharded job"
sh=$(jget 'd["id"]')
is "$(rows "$sh")" "sh=waiting sh#1=waiting sh#2=waiting sh#3=waiting" "with its 3 shard rows"
api GET "/jobs?q=sh"
is "$(jget 'd["total"], [i["name"] for i in d["items"]]')" "(1, ['sh'])" "GET /jobs lists the job alone"
api GET "/jobs/$(q "SELECT id FROM jobs WHERE shard_of = $sh AND shard_index = 1")"
is "$code" 404 "a shard row's id is not a job of the API"

# --- a fire time: both instances, each shard its index, one retried alone ------
api POST "/jobs/$sh/run"
is "$code $(jget 'd["outcome"]')" "200 done" "run now"
state="SELECT status || ' ' || retrying FROM shard_fire_times WHERE job_id = $sh"
if wait_sql 30 "failed 1" "$state"; then
    pass "the fire time is failed while the failing shard's retry is pending"
else fail "the fire time is failed while the failing shard's retry is pending" "$(q "SELECT * FROM shard_fire_times")"; fi
if wait_sql 30 "succeeded 0" "$state"; then pass "and succeeded once the retry did"
else fail "and succeeded once the retry did" "$(q "SELECT * FROM shard_fire_times")"; fi
is "$(q "SELECT shards, succeeded, failed, running, pending, attempts, finished_at IS NOT NULL
         FROM shard_fire_times WHERE job_id = $sh")" "4|4|0|0|0|5|t" \
    "shard_fire_times: 4 shards, all succeeded, 5 executions, finished"
is "$(q "SELECT count(DISTINCT scheduled_for) FROM executions WHERE job_id = $sh")" 1 \
    "every shard ran the same fire time"
is "$(q "SELECT string_agg(instance_id, ' ' ORDER BY instance_id) FROM
         (SELECT DISTINCT instance_id FROM executions WHERE job_id = $sh) i")" "a b" \
    "both instances ran shards of it"
is "$(q "SELECT string_agg(shard_index || ':' || attempt || ':' || status, ' '
                           ORDER BY shard_index, attempt) FROM executions WHERE job_id = $sh")" \
    "0:1:succeeded 1:1:failed 1:2:succeeded 2:1:succeeded 3:1:succeeded" \
    "the failed shard alone ran a second attempt"
is "$(q "SELECT string_agg(btrim(output, E'\\n'), ',' ORDER BY shard_index) FROM executions
         WHERE job_id = $sh AND attempt = 1")" \
    "shard 0/4 of sh,shard 1/4 of sh,shard 2/4 of sh,shard 3/4 of sh" \
    "each shard saw its TABLECRON_SHARD_INDEX and TABLECRON_SHARD_COUNT"
is "$(q "SELECT count(*) FROM executions WHERE job_id IN (SELECT id FROM jobs WHERE shard_of = $sh)")" 0 \
    "nothing is recorded under the shard rows"
api GET "/jobs/$sh"
is "$(jget '[(f["status"], f["shards"], f["succeeded"]) for f in d["shard_fire_times"]]')" \
    "[('succeeded', 4, 4)]" "GET /jobs/{id} shows the fire time's shards"
api GET "/executions?job=$sh"
is "$(jget 'sorted((e["shard_index"], e["attempt"]) for e in d["items"])')" \
    "[(0, 1), (1, 1), (1, 2), (2, 1), (3, 1)]" "GET /executions gives each run's shard_index"
like "$("$TABLECRON" job show sh | sed -n '/^recent fire times/,/^recent executions/p')" \
    'Z +succeeded +4 +4 +0 +0 +0 +0 +0' "job show prints the fire time's shards"

# --- pause, fewer and more shards, resume ----------------------------------------
api POST "/jobs/$sh/pause"
is "$code $(rows "$sh")" "200 sh=paused sh#1=paused sh#2=paused sh#3=paused" "a pause reaches every shard"
version() { api GET "/jobs/$sh"; jget 'd["version"]'; }
api PATCH "/jobs/$sh" "{\"version\": $(version), \"shards\": 2}"
is "$code $(rows "$sh")" "200 sh=paused sh#1=paused" "shards 4 -> 2 removes two shard rows"
api PATCH "/jobs/$sh" "{\"version\": $(version), \"shards\": 4}"
is "$code $(rows "$sh")" "200 sh=paused sh#1=paused sh#2=paused sh#3=paused" \
    "shards 2 -> 4 adds them back, paused like the job"
is "$(q "SELECT count(DISTINCT (schedule, config::text, timeout_s, max_retries, shards))
         FROM jobs WHERE id = $sh OR shard_of = $sh")" 1 "with the job's definition"
api PATCH "/jobs/$sh" "{\"version\": $(version), \"shards\": 0}"
is "$code $(jget 'd["error"]["field"]')" "400 shards" "PATCH with shards = 0: 400 naming shards"
api POST "/jobs/$sh/resume"
is "$code $(rows "$sh")" "200 sh=waiting sh#1=waiting sh#2=waiting sh#3=waiting" "a resume reaches every shard"
is "$(q "SELECT count(*) FROM audit_log WHERE object_id = '$sh' AND action = 'job.update'")" 2 \
    "the shard changes are audited"

# --- an HTTP job's shards send their headers ------------------------------------
api POST /jobs "{\"name\": \"web\", \"department\": \"default\", \"schedule\": \"@manual\", \"kind\": \"http\",
                 \"config\": {\"url\": \"$web/ok?j=web\"}, \"shards\": 2}"
w=$(jget 'd["id"]')
api POST "/jobs/$w/run"
wait_sql 20 2 "SELECT count(*) FROM executions WHERE job_id = $w AND status = 'succeeded'"
is "$(tc_log "$TC_TMP/web.log" "r['event'] == 'request' and 'j=web' in r['path']" \
        "h.get('x-tablecron-shard-index', '?') + '/' + h.get('x-tablecron-shard-count', '?')" | sort | tr '\n' ' ')" \
    "0/2 1/2 " "each HTTP request carries X-Tablecron-Shard-Index and -Count"

# --- while shards run: run, fewer shards and delete are refused; kill kills all ---
api POST /jobs "{\"name\": \"long\", \"department\": \"default\", \"schedule\": \"@manual\", \"kind\": \"shell\",
                 \"config\": {\"command\": \"sleep 60\"}, \"shards\": 2}"
long=$(jget 'd["id"]')
api POST "/jobs/$long/run"
if wait_sql 20 2 "SELECT count(*) FROM executions WHERE job_id = $long AND status = 'running'"; then
    pass "both shards of another job run"
else fail "both shards of another job run" "$(q "SELECT * FROM shard_fire_times")"; fi
api POST "/jobs/$long/run"
is "$code $(jget 'd["error"]["code"]')" "409 conflict" "run now while shards run: 409"
api PATCH "/jobs/$long" "{\"version\": $(q "SELECT version FROM jobs WHERE id = $long"), \"shards\": 1}"
is "$code $(jget 'd["error"]["field"]')" "409 shards" "fewer shards while they run: 409 naming shards"
api DELETE "/jobs/$long"
is "$code $(jget 'd["error"]["field"]')" "409 force" "delete while shards run: 409 unless forced"
api POST "/jobs/$long/kill"
is "$code $(jget 'd["outcome"]')" "200 requested" "kill"
if wait_sql 20 "killed killed" "SELECT string_agg(status, ' ') FROM executions WHERE job_id = $long"; then
    pass "kills every shard"
else fail "kills every shard" "$(q "SELECT shard_index, status FROM executions WHERE job_id = $long")"; fi
wait_sql 10 "" "SELECT string_agg(name, ' ') FROM jobs WHERE (id = $long OR shard_of = $long) AND status <> 'waiting'"
is "$(q "SELECT count(*) FROM jobs WHERE kill_requested_at IS NOT NULL")" 0 "and no kill request is left behind"
is "$(q "SELECT status FROM shard_fire_times WHERE job_id = $long")" "failed" "its fire time is failed"

# --- delete ------------------------------------------------------------------------
api DELETE "/jobs/$sh"
is "$code $(q "SELECT count(*) FROM jobs WHERE id = $sh OR shard_of = $sh")" "204 0" \
    "deleting the job through the API deletes its shard rows"
is "$(q "SELECT count(*) FROM executions WHERE job_id = $sh")" 0 "and its executions"

# --- the etcd mirror: a sharded job is one key ------------------------------------
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
E=http://127.0.0.1:$(free_port)
peer=http://127.0.0.1:$(free_port)
start_bg "$TC_TMP/etcd.log" etcd --name tc --data-dir "$TC_TMP/etcd" --listen-client-urls "$E" \
    --advertise-client-urls "$E" --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
    --initial-cluster "tc=$peer" --log-level warn
# etcd_jobs: key=shards of every key under the mirror's prefix.
etcd_jobs() {
    python3 -c '
import base64, json, sys, urllib.request
b64 = lambda s: base64.b64encode(s.encode()).decode()
req = urllib.request.Request(sys.argv[1] + "/v3/kv/range", json.dumps(
    {"key": b64("/tablecron/jobs/"), "range_end": b64("/tablecron/jobs0")}).encode(),
    {"Content-Type": "application/json"})
kvs = json.load(urllib.request.urlopen(req, timeout=5)).get("kvs", [])
print(" ".join(sorted(base64.b64decode(kv["key"]).decode() + "=" +
                      str(json.loads(base64.b64decode(kv["value"]))["shards"]) for kv in kvs)))
' "$E" 2>/dev/null
}
etcd_has_all() { [ "$(etcd_jobs)" = "/tablecron/jobs/default/long=2 /tablecron/jobs/default/web=2" ]; }
start_bg "$TC_TMP/m.log" "$TABLECRON" serve --instance-id m --no-scheduler --no-api --etcd-endpoints "$E"
if wait_until 30 etcd_has_all; then pass "the etcd mirror writes each sharded job once, with its shards"
else fail "the etcd mirror writes each sharded job once, with its shards" "keys: $(etcd_jobs)" \
    "$(tail -3 "$TC_TMP/m.log")"; fi

# Nothing went wrong in the instances.
is "$(cat "$TC_TMP/a.log" "$TC_TMP/b.log" "$TC_TMP/m.log" | grep -c 'level=error')" 0 "no error was logged"
done_testing
