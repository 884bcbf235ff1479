# api_jobs.sh - the jobs and executions API against a real instance (its
# scheduler on): create, list (filters, every job exactly once across
# pages), read, change (version conflicts), move, delete, run / pause /
# resume / kill with a shell job that really runs, the executions it
# leaves (list, pages, output), instances, schedule previews; the audit
# rows name the user.  The requests go through api_lib.sh's helpers (a
# caller LOGIN sends the bearer token "tok-LOGIN"); the users, roles and
# tokens are this test's own, made by SQL below.
. "$TC_SRCDIR/tests/lib.sh"
. "$TC_SRCDIR/tests/api_lib.sh"
plan 141

api_need_tools
"$TABLECRON" migrate >/dev/null 2>&1 || api_bail "migrate failed"
# Departments 11 A and 12 B; users 21 admin, 22 a_manager, 23 a_operator,
# 24 a_viewer (their roles in A), 25 b_manager (of B), 29 ab_mover
# (manager of A, viewer of B), 30 ab_manager (manager of both); jobs 51
# job-a (A) and 52 job-b (B) with one execution each (61 succeeded, 62
# failed), an hour ago.  New rows get ids from 1000 on.
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || api_bail "cannot load the fixtures"
BEGIN;
INSERT INTO departments (id, name) VALUES (11, 'A'), (12, 'B');
INSERT INTO users (id, login, is_admin) VALUES (21, 'admin', true), (22, 'a_manager', false),
    (23, 'a_operator', false), (24, 'a_viewer', false), (25, 'b_manager', false),
    (29, 'ab_mover', false), (30, 'ab_manager', false);
INSERT INTO memberships (user_id, department_id, role) VALUES (22, 11, 'manager'),
    (23, 11, 'operator'), (24, 11, 'viewer'), (25, 12, 'manager'), (29, 11, 'manager'),
    (29, 12, 'viewer'), (30, 11, 'manager'), (30, 12, 'manager');
INSERT INTO api_tokens (user_id, token_hash)
    SELECT id, encode(sha256(convert_to('tok-' || login, 'UTF8')), 'hex') FROM users;
INSERT INTO jobs (id, department_id, name, schedule, kind, config) VALUES
    (51, 11, 'job-a', '@yearly', 'shell', '{"command": "echo a"}'),
    (52, 12, 'job-b', '@yearly', 'shell', '{"command": "echo b"}');
INSERT INTO executions (id, job_id, scheduled_for, instance_id, status, started_at, finished_at,
                        exit_code, output) VALUES
    (61, 51, now() - interval '1 hour', 'elsewhere', 'succeeded', now() - interval '1 hour',
     now() - interval '59 minutes', 0, 'output of a'),
    (62, 52, now() - interval '1 hour', 'elsewhere', 'failed', now() - interval '1 hour',
     now() - interval '59 minutes', 1, 'output of b');
SELECT setval(pg_get_serial_sequence(t, 'id'), 1000)
    FROM unnest(ARRAY['departments', 'users', 'api_tokens', 'jobs', 'executions']) t;
COMMIT;
SQL

API_LOG=$TC_TMP/jobs1.log
start_bg "$API_LOG" "$TABLECRON" serve --instance-id jobs1 --max-poll 1s --lease 3s
API_PID=$TC_BG_PID
wait_until 15 api_started "$API_LOG" || api_bail "serve did not start: $(tail -n 5 "$API_LOG")"
API_URL=$(tc_api_url "$API_LOG")
wait_until 10 curl -sf -o /dev/null "$API_URL/healthz" || api_bail "serve does not answer /healthz"

# post WHO JSON: POST /api/v1/jobs
post() { api "$1" POST /api/v1/jobs "$2"; }
# err: "STATUS CODE FIELD" of the last answer
err() { echo "$API_CODE $(jpy 'd["error"]["code"] + " " + str(d["error"].get("field"))')"; }
# shell_job NAME DEPT COMMAND [MORE JSON MEMBERS]
shell_job() { printf '{"name": "%s", "schedule": "@every 1h", "department": %s, "kind": "shell", "config": {"command": "%s"}%s}' "$1" "$2" "$3" "${4:-}"; }
job_id() { q "SELECT id FROM jobs WHERE name = '$1'"; }
ISO='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'

# --- create ---------------------------------------------------------------
post a_manager "$(shell_job hello '"A"' 'echo hello-$TABLECRON_EXECUTION_ID')"
is "$API_CODE" 201 "a manager of A creates a job in A (department by name)"
hello=$(job_id hello)
like "$(grep -i '^Location:' "$TC_TMP/api.headers")" "/api/v1/jobs/$hello" "with its Location"
is "$(jpy '[d[k] for k in ("id", "name", "kind", "schedule", "timezone", "status", "running", "paused", "last_execution")] + [d["version"] >= 1]')" \
    "[$hello, 'hello', 'shell', '@every 1h', 'UTC', 'waiting', False, False, None, True]" "the answer is the new job"
is "$(jpy 'd["department"]')" "{'id': 11, 'name': 'A'}" "its department is {id, name}"
is "$(jpy 'd["config"]["command"]')" 'echo hello-$TABLECRON_EXECUTION_ID' "its config as JSON"
is "$(jpy '(d["timeout_s"], d["max_retries"], d["retry_backoff_s"], d["misfire_policy"], d["pause_requested"])')" \
    "(3600, 0, 10, 'skip', False)" "the defaults of the other settings"
like "$(jpy 'd["created_at"] + " " + d["updated_at"]')" '^[0-9-]{10}T[0-9:]{8}Z [0-9-]{10}T[0-9:]{8}Z$' "times are ISO 8601 UTC with Z"
is "$(jpy 'len(d["next_fire_times"])')" 5 "with its next 5 fire times"
is "$(q "SELECT actor || '|' || actor_user_id || '|' || remote_addr || '|' || department_id || '|' || (after->>'name')
         FROM audit_log WHERE action = 'job.create' AND object_id = '$hello'")" \
    "token:a_manager|22|127.0.0.1|11|hello" "the audit row names the user, the address and the department"

post a_manager "$(shell_job paris 11 'true' ', "timezone": "Europe/Paris", "timeout_s": 90, "max_retries": 2, "retry_backoff_s": 5, "misfire_policy": "once", "paused": true, "description": "weekday mornings"' | sed 's/@every 1h/0 30 9 * * MON-FRI/')"
is "$API_CODE" 201 "a job in a department given by id, with every setting"
is "$(jpy '(d["department"]["name"], d["status"], d["paused"], d["timezone"], d["timeout_s"], d["max_retries"], d["retry_backoff_s"], d["misfire_policy"], d["description"])')" \
    "('A', 'paused', True, 'Europe/Paris', 90, 2, 5, 'once', 'weekday mornings')" "every setting is stored"
like "$(jpy '" ".join(d["next_fire_times"])')" '^([0-9-]{10}T09:30:00\+0[12]:00 ?){5}$' \
    "fire times are in the job's zone with its offset"
paris=$(job_id paris)

post a_operator "$(shell_job op1 '"A"' true)"
is "$(err)" "403 forbidden department" "an operator of A may not create jobs there (403)"
post b_manager "$(shell_job b1 '"A"' true)"
is "$(err)" "404 not_found department" "a department the caller is not in is not found (404)"
post a_manager "$(shell_job a2 999 true)"
is "$(err)" "404 not_found department" "so is one that does not exist"
post a_manager "$(shell_job hello '"A"' true)"
is "$(err)" "409 conflict name" "a duplicate name is a 409 naming the field"
post a_manager "$(shell_job bad1 '"A"' true | sed 's/@every 1h/0 0 1,15 JNA */')"
is "$(err)" "422 bad_schedule schedule" "a bad schedule is a 422"
is "$(jpy 'd["error"]["position"]')" 9 "with the position of the error"
like "$(jpy 'd["error"]["message"]')" "unknown month name 'JNA'" "and its words"
post a_manager "$(shell_job bad2 '"A"' true ', "timezone": "Mars/Olympus"')"
is "$(err)" "400 invalid timezone" "a bad zone is a 400 naming it"
post a_manager "$(shell_job bad3 '"A"' '')"
is "$(err)" "400 invalid config.command" "a bad config names its key"
post a_manager "$(shell_job bad4 '"A"' true ', "colour": "red"')"
is "$(err)" "400 unknown_field colour" "an unknown field is a 400 naming it"
post a_manager "$(shell_job bad5 '"A"' true ', "timeout_s": "90"')"
is "$(err)" "400 wrong_type timeout_s" "a wrong type is a 400 naming the field"
post a_manager "$(shell_job bad6 '"A"' true ', "timeout_s": 0')"
is "$(err)" "400 invalid timeout_s" "a value out of range names the field"
post a_manager "$(shell_job bad7 '"A"' true ', "max_retries": -1')"
is "$(err)" "400 invalid max_retries" "a negative number is out of range, never 'not given'"
post a_manager "$(shell_job bad8 '"A"' true | sed 's/"shell"/"ftp"/')"
is "$(err)" "400 invalid kind" "an unknown kind"
post a_manager '{"name": "bad10", "schedule": "@daily", "department": "A", "kind": "noop", "config": {"command": "true"}}'
is "$(err)" "400 invalid config.command" "a noop config with a key is a 400 naming it"
like "$(jpy 'd["error"]["message"]')" "unknown field 'command' in a noop config \\(it takes none: use \\{\\}\\)" \
    "in job_config's words"
post a_manager "$(shell_job 'has space' '"A"' true)"
is "$(err)" "400 invalid name" "a name the table refuses"
post a_manager '{"name": "x", "schedule": "@daily", "department": "A", "kind": "shell"}'
is "$(err)" "400 missing_field config" "a missing field"
post a_manager "$(shell_job bad9 true true)"
is "$(err)" "400 wrong_type department" "a department that is neither an id nor a name"
is "$(q "SELECT count(*) FROM jobs WHERE name LIKE 'bad%' OR name IN ('op1', 'b1', 'a2', 'x', 'has space')")" 0 \
    "no refused job was stored"
api anon GET /api/v1/jobs
is "$API_CODE" 401 "anonymous callers are refused"

# --- read -----------------------------------------------------------------
api a_viewer GET "/api/v1/jobs/$hello"
is "$API_CODE" 200 "a viewer of A reads a job of A"
is "$(jpy 'd["name"] + " " + str(d["next_fire_times_error"])')" "hello None" "with no fire time error"
api b_manager GET "/api/v1/jobs/$hello"
is "$(err)" "404 not_found None" "a job of another department is not found"
api a_viewer GET /api/v1/jobs/99999
is "$API_CODE" 404 "nor is a job that does not exist"

# --- list -----------------------------------------------------------------
api a_viewer GET /api/v1/jobs
is "$API_CODE" 200 "a viewer lists jobs"
is "$(jpy 'sorted(set(j["department"]["name"] for j in d["items"]))')" "['A']" "only those of their departments"
is "$(jpy 'd["total"]')" "$(q 'SELECT count(*) FROM jobs WHERE department_id = 11')" "total counts them"
is "$(jpy '[j["name"] for j in d["items"]] == sorted(j["name"] for j in d["items"])')" True "by name by default"
is "$(jpy 'sorted(d["items"][0])')" \
    "['attempt', 'awaiting_callback', 'config', 'created_at', 'department', 'description', 'id', 'kill_requested_at', 'kind', 'last_execution', 'lease_owner', 'lease_until', 'max_retries', 'misfire_policy', 'name', 'next_time', 'pause_requested', 'paused', 'retry_backoff_s', 'running', 'schedule', 'schedule_error', 'scheduled_for', 'shards', 'status', 'timeout_s', 'timezone', 'updated_at', 'version']" \
    "an item has every documented field"
is "$(jpy '[j["last_execution"] for j in d["items"] if j["name"] == "job-a"][0]["status"]')" succeeded \
    "and its last execution"
api admin GET /api/v1/jobs
is "$(jpy 'd["total"]')" "$(q 'SELECT count(*) FROM jobs')" "an administrator sees every job"
api b_manager GET /api/v1/jobs
is "$(jpy '[j["name"] for j in d["items"]]')" "['job-b']" "a manager of B sees B's"
api a_viewer GET '/api/v1/jobs?q=HELL'
is "$(jpy '[j["name"] for j in d["items"]]')" "['hello']" "?q= finds a piece of the name, any case"
api a_viewer GET '/api/v1/jobs?status=paused'
is "$(jpy '[j["name"] for j in d["items"]]')" "['paris']" "?status="
api admin GET '/api/v1/jobs?department=12'
is "$(jpy '[j["name"] for j in d["items"]]')" "['job-b']" "?department="
api a_viewer GET '/api/v1/jobs?department=12'
is "$(jpy 'd["total"]')" 0 "?department= of another department shows nothing"
api a_viewer GET '/api/v1/jobs?kind=http'
is "$(jpy 'd["total"]')" 0 "?kind="
for bad in 'status=nope' 'kind=ftp' 'sort=colour' 'limit=501' 'limit=0' 'department=x' 'cursor=zzz'; do
    api a_viewer GET "/api/v1/jobs?$bad"
    is "$(err)" "400 $(case $bad in cursor*) echo bad_cursor;; *) echo bad_parameter;; esac) ${bad%%=*}" "?$bad is a 400 naming it"
done

# --- pages: 120 jobs, each seen exactly once ---------------------------------
created=0
for i in $(seq -w 1 120); do
    post a_manager "$(shell_job "bulk-$i" '"A"' true ', "paused": true')"
    [ "$API_CODE" = 201 ] && created=$((created + 1))
done
is "$created" 120 "120 jobs created"
# walk WHO PATH FIELD: every page of PATH (a list with a query string),
# following "next"; prints FIELD of each item, one per line, and the number
# of pages into $TC_TMP/walk.pages
walk() {
    local who=$1 path=$2 field=$3 cursor= pages=0
    : >"$TC_TMP/walk"
    while :; do
        api "$who" GET "$path${cursor:+&cursor=$cursor}"
        [ "$API_CODE" = 200 ] || { echo "page $pages: $API_CODE $API_BODY" >>"$TC_TMP/walk"; break; }
        jpy '"\n".join(str(i["'"$field"'"]) for i in d["items"])' >>"$TC_TMP/walk"
        cursor=$(jpy 'd["next"] or ""')
        pages=$((pages + 1))
        [ -n "$cursor" ] && [ $pages -lt 100 ] || break
    done
    echo "$pages" >"$TC_TMP/walk.pages"
    sed '/^$/d' "$TC_TMP/walk"
}
names=$(walk a_manager '/api/v1/jobs?q=bulk-&limit=50' name)
is "$(cat "$TC_TMP/walk.pages") $(printf '%s\n' "$names" | wc -l) $(printf '%s\n' "$names" | sort -u | wc -l)" "3 120 120" \
    "three pages of 50: every job once"
is "$names" "$(seq -f 'bulk-%03g' 1 120)" "in name order"
for order in -name next_time -next_time id -id created_at -updated_at; do
    names=$(walk a_manager "/api/v1/jobs?sort=$order&limit=17" name)
    is "$(printf '%s\n' "$names" | wc -l) $(printf '%s\n' "$names" | sort -u | wc -l)" \
        "$(q 'SELECT count(*) FROM jobs WHERE department_id = 11') $(q 'SELECT count(*) FROM jobs WHERE department_id = 11')" \
        "sort=$order in pages of 17: every job of A once"
done
is "$(walk a_manager '/api/v1/jobs?sort=-id&limit=500' name | head -n 1)" "bulk-120" "sort=-id: the newest first"
api a_manager GET "/api/v1/jobs?q=bulk-&limit=50"
next=$(jpy 'd["next"]')
api a_manager GET "/api/v1/jobs?q=bulk-&limit=50&sort=id&cursor=$next"
is "$(err)" "400 bad_cursor cursor" "a cursor is taken only by the order that made it"

# --- change ---------------------------------------------------------------
# Once an instance has scheduled it, nothing moves the job's version but us.
wait_sql 10 t "SELECT next_time IS NOT NULL FROM jobs WHERE id = $hello"
v=$(q "SELECT version FROM jobs WHERE id = $hello")
api a_manager PATCH "/api/v1/jobs/$hello" "{\"version\": $v, \"timeout_s\": 120, \"config\": {\"env\": {\"GREETING\": \"hi\"}}}"
is "$API_CODE" 200 "a manager changes a job"
is "$(jpy '(d["timeout_s"], d["config"]["command"], d["config"]["env"], d["version"])')" \
    "(120, 'echo hello-\$TABLECRON_EXECUTION_ID', {'GREETING': 'hi'}, $((v + 1)))" \
    "the given settings change, config keys merge, the version moves"
is "$(q "SELECT actor || '|' || actor_user_id || '|' || (before->>'timeout_s') || '|' || (after->>'timeout_s')
         FROM audit_log WHERE action = 'job.update' AND object_id = '$hello'")" \
    "token:a_manager|22|3600|120" "the audit row has the user and the before and after images"
api a_manager PATCH "/api/v1/jobs/$hello" "{\"version\": $v, \"timeout_s\": 60}"
is "$(err)" "409 version_conflict version" "a change from a stale version is a 409 version_conflict"
is "$(q "SELECT timeout_s FROM jobs WHERE id = $hello")" 120 "and changes nothing"
api a_manager PATCH "/api/v1/jobs/$hello" '{"timeout_s": 60}'
is "$(err)" "400 missing_field version" "the version is required"
v=$((v + 1))
api a_manager PATCH "/api/v1/jobs/$hello" "{\"version\": $v, \"schedule\": \"*/5 * * * * * * *\"}"
is "$(err)" "422 bad_schedule schedule" "a bad new schedule is a 422"
like "$(jpy 'd["error"]["position"]')" '^[0-9]+$' "with its position"
api a_manager PATCH "/api/v1/jobs/$hello" "{\"version\": $v, \"name\": \"job-a\"}"
is "$(err)" "409 conflict name" "renaming onto another job's name is a 409"
api a_manager PATCH "/api/v1/jobs/$hello" "{\"version\": $v}"
is "$API_CODE $(jpy 'd["version"]')" "200 $v" "a change of nothing moves nothing"
api a_operator PATCH "/api/v1/jobs/$hello" "{\"version\": $v, \"timeout_s\": 60}"
is "$API_CODE" 403 "an operator may not change a job"

# Moving: manager rights in both departments.
post a_manager "$(shell_job mover '"A"' true ', "paused": true')"
mover=$(job_id mover)
mv_version() { q "SELECT version FROM jobs WHERE id = $mover"; }
api a_manager PATCH "/api/v1/jobs/$mover" "{\"version\": $(mv_version), \"department\": \"B\"}"
is "$(err)" "404 not_found department" "moving into a department one is not in: 404"
api ab_mover PATCH "/api/v1/jobs/$mover" "{\"version\": $(mv_version), \"department\": \"B\"}"
is "$(err)" "403 forbidden department" "moving into one where one is only a viewer: 403"
api ab_manager PATCH "/api/v1/jobs/$mover" "{\"version\": $(mv_version), \"department\": 12}"
is "$API_CODE $(jpy 'd["department"]["name"]')" "200 B" "a manager of both moves it"
api a_manager GET "/api/v1/jobs/$mover"
is "$API_CODE" 404 "and A's manager no longer sees it"

# --- actions and a real run ------------------------------------------------------
api a_viewer POST "/api/v1/jobs/$hello/run"
is "$API_CODE" 403 "a viewer may not run a job"
api a_operator POST "/api/v1/jobs/$hello/run"
is "$API_CODE $(jpy 'd["outcome"] + "|" + d["job"]["name"]')" "200 done|hello" "an operator runs it: {outcome, job}"
like "$(jpy 'd["message"]')" "will run now" "with the outcome in words"
is "$(q "SELECT actor_user_id FROM audit_log WHERE action = 'job.run' AND object_id = '$hello'")" 23 \
    "the run is audited with the operator's id"
ran() { [ "$(q "SELECT count(*) FROM executions WHERE job_id = $hello AND status = 'succeeded'")" = 1 ]; }
wait_until 20 ran && pass "the job ran" || fail "the job ran" "$(tail -n 5 "$API_LOG")"
api a_viewer GET "/api/v1/executions?job=$hello"
is "$API_CODE $(jpy 'len(d["items"])')" "200 1" "its execution is listed"
eid=$(jpy 'd["items"][0]["id"]')
is "$(jpy 'sorted(d["items"][0])')" \
    "['attempt', 'duration_ms', 'error', 'exit_code', 'finished_at', 'id', 'instance_id', 'job', 'message', 'progress', 'scheduled_for', 'shard_index', 'started_at', 'status']" \
    "an execution item has every field but the output"
is "$(jpy '(d["items"][0]["job"], d["items"][0]["status"], d["items"][0]["exit_code"], d["items"][0]["instance_id"])')" \
    "({'id': $hello, 'name': 'hello'}, 'succeeded', 0, 'jobs1')" "job {id, name}, status, exit code, instance"
like "$(jpy 'd["items"][0]["started_at"] + " " + d["items"][0]["finished_at"]')" '^[0-9-]{10}T[0-9:]{8}Z [0-9-]{10}T[0-9:]{8}Z$' \
    "times are ISO 8601 UTC"
api a_viewer GET "/api/v1/executions/$eid"
is "$API_CODE $(jpy 'd["output"].strip()')" "200 hello-$eid" "one execution has its output"
api b_manager GET "/api/v1/executions/$eid"
is "$API_CODE" 404 "another department's execution is not found"

# A noop job runs and succeeds with nothing in its execution.
post a_manager '{"name": "nothing", "schedule": "@every 1h", "department": "A", "kind": "noop", "config": {}}'
is "$API_CODE $(jpy 'd["kind"] + "|" + str(d["config"])')" "201 noop|{}" "a noop job is created with the empty config"
nothing=$(job_id nothing)
api a_viewer GET '/api/v1/jobs?kind=noop'
is "$API_CODE $(jpy '[j["name"] for j in d["items"]]')" "200 ['nothing']" "?kind=noop lists it"
api a_operator POST "/api/v1/jobs/$nothing/run"
is "$API_CODE $(jpy 'd["outcome"]')" "200 done" "an operator runs it"
noop_ran() { [ "$(q "SELECT count(*) FROM executions WHERE job_id = $nothing AND status = 'succeeded'")" -ge 1 ]; }
wait_until 20 noop_ran && pass "the noop job ran and succeeded" || fail "the noop job ran and succeeded" "$(tail -n 5 "$API_LOG")"
neid=$(q "SELECT min(id) FROM executions WHERE job_id = $nothing")
api a_viewer GET "/api/v1/executions/$neid"
is "$API_CODE $(jpy '(d["status"], d["exit_code"], d["error"], d["output"] or "")')" \
    "200 ('succeeded', None, None, '')" "its execution: succeeded, no exit code, no error, no output"
api a_manager DELETE "/api/v1/jobs/$nothing"
is "$API_CODE" 204 "the noop job is deleted with its executions (the listings below do not count them)"

api a_operator POST "/api/v1/jobs/$hello/pause"
is "$API_CODE $(jpy 'd["outcome"] + "|" + d["job"]["status"] + "|" + str(d["job"]["paused"])')" "200 done|paused|True" "pause"
api a_operator POST "/api/v1/jobs/$hello/pause"
is "$(jpy 'd["outcome"]')" unchanged "pausing a paused job changes nothing"
api a_operator POST "/api/v1/jobs/$hello/resume" '{}'
is "$API_CODE $(jpy 'd["outcome"] + "|" + d["job"]["status"]')" "200 done|waiting" "resume (an empty object is a fine body)"
api a_operator POST "/api/v1/jobs/$hello/resume" '{"now": true}'
is "$(err)" "400 unknown_field now" "an action takes no parameters"
api a_operator POST "/api/v1/jobs/$hello/kill"
is "$(err)" "409 conflict None" "killing a job that is not running is a 409"
like "$(jpy 'd["error"]["message"]')" "is not running" "with the store's words"

post a_manager "$(shell_job sleeper '"A"' 'sleep 30')"
sleeper=$(job_id sleeper)
api a_operator POST "/api/v1/jobs/$sleeper/run"
running() { api a_viewer GET "/api/v1/jobs/$sleeper"; [ "$(jpy 'd["running"]')" = True ]; }
wait_until 20 running && pass "the sleeper runs (running: true)" || fail "the sleeper runs" "$API_BODY"
api a_operator POST "/api/v1/jobs/$sleeper/run"
is "$(err)" "409 conflict None" "running a running job is a 409"
api a_manager DELETE "/api/v1/jobs/$sleeper"
is "$(err)" "409 conflict force" "deleting a running job needs ?force=true"
api a_operator POST "/api/v1/jobs/$sleeper/kill"
is "$API_CODE $(jpy 'd["outcome"]')" "200 requested" "kill asks its instance"
killed() { [ "$(q "SELECT status FROM executions WHERE job_id = $sleeper")" = killed ]; }
wait_until 20 killed && pass "the run ends killed" || fail "the run ends killed" "$(q "SELECT status FROM executions WHERE job_id = $sleeper")"

api a_operator DELETE "/api/v1/jobs/$hello"
is "$API_CODE" 403 "an operator may not delete a job"
api a_manager DELETE "/api/v1/jobs/$hello?force=maybe"
is "$(err)" "400 bad_parameter force" "?force= is true or false"
api a_manager DELETE "/api/v1/jobs/$hello"
is "$API_CODE" 204 "a manager deletes a job"
api a_manager GET "/api/v1/jobs/$hello"
is "$API_CODE" 404 "it is gone"
is "$(q "SELECT actor_user_id || '|' || (before->>'name') || '|' || (after IS NULL) FROM audit_log WHERE action = 'job.delete' AND object_id = '$hello'")" \
    "22|hello|true" "the delete is audited"

# --- executions: visibility, filters, pages ------------------------------------------
api a_viewer GET /api/v1/executions
is "$(jpy 'sorted(set(e["job"]["name"] for e in d["items"]))')" "['job-a', 'sleeper']" \
    "the executions of one's own departments only"
api b_manager GET /api/v1/executions
is "$(jpy '[e["id"] for e in d["items"]]')" "[62]" "another department's likewise"
api admin GET '/api/v1/executions?status=failed'
is "$(jpy '[e["id"] for e in d["items"]]')" "[62]" "?status="
api admin GET '/api/v1/executions?department=11&status=succeeded'
is "$(jpy '[e["id"] for e in d["items"]]')" "[61]" "?department="
api admin GET '/api/v1/executions?since=2999-01-01T00:00:00Z'
is "$(jpy 'len(d["items"])')" 0 "?since= in the future: none"
api admin GET '/api/v1/executions?until=2000-01-01'
is "$(jpy 'len(d["items"])')" 0 "?until= long ago: none"
api admin GET "/api/v1/executions?since=$(q "SELECT to_char(now() AT TIME ZONE 'UTC' - interval '2 hours', 'YYYY-MM-DD\"T\"HH24:MI:SS')")&until=$(q "SELECT to_char(now() AT TIME ZONE 'UTC' - interval '30 minutes', 'YYYY-MM-DD\"T\"HH24:MI:SS')")"
is "$(jpy 'sorted(e["id"] for e in d["items"])')" "[61, 62]" "?since=&until= (UTC without an offset)"
for bad in 'since=yesterday' 'status=lost' 'job=0' 'limit=1000' 'cursor=%21'; do
    api admin GET "/api/v1/executions?$bad"
    is "$API_CODE $(jpy 'd["error"]["field"]')" "400 ${bad%%=*}" "?$bad is a 400 naming it"
done
# 45 executions of job-a in the same instant: only the id tells them apart.
q "INSERT INTO executions (job_id, scheduled_for, attempt, instance_id, status, started_at, finished_at)
   SELECT 51, now() - interval '3 hours' + n * interval '1 second', 1, 'elsewhere', 'succeeded',
          timestamptz '2026-01-01 00:00:00.123456+00', timestamptz '2026-01-01 00:00:01+00'
   FROM generate_series(1, 45) n" >/dev/null
ids=$(walk a_viewer '/api/v1/executions?limit=7' id)
want=$(q "SELECT string_agg(e.id::text, ' ' ORDER BY e.started_at DESC, e.id DESC) FROM executions e JOIN jobs j ON j.id = e.job_id WHERE j.department_id = 11")
is "$(echo $ids)" "$want" "pages of 7: every execution once, newest first, ties by id"
is "$(cat "$TC_TMP/walk.pages")" "$(( ($(echo $want | wc -w) + 6) / 7 ))" "in as many pages as needed"

# --- instances and previews ------------------------------------------------------------
api a_viewer GET /api/v1/instances
is "$API_CODE $(jpy '[(i["state"], i["api_url"]) for i in d["items"] if i["id"] == "jobs1"][0]')" \
    "200 ('alive', '$API_URL')" "instances: this one is alive, with its API URL"
is "$(jpy 'sorted(d["items"][0])')" \
    "['api_url', 'heartbeat_age_s', 'heartbeat_at', 'hostname', 'id', 'max_running', 'pid', 'running', 'started_at', 'state', 'stopped_at', 'version']" \
    "an instance has the fields of 'tablecron instances'"
api a_viewer GET /api/v1/cron/next "" -G --data-urlencode 'expr=0 30 9 * * MON-FRI' --data-urlencode tz=Europe/Paris --data-urlencode count=3
is "$API_CODE $(jpy 'd["expr"] + "|" + d["timezone"] + "|" + str(len(d["next"]))')" "200 0 30 9 * * MON-FRI|Europe/Paris|3" \
    "cron/next previews a schedule"
like "$(jpy '" ".join(d["next"])')" '^([0-9-]{10}T09:30:00\+0[12]:00 ?){3}$' "in the zone, with its offset"
api a_viewer GET /api/v1/cron/next "" -G --data-urlencode 'expr=@every 90s'
is "$(jpy 'd["timezone"] + " " + str(len(d["next"]))')" "UTC 5" "UTC and 5 times by default"
api a_viewer GET /api/v1/cron/next "" -G --data-urlencode 'expr=0 0 1,15 JNA *'
is "$(err) $(jpy 'd["error"]["position"]')" "422 bad_schedule expr 9" "a bad expression: 422 with the position"
api a_viewer GET /api/v1/cron/next "" -G --data-urlencode 'expr=@daily' --data-urlencode tz=Mars/Olympus
is "$(err)" "400 bad_timezone tz" "a bad zone: 400"
api a_viewer GET '/api/v1/cron/next?expr=@daily&count=101'
is "$(err)" "400 bad_parameter count" "count above 100: 400"
api a_viewer GET /api/v1/cron/next
is "$(err)" "400 missing_parameter expr" "no expression: 400"

api_healthy "no request failed and the server is healthy"
done_testing
