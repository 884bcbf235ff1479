# cli_job.sh - the operators' command line: job add/edit/ls/show/rm/pause/
# resume/run/kill, history, instances.  Error lines and exit codes, the
# state each action leaves in the jobs table (checked with psql), audit
# rows, --json documents, and an end-to-end run against a real instance.
. "$TC_SRCDIR/tests/lib.sh"
plan 325

"$TABLECRON" migrate >/dev/null 2>&1 || { echo "Bail out! migrate failed"; exit 1; }

tc() { "$TABLECRON" "$@"; }
json_ok() { python3 -c 'import json, sys; json.load(sys.stdin)'; }
# jpy EXPR: evaluate a Python expression over the JSON document d on stdin
jpy() { python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }
job_col() { q "SELECT $2 FROM jobs WHERE name = '$1'"; }
audits() { q "SELECT count(*) FROM audit_log WHERE action = '$1' AND object_id = '$2'"; }
me="cli:$(id -un)"

# --- help -------------------------------------------------------------
run_ok "job --help exits 0" tc job --help
like "$TC_OUT" 'add .*create a job: a shell command, an HTTP request, a gRPC call or a noop' "job --help lists the subcommands"
helps_ok=1
for sub in add edit ls show rm pause resume run kill; do
    out=$(tc job "$sub" --help 2>&1) || helps_ok=0
    printf '%s' "$out" | grep -q "^usage: tablecron job $sub" || helps_ok=0
done
is "$helps_ok" 1 "every job subcommand has --help with its usage line"
run_ok "history --help exits 0" tc history --help
run_ok "history show --help exits 0" tc history show --help
run_ok "instances --help exits 0" tc instances --help
run_status 2 "job without a subcommand is a usage error" tc job
run_status 2 "an unknown job subcommand is a usage error" tc job frobnicate
is "$TC_OUT" "tablecron: job: unknown command 'frobnicate' (see 'tablecron job --help')" \
    "and says so in one line"

# --- add --------------------------------------------------------------
run_ok "job add with every option" tc job add backup --schedule '0 3 * * *' --tz Europe/Paris \
    --shell 'echo backing up' --timeout 90s --retries 2 --retry-backoff 1m --misfire once
is "$TC_OUT" "created job 'backup' (id $(job_col backup id))" "job add names the new job"
is "$(job_col backup "schedule || '|' || timezone || '|' || kind || '|' || status")" \
    "0 3 * * *|Europe/Paris|shell|waiting" "schedule, zone, kind and status are stored"
is "$(job_col backup "timeout_s || '|' || max_retries || '|' || retry_backoff_s || '|' || misfire_policy")" \
    "90|2|60|once" "durations are stored as seconds, the policy as given"
is "$(job_col backup "config = '{\"command\": \"echo backing up\"}'::jsonb")" t \
    "config is {\"command\": CMD}"
is "$(job_col backup "next_time IS NULL AND department_id = 1 AND version = 1")" t \
    "next_time is left to the instances; the default department is 1"
is "$(q "SELECT actor || '|' || object_type || '|' || (before IS NULL) || '|' || (after->>'name') || '|' || department_id
         FROM audit_log WHERE action = 'job.create' AND object_id = '$(job_col backup id)'")" \
    "$me|job|true|backup|1" "job add writes a job.create audit row with the row image"

run_ok "job add with defaults" tc job add plain --schedule '@hourly' --shell 'true'
is "$(job_col plain "timezone || '|' || timeout_s || '|' || max_retries || '|' || retry_backoff_s || '|' || misfire_policy")" \
    "UTC|3600|0|10|skip" "omitted options get the table's defaults"
run_ok "a plain number of seconds is accepted" tc job add secs --schedule '@daily' --shell 'true' --timeout 45
is "$(job_col secs timeout_s)" 45 "--timeout 45 is 45 seconds"

run_status 1 "a duplicate name fails with exit 1" tc job add backup --schedule '@daily' --shell 'true'
is "$TC_OUT" "tablecron: a job named 'backup' already exists" "duplicate name: one clear line"
run_status 2 "a bad schedule is exit 2" tc job add bad1 --schedule '0 0 1,15 JNA *' --shell 'true'
is "$TC_OUT" "tablecron: bad schedule: unknown month name 'JNA' at 9" \
    "bad schedule: the error and its position"
run_status 2 "a bad time zone is exit 2" tc job add bad2 --schedule '@daily' --tz Mars/Olympus --shell 'true'
is "$TC_OUT" "tablecron: bad time zone: unknown time zone 'Mars/Olympus' at 0" "bad zone: one clear line"
run_status 2 "a malformed zone name is exit 2" tc job add bad2 --schedule '@daily' --tz 'Europe/../x' --shell 'true'
like "$TC_OUT" "^tablecron: bad time zone: .* at [0-9]+$" "with its position"
run_status 1 "an unknown department is exit 1" tc job add bad3 --schedule '@daily' --department nope --shell 'true'
is "$TC_OUT" "tablecron: no department named 'nope'" "unknown department: named in the error"
run_status 2 "a bad --misfire is exit 2" tc job add bad4 --schedule '@daily' --misfire later --shell 'true'
is "$TC_OUT" "tablecron: bad misfire policy 'later': use skip or once" "bad misfire: one clear line"
run_status 2 "a name the table refuses is exit 2" tc job add 'has space' --schedule '@daily' --shell 'true'
like "$TC_OUT" "^tablecron: bad job name 'has space': " "bad name: a clear message, not a constraint name"
run_status 2 "a bad --timeout is exit 2" tc job add bad5 --schedule '@daily' --timeout 5x --shell 'true'
like "$TC_OUT" "^tablecron: bad --timeout '5x': .* at 1$" "bad duration: its position"
run_status 2 "a --timeout out of range is exit 2" tc job add bad6 --schedule '@daily' --timeout 8d --shell 'true'
like "$TC_OUT" "^tablecron: timeout must be from 1 s to 604800 s" "out of range: the limits"
run_status 2 "--retries out of range is exit 2" tc job add bad7 --schedule '@daily' --retries 101 --shell 'true'
run_status 2 "an empty command is exit 2" tc job add bad8 --schedule '@daily' --shell ''
is "$TC_OUT" "tablecron: bad config: command must be a non-empty string" "empty command: job_config's words"
run_status 2 "--shell is required" tc job add bad9 --schedule '@daily'
run_status 2 "an unknown option is exit 2" tc job add bad10 --schedule '@daily' --shell true --colour
is "$TC_OUT" "tablecron: job add: unknown option '--colour' (see 'tablecron job add --help')" \
    "unknown option: one line"
is "$(q "SELECT count(*) FROM jobs WHERE name LIKE 'bad%' OR name = 'has space'")" 0 "refused jobs are not stored"

q "INSERT INTO departments (name) VALUES ('ops')"
run_ok "job add --department --paused" tc job add nightly --schedule '30 2 * * *' --department ops \
    --shell 'echo nightly' --paused
is "$(job_col nightly "status || '|' || (department_id = (SELECT id FROM departments WHERE name = 'ops'))")" \
    "paused|true" "the job is paused and in its department"
like "$TC_OUT" "paused" "job add says it is paused"

# --- ls and show ------------------------------------------------------
run_ok "job ls" tc job ls
like "$(printf '%s' "$TC_OUT" | head -1)" '^NAME +DEPARTMENT +KIND +SCHEDULE +TIMEZONE +STATUS +NEXT_TIME +LAST$' \
    "job ls has a header"
like "$TC_OUT" 'nightly +ops +shell +30 2 \* \* \* +UTC +paused' "job ls shows each job in aligned columns"
is "$(tc job ls --json | jpy 'len(d)')" "$(q 'SELECT count(*) FROM jobs')" "job ls --json is an array of every job"
is "$(tc job ls --json | jpy '[j["timezone"] for j in d if j["name"] == "backup"][0]')" "Europe/Paris" \
    "job ls --json has the zone"
q "UPDATE jobs SET next_time = '2030-03-08 03:00:00+00' WHERE name = 'plain'"
like "$(tc job ls)" 'plain .* 2030-03-08T03:00:00Z' "next_time is shown as ISO 8601 UTC"

run_ok "job show" tc job show backup
like "$TC_OUT" 'timeout_s: +90' "job show has every column"
like "$TC_OUT" '"command": "echo backing up"' "job show has the config"
is "$(printf '%s\n' "$TC_OUT" | sed -n '/^next fire times/,/^recent executions/p' | grep -c '^  20')" 5 \
    "job show lists 5 fire times"
first_local=$(tc job show backup --json | jpy 'd["next_fire_times"][0]["local"]')
is "$first_local" "$(tc cron next '0 3 * * *' --tz Europe/Paris --count 1)" \
    "the first fire time is the schedule's, in the job's zone"
tc job show backup --json | json_ok && pass "job show --json parses" || fail "job show --json parses"
run_status 1 "cron next @manual: nothing to list (exit 1)" tc cron next @manual
is "$TC_OUT" "tablecron cron next: @manual never fires by itself: a job with it runs when made due (run now, or an upstream job's run)" \
    "and says why"
is "$(tc job show backup --json | jpy 'd["config"]["command"] + "|" + str(len(d["next_fire_times"])) + "|" + str(d["recent_executions"])')" \
    "echo backing up|5|[]" "job show --json has the config, fire times and executions"
run_status 1 "job show of an unknown job is exit 1" tc job show nope
is "$TC_OUT" "tablecron: no job named 'nope'" "unknown job: one clear line"

# --- edit -------------------------------------------------------------
q "UPDATE jobs SET config = '{\"command\": \"old\", \"env\": {\"A\": \"1\"}}', next_time = now() + interval '1 hour' WHERE name = 'plain'"
v=$(job_col plain version)
run_ok "job edit --shell --timeout" tc job edit plain --shell 'echo new' --timeout 2m
is "$(job_col plain "config = '{\"command\": \"echo new\", \"env\": {\"A\": \"1\"}}'::jsonb")" t \
    "--shell replaces config.command and keeps the other keys"
is "$(job_col plain "timeout_s || '|' || version || '|' || status || '|' || (next_time IS NOT NULL)")" \
    "120|$v|waiting|true" "edit changes only the given columns: not version, status or next_time"
run_ok "job edit --schedule" tc job edit plain --schedule '*/5 * * * *'
is "$(job_col plain "schedule || '|' || (next_time IS NULL) || '|' || version")" "*/5 * * * *|true|$v" \
    "a new schedule on a waiting job forgets next_time (the trigger), version untouched"
is "$(q "SELECT before->>'schedule' || '|' || (after->>'schedule') FROM audit_log
         WHERE action = 'job.update' AND object_id = '$(job_col plain id)' ORDER BY id DESC LIMIT 1")" \
    "@hourly|*/5 * * * *" "job edit writes before and after into audit_log"
n=$(audits job.update "$(job_col plain id)")
run_ok "an edit that changes nothing" tc job edit plain --timeout 120
is "$(audits job.update "$(job_col plain id)")" "$n" "an edit that changes nothing writes no audit row"
run_status 2 "job edit with a bad schedule is exit 2" tc job edit plain --schedule '*/5 * * * * * * *'
like "$TC_OUT" '^tablecron: bad schedule: .* at [0-9]+$' "with its position"
run_status 2 "job edit --tz is checked with the stored schedule" tc job edit plain --tz Nowhere/Land
run_status 1 "job edit of an unknown job is exit 1" tc job edit nope --timeout 5
is "$TC_OUT" "tablecron: no job named 'nope'" "unknown job: one clear line"
run_status 2 "job edit without options is exit 2" tc job edit plain
run_status 2 "job edit takes no --paused" tc job edit plain --paused
run_status 1 "job edit to an unknown department is exit 1" tc job edit plain --department nope
run_ok "job edit --department" tc job edit plain --department ops
is "$(job_col plain "department_id = (SELECT id FROM departments WHERE name = 'ops')")" t "the department changed"

# --- http and grpc tasks ----------------------------------------------
# The task options each set one config key; job_config checks the result
# (its words reach the user, exit 2).  Nothing runs these jobs here.
# cfg NAME: the stored config as sorted one-line JSON
cfg() { job_col "$1" config | jpy 'json.dumps(d, sort_keys=True)'; }

run_ok "job add --http with every option" tc job add hook --schedule '@hourly' \
    --http 'HTTPS://example.com/hook?x=1' --method post --header 'Authorization: Bearer abc' \
    --header 'X-Trace:  t1 ' --header='Accept: a=b' --json '{"a": [1, 2]}' --expect 200,204 \
    --follow-redirects --insecure --ca-file /etc/ssl/ca.pem --output-limit 1000
is "$TC_OUT" "created job 'hook' (id $(job_col hook id))" "job add names the new http job"
is "$(job_col hook kind)" http "its kind is http"
is "$(cfg hook)" '{"ca_file": "/etc/ssl/ca.pem", "expect_status": [200, 204], "follow_redirects": true, "headers": {"Accept": "a=b", "Authorization": "Bearer abc", "X-Trace": "t1"}, "json": {"a": [1, 2]}, "method": "post", "output_limit": 1000, "tls_verify": false, "url": "HTTPS://example.com/hook?x=1"}' \
    "each option sets its config key; --json is stored as JSON, --expect 200,204 as a list"
run_ok "job add --http with only a URL" tc job add ping --schedule '@hourly' --http http://h/ping
is "$(cfg ping)" '{"url": "http://h/ping"}' "the config has only the url: the rest are job_config's defaults"
run_ok "job add --http --body --expect 2xx" tc job add form --schedule '@daily' --http http://h/f \
    --body 'a=1&b=2' --expect 2xx
is "$(cfg form)" '{"body": "a=1&b=2", "expect_status": "2xx", "url": "http://h/f"}' \
    "--body is text, --expect 2xx a class"
run_ok "--expect with one status" tc job add one --schedule '@daily' --http http://h --expect ' 204'
is "$(cfg one)" '{"expect_status": 204, "url": "http://h"}' "--expect 204 is a number"

run_ok "job add --grpc with every option" tc job add rpc --schedule '@daily' \
    --grpc http://h:50051/ --method /pkg.v1.Svc/Do --message-base64 CgVoZWxsbw== \
    --metadata 'Authorization: Bearer x' --metadata 'trace-bin: AAEC' --insecure \
    --ca-file /ca.pem --output-limit 10
is "$(job_col rpc kind)" grpc "its kind is grpc"
is "$(cfg rpc)" '{"ca_file": "/ca.pem", "message_base64": "CgVoZWxsbw==", "metadata": {"Authorization": "Bearer x", "trace-bin": "AAEC"}, "method": "/pkg.v1.Svc/Do", "output_limit": 10, "tls_verify": false, "url": "http://h:50051/"}' \
    "each grpc option sets its config key"
run_ok "job add --shell --output-limit" tc job add capped --schedule '@daily' --shell 'yes | head' \
    --output-limit 100
is "$(cfg capped)" '{"command": "yes | head", "output_limit": 100}' "--output-limit applies to shell jobs too"
run_ok "job add --noop" tc job add idle --schedule '@daily' --noop
is "$(job_col idle kind)|$(cfg idle)" 'noop|{}' "a noop job: kind noop, config {}"

# bad task options: one line each, exit 2, nothing stored
bad_task() { # bad_task DESCRIPTION EXPECTED-LINE OPTIONS...
    local desc=$1 want=$2; shift 2
    run_status 2 "$desc: exit 2" tc job add tbad --schedule '@daily' "$@"
    is "$TC_OUT" "$want" "$desc: one clear line"
}
bad_task "no kind option" "tablecron: job add: --shell, --http, --grpc or --noop is required (see 'tablecron job add --help')" \
    --method GET
bad_task "two kind options" "tablecron: job add: give one of --shell, --http, --grpc and --noop" \
    --shell true --http http://h
bad_task "--noop and another kind option" "tablecron: job add: give one of --shell, --http, --grpc and --noop" \
    --noop --shell true
bad_task "--output-limit on a noop job" "tablecron: job add: --output-limit applies to shell, http and grpc jobs only" \
    --noop --output-limit 10
bad_task "an http option on a shell job" "tablecron: job add: --header applies to http jobs only" \
    --shell true --header 'A: b'
bad_task "a grpc option on an http job" "tablecron: job add: --metadata applies to grpc jobs only" \
    --http http://h --metadata 'a: b'
bad_task "--insecure on a shell job" "tablecron: job add: --insecure applies to http and grpc jobs only" \
    --shell true --insecure
bad_task "a URL of another scheme" "tablecron: bad config: url must start with http:// or https://" \
    --http ftp://h/x
bad_task "a URL with a blank" "tablecron: bad config: url must not contain blanks or control characters (at 8)" \
    --http 'http://h x/'
bad_task "a bad method" "tablecron: bad config: method must be an HTTP method such as GET or POST" \
    --http http://h --method 'G T'
bad_task "a header without a colon" "tablecron: bad --header 'Authorization Bearer x': use 'name: value'" \
    --http http://h --header 'Authorization Bearer x'
bad_task "a header tablecron sets" "tablecron: bad config: headers: 'X-Tablecron-Job' is set by tablecron itself" \
    --http http://h --header 'X-Tablecron-Job: 1'
bad_task "Content-Length" "tablecron: bad config: headers: 'content-length' is set by tablecron from the body" \
    --http http://h --header 'content-length: 3'
bad_task "a header given twice" "tablecron: bad --header: 'A' is given twice" \
    --http http://h --header 'A: 1' --header 'A: 2'
bad_task "--body and --json" "tablecron: job add: give --body or --json, not both" \
    --http http://h --body x --json 1
bad_task "--json that is not JSON" "tablecron: bad --json: not valid JSON: invalid token near 'nope' at 4" \
    --http http://h --json 'nope'
bad_task "--expect that is neither" "tablecron: bad --expect '2xx,3xx': use a class such as 2xx or statuses such as 200,204" \
    --http http://h --expect 2xx,3xx
bad_task "--expect with an empty item" "tablecron: bad --expect '200,,204': use a class such as 2xx or statuses such as 200,204" \
    --http http://h --expect 200,,204
bad_task "--expect out of range" "tablecron: bad config: expect_status must be a class from \"1xx\" to \"5xx\", a status from 100 to 599, or a list of 1 to 16 statuses" \
    --http http://h --expect 200,700
bad_task "--output-limit with a unit" "tablecron: bad --output-limit '10k': a number of bytes" \
    --http http://h --output-limit 10k
bad_task "--output-limit 0" "tablecron: bad config: output_limit must be a number of bytes from 1 to 16777216" \
    --http http://h --output-limit 0
bad_task "a relative --ca-file" "tablecron: bad config: ca_file must be an absolute path" \
    --http https://h --ca-file ca.pem
bad_task "--grpc without --method" "tablecron: bad config: a grpc config needs a method" \
    --grpc http://h:50051
bad_task "a gRPC method without a service" "tablecron: bad config: method must look like package.Service/Method" \
    --grpc http://h:50051 --method Do
bad_task "a gRPC URL with a query" "tablecron: bad config: url of a grpc task must not have a query or a fragment" \
    --grpc 'http://h:50051/?x=1' --method a.S/M
bad_task "a message that is not base64" "tablecron: bad config: message_base64 is not valid base64: not a base64 character at 4" \
    --grpc http://h:50051 --method a.S/M --message-base64 'Zm9v!'
bad_task "reserved metadata" "tablecron: bad config: metadata: 'grpc-timeout' is reserved by gRPC" \
    --grpc http://h:50051 --method a.S/M --metadata 'grpc-timeout: 1S'
bad_task "a -bin value that is not base64" "tablecron: bad config: metadata.a-bin is not valid base64: not a base64 character at 0" \
    --grpc http://h:50051 --method a.S/M --metadata 'a-bin: !!'
bad_task "metadata that is not ASCII" "tablecron: bad config: metadata.a must be printable ASCII (a -bin key takes base64)" \
    --grpc http://h:50051 --method a.S/M --metadata "a: caf$(printf '\303\251')"
bad_task "a header value that is not UTF-8" "tablecron: bad --header 'A: $(printf '\377')': it must be UTF-8 text" \
    --http http://h --header "A: $(printf '\377')"
is "$(q "SELECT count(*) FROM jobs WHERE name = 'tbad'")" 0 "refused task options store nothing"

# --- editing task options ---------------------------------------------
run_ok "job edit --header replaces the headers" tc job edit hook --header 'Accept: text/plain'
is "$(job_col hook "config->'headers'")" '{"Accept": "text/plain"}' "all the headers are the ones given"
is "$(job_col hook "config->>'method' || '|' || (config->>'tls_verify')")" "post|false" "the other keys are kept"
run_ok "job edit --body" tc job edit hook --body 'plain'
is "$(job_col hook "(config->>'body') || '|' || (config ? 'json')")" "plain|false" "--body replaces --json"
run_ok "job edit --json" tc job edit hook --json '[1]'
is "$(job_col hook "(config->>'json') || '|' || (config ? 'body')")" "[1]|false" "--json replaces --body"
run_ok "job edit --http on an http job" tc job edit hook --http https://example.com/v2 --method put
is "$(job_col hook "kind || '|' || (config->>'url') || '|' || (config->>'method') || '|' || (config->>'json')")" \
    "http|https://example.com/v2|put|[1]" "the same kind: the URL changes, the other keys stay"
run_ok "job edit --metadata on a grpc job" tc job edit rpc --metadata 'x-user: 42'
is "$(job_col rpc "config->'metadata'")" '{"x-user": "42"}' "--metadata replaces the metadata"
run_ok "job edit --insecure on a grpc job" tc job edit rpc --ca-file /other.pem
is "$(job_col rpc "config->>'ca_file'")" /other.pem "--ca-file changes the CA file"
v=$(job_col hook config)
run_status 2 "an edit to a bad config is exit 2" tc job edit hook --expect 99
like "$TC_OUT" '^tablecron: bad config: expect_status must be ' "with job_config's words"
is "$(job_col hook config)" "$v" "and the config is unchanged"
run_status 2 "a grpc option on an http job is exit 2" tc job edit hook --metadata 'a: b'
is "$TC_OUT" "tablecron: job 'hook' is an http job: --metadata applies to grpc jobs only" \
    "it names the job's kind and the option's"
run_status 2 "an http option on a shell job is exit 2" tc job edit backup --insecure
is "$TC_OUT" "tablecron: job 'backup' is a shell job: --insecure applies to http and grpc jobs only" \
    "shell: one clear line"
run_status 1 "task options on an unknown job are exit 1" tc job edit nope --header 'A: b'
is "$TC_OUT" "tablecron: no job named 'nope'" "unknown job: one clear line"
run_status 2 "a kind option with another kind's option" tc job edit hook --shell true --header 'A: b'
is "$TC_OUT" "tablecron: job edit: --header applies to http jobs only" "is refused in one line"

n=$(audits job.update "$(job_col hook id)")
run_ok "job edit --grpc makes an http job a grpc job" tc job edit hook --grpc http://g:1 --method a.S/M
is "$(job_col hook kind)|$(cfg hook)" 'grpc|{"method": "a.S/M", "url": "http://g:1"}' \
    "another kind: the config is only what was given"
is "$(q "SELECT (before->>'kind') || '>' || (after->>'kind') FROM audit_log WHERE action = 'job.update'
         AND object_id = '$(job_col hook id)' ORDER BY id DESC LIMIT 1")|$(audits job.update "$(job_col hook id)")" \
    "http>grpc|$((n + 1))" "the kind change is audited"
run_status 2 "a new kind with an incomplete config is exit 2" tc job edit hook --http http://h --expect 99
is "$(job_col hook kind)" grpc "and the kind stays"
run_status 2 "switching to grpc needs --method" tc job edit ping --grpc http://g:1
is "$TC_OUT" "tablecron: bad config: a grpc config needs a method" "job_config's words"
run_ok "job edit --shell makes a grpc job a shell job" tc job edit hook --shell 'echo back'
is "$(job_col hook kind)|$(cfg hook)" 'shell|{"command": "echo back"}' "a shell job with only its command"
run_ok "job edit --http makes a shell job an http job" tc job edit hook --http http://h/again
is "$(job_col hook kind)|$(cfg hook)" 'http|{"url": "http://h/again"}' "an http job with only its url"
run_ok "job edit --noop makes an http job a noop job" tc job edit one --noop
is "$(job_col one kind)|$(cfg one)" 'noop|{}' "a noop job with the empty config"
run_status 2 "a task option on a noop job is exit 2" tc job edit one --output-limit 5
is "$TC_OUT" "tablecron: job 'one' is a noop job: --output-limit applies to shell, http and grpc jobs only" \
    "noop: one clear line"
run_ok "job edit --noop of a noop job" tc job edit one --noop
is "$TC_OUT" "job 'one' already had these settings" "changes nothing"
run_ok "job edit --shell makes a noop job a shell job" tc job edit one --shell 'echo one'
is "$(job_col one kind)|$(cfg one)" 'shell|{"command": "echo one"}' "and back to a shell job"
q "UPDATE jobs SET config = '{\"command\": \"x\"}' WHERE name = 'idle'" >/dev/null
like "$(tc job show idle)" "^task: +will not run: unknown field 'command' in a noop config \\(it takes none: use \\{\\}\\)$" \
    "a noop config with a key, written by SQL, would not run: said so"
q "UPDATE jobs SET config = '{}' WHERE name = 'idle'" >/dev/null
like "$(tc job show idle)" '^task: +nothing: every run succeeds at once \(noop\)$' "job show says what a noop does"

# --- ls and show of http and grpc jobs ---------------------------------
like "$(tc job ls)" 'rpc +default +grpc +@daily' "job ls shows the kind"
tc job edit hook --method POST --json '{"k": "v"}' --expect 200,204 --follow-redirects --insecure >/dev/null
run_ok "job show of an http job" tc job show hook
like "$TC_OUT" '^task: +POST http://h/again with a 9-byte JSON body, expects 200, 204, follows redirects, TLS not verified$' \
    "job show says what the request is"
like "$TC_OUT" '"url": "http://h/again"' "and shows its config"
run_ok "job show of a grpc job" tc job show rpc
like "$TC_OUT" '^task: +call pkg.v1.Svc/Do at http://h:50051, 7-byte message, TLS not verified$' \
    "job show says what the call is"
is "$(tc job show rpc --json | jpy 'd["kind"] + "|" + d["config"]["metadata"]["x-user"]')" "grpc|42" \
    "job show --json has the kind and the config"
unlike "$(tc job show backup)" '^task:' "a runnable shell job needs no task line"
q "UPDATE jobs SET config = '{\"url\": \"ftp://x\"}' WHERE name = 'ping'"
like "$(tc job show ping)" '^task: +will not run: url must start with http:// or https://$' \
    "a config written by SQL that would not run is said so"

# --- pause, resume, run on idle jobs ----------------------------------
v=$(job_col backup version)
run_ok "job pause of a waiting job" tc job pause backup
is "$TC_OUT" "paused job 'backup'" "job pause says so"
is "$(job_col backup "status || '|' || version")" "paused|$((v + 1))" "pause: status paused, version + 1"
is "$(q "SELECT before->>'status' || '|' || (after->>'status') || '|' || actor FROM audit_log
         WHERE action = 'job.pause' AND object_id = '$(job_col backup id)'")" "waiting|paused|$me" \
    "pause writes a job.pause audit row"
run_ok "pausing a paused job is fine" tc job pause backup
is "$TC_OUT" "job 'backup' is already paused" "and says it is already paused"
is "$(job_col backup version)" "$((v + 1))" "nothing changed"
q "UPDATE jobs SET next_time = now() + interval '1 day', attempt = 2, scheduled_for = now() WHERE name = 'backup'"
run_ok "job resume" tc job resume backup
is "$(job_col backup "status || '|' || (next_time IS NULL) || '|' || attempt || '|' || (scheduled_for IS NULL) || '|' || pause_requested || '|' || version")" \
    "waiting|true|1|true|false|$((v + 2))" "resume: waiting, next_time NULL, attempt 1, version + 1"
run_ok "resuming a job that is not paused is fine" tc job resume backup
is "$TC_OUT" "job 'backup' is not paused" "and says it is not paused"
run_ok "job run of a waiting job" tc job run backup
is "$(job_col backup "status || '|' || (next_time <= now()) || '|' || attempt || '|' || pause_requested || '|' || version")" \
    "waiting|true|1|false|$((v + 3))" "run: due now, attempt 1, version + 1"
v=$(job_col nightly version)
run_ok "job run of a paused job" tc job run nightly
is "$TC_OUT" "job 'nightly' will run once now and stay paused" "job run says it stays paused"
is "$(job_col nightly "status || '|' || (next_time <= now()) || '|' || pause_requested || '|' || version")" \
    "waiting|true|true|$((v + 1))" "run of a paused job: due now, pause requested, version + 1"
is "$(audits job.run "$(job_col nightly id)")" 1 "job run writes a job.run audit row"
q "UPDATE jobs SET schedule_error = 'schedule: bad at 0' WHERE name = 'plain'"
run_status 1 "job run of a job with an unusable schedule is exit 1" tc job run plain
is "$TC_OUT" "tablecron: job 'plain' cannot run until its schedule is fixed (schedule: bad at 0)" \
    "and says why (the instances would pass it over)"
tc job edit plain --schedule '@hourly' >/dev/null
is "$(job_col plain "schedule_error IS NULL")" t "a schedule edit clears the error (the trigger)"
run_status 1 "job kill of a job that is not running is exit 1" tc job kill backup
is "$TC_OUT" "tablecron: job 'backup' is not running" "kill: one clear line"
for sub in pause resume run kill rm; do
    run_status 1 "job $sub of an unknown job is exit 1" tc job "$sub" ghost
done
is "$TC_OUT" "tablecron: no job named 'ghost'" "unknown job: one clear line"

# --- a compare-and-swap that misses ----------------------------------
# A test-only trigger makes the update of one job find nothing, as if an
# instance had moved its version in between: first only once (a sequence
# is not rolled back with the missed attempt), then every time.
tc job add contended --schedule '@daily' --shell 'true' >/dev/null
q "CREATE SEQUENCE test_miss;
   CREATE FUNCTION test_miss() RETURNS trigger LANGUAGE plpgsql AS \$\$
   BEGIN
       IF OLD.name = 'contended' AND nextval('test_miss') = 1 THEN RETURN NULL; END IF;
       RETURN NEW;
   END \$\$;
   CREATE TRIGGER test_miss BEFORE UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION test_miss();"
run_ok "a missed compare-and-swap is retried" tc job pause contended
is "$(job_col contended status)|$(audits job.pause "$(job_col contended id)")" "paused|1" \
    "the retry applies the change once, with one audit row"
q "CREATE OR REPLACE FUNCTION test_miss() RETURNS trigger LANGUAGE plpgsql AS \$\$
   BEGIN
       IF OLD.name = 'contended' THEN RETURN NULL; END IF;
       RETURN NEW;
   END \$\$;"
run_status 1 "a second miss is a conflict, exit 1" tc job resume contended
is "$TC_OUT" "tablecron: job 'contended' kept changing while this command ran (an instance is busy with it); try again" \
    "conflict: one clear line"
is "$(job_col contended status)|$(audits job.resume "$(job_col contended id)")" "paused|0" "nothing was written"
q "DROP TRIGGER test_miss ON jobs; DROP FUNCTION test_miss(); DROP SEQUENCE test_miss;"

# --- a running job (a fake lease set by SQL) --------------------------
tc job add busy --schedule '@daily' --shell 'true' >/dev/null
q "UPDATE jobs SET status = 'running', version = version + 1, lease_owner = 'ghost:1',
   lease_until = now() + interval '1 hour', next_time = now() WHERE name = 'busy'"
v=$(job_col busy version)
run_status 1 "job run of a running job is exit 1" tc job run busy
is "$TC_OUT" "tablecron: job 'busy' is already running" "already running: one clear line"
run_ok "job pause of a running job" tc job pause busy
like "$TC_OUT" "is running: it will be paused when this run ends" "pause says it waits for the run"
is "$(job_col busy "status || '|' || pause_requested || '|' || version")" "running|true|$v" \
    "pause of a running job: pause_requested, version untouched (the lease stays valid)"
run_ok "job resume of a running job with a pause pending" tc job resume busy
is "$(job_col busy "status || '|' || pause_requested || '|' || version")" "running|false|$v" \
    "resume clears pause_requested, version untouched"
run_ok "job kill of a running job" tc job kill busy
is "$(job_col busy "(kill_requested_at IS NOT NULL) || '|' || status || '|' || version")" "true|running|$v" \
    "kill sets kill_requested_at, version untouched"
is "$(audits job.kill "$(job_col busy id)")" 1 "kill writes a job.kill audit row"
run_status 1 "job rm of a running job is exit 1" tc job rm busy
is "$TC_OUT" "tablecron: job 'busy' is running: kill it first, or use --force" "rm of a running job: one clear line"
is "$(job_col busy count\(\*\))" 1 "the running job is still there"
busy_id=$(job_col busy id)
run_ok "job rm --force of a running job" tc job rm busy --force
is "$(q "SELECT count(*) FROM jobs WHERE name = 'busy'")" 0 "the job is gone"
is "$(q "SELECT (before->>'status') || '|' || (after IS NULL) FROM audit_log WHERE action = 'job.delete' AND object_id = '$busy_id'")" \
    "running|true" "rm writes a job.delete audit row with the row before"
run_ok "job rm" tc job rm secs
is "$TC_OUT" "deleted job 'secs' and its history" "job rm says so"

# --- history and instances on rows written by SQL ---------------------
hid=$(job_col backup id)
q "INSERT INTO executions (job_id, scheduled_for, attempt, instance_id, status, started_at, finished_at, exit_code, output, error) VALUES
   ($hid, '2026-03-08 03:00:00+00', 1, 'h1:10', 'succeeded', '2026-03-08 03:00:00+00', '2026-03-08 03:00:02.5+00', 0, 'all good', NULL),
   ($hid, '2026-03-09 03:00:00+00', 1, 'h1:10', 'failed', '2026-03-09 03:00:00+00', '2026-03-09 03:01:05+00', 3, 'line one
line two
', 'exit status 3
second line'),
   ($hid, '2026-03-10 03:00:00+00', 1, 'h2:20', 'timed_out', '2026-03-10 03:00:00+00', '2026-03-10 04:00:00+00', NULL, '', 'timed out after 3600 s')" >/dev/null
run_ok "history" tc history
like "$(printf '%s' "$TC_OUT" | head -1)" '^ID +JOB +SCHEDULED_FOR +ATTEMPT +INSTANCE +STATUS +EXIT +DURATION +ERROR$' \
    "history has a header"
is "$(printf '%s\n' "$TC_OUT" | sed -n 2p | awk '{print $6}')" "timed_out" "history is newest first"
like "$TC_OUT" 'backup +2026-03-09T03:00:00Z +1 +h1:10 +failed +3 +1m5s +exit status 3$' \
    "a row has job, fire time, attempt, instance, status, exit code, duration, the error's first line"
is "$(tc history --status failed --json | jpy 'len(d)')" 1 "history --status filters"
is "$(tc history --job backup --limit 2 --json | jpy 'len(d)')" 2 "history --job --limit"
tc history --json | json_ok && pass "history --json parses" || fail "history --json parses"
fid=$(q "SELECT id FROM executions WHERE status = 'failed'")
run_ok "history show ID" tc history show "$fid"
like "$TC_OUT" 'duration: +1m5s' "history show has the duration"
is "$(printf '%s\n' "$TC_OUT" | sed -n '/^output:$/,$p')" "$(printf 'output:\nline one\nline two')" \
    "history show prints the whole output"
is "$(tc history show "$fid" --json | jpy 'd["output"] + "|" + d["error"] + "|" + str(d["exit_code"])')" \
    "$(printf 'line one\nline two\n|exit status 3\nsecond line|3')" "history show --json has every field"
run_status 1 "history show of an unknown id is exit 1" tc history show 999999
is "$TC_OUT" "tablecron: no execution with id 999999" "unknown execution: one clear line"
run_status 2 "history show of a non-number is exit 2" tc history show abc
run_status 2 "history --status with an unknown status is exit 2" tc history --status great
run_status 2 "history --limit 0 is exit 2" tc history --limit 0
run_status 1 "history --job of an unknown job is exit 1" tc history --job nope

q "INSERT INTO instances (id, hostname, pid, version, heartbeat_at, stopped_at, max_running, running) VALUES
   ('live:1', 'live', 1, 'x', now(), NULL, 16, 2),
   ('gone:2', 'gone', 2, 'x', now() - interval '10 minutes', NULL, 16, 0),
   ('done:3', 'done', 3, 'x', now() - interval '10 minutes', now(), 16, 0)" >/dev/null
run_ok "instances" tc --lease 30s instances
like "$TC_OUT" 'live:1 +live +1 +x +[-0-9T:Z]+ +[0-9.]+s ago +2/16 +alive' "a live instance is alive, with running/max"
is "$(tc --lease 30s instances --json | jpy '",".join(i["id"] + "=" + i["state"] for i in d)')" \
    "done:3=stopped,gone:2=dead,live:1=alive" "dead after 3 leases without heartbeat; stopped when stopped"
is "$(tc --lease 1h instances --json | jpy '[i["state"] for i in d if i["id"] == "gone:2"][0]')" alive \
    "the dead line follows --lease"
q "DELETE FROM instances" >/dev/null

# --- end to end with a real instance ----------------------------------
printf 'log_level = info\n' >"$TC_TMP/serve.conf"
start_bg "$TC_TMP/serve.log" "$TABLECRON" --config "$TC_TMP/serve.conf" serve --instance-id e2e:1 --lease 3s
serve_pid=$TC_BG_PID
alive() { tc instances --json | jpy '[i["state"] for i in d if i["id"] == "e2e:1"][0]' | grep -qx alive; }
if wait_until 15 alive; then pass "instances shows the running instance alive"; else fail "instances shows the running instance alive" "$(tail -5 "$TC_TMP/serve.log")"; fi

execs() { q "SELECT count(*) FROM executions e JOIN jobs j ON j.id = e.job_id WHERE j.name = '$1' ${2:+AND e.status = '$2'}"; }
at_least() { [ "$(execs "$1" "$2")" -ge "$3" ]; }
exactly() { [ "$(execs "$1" "$2")" -eq "$3" ]; }
status_is() { [ "$(job_col "$1" status)" = "$2" ]; }

run_ok "job add an every-second job" tc job add tick --schedule '@every 1s' --shell 'echo tick-$TABLECRON_EXECUTION_ID'
if wait_until 15 at_least tick succeeded 2; then pass "the instance runs it: executions succeed"; else fail "the instance runs it: executions succeed" "$(tail -5 "$TC_TMP/serve.log")"; fi
eid=$(q "SELECT max(e.id) FROM executions e JOIN jobs j ON j.id = e.job_id WHERE j.name = 'tick' AND e.status = 'succeeded'")
is "$(tc history show "$eid" --json | jpy 'd["output"].strip()')" "tick-$eid" "history show has the task's output"
like "$(tc history --job tick --limit 1)" 'tick .* succeeded +0 ' "history lists its executions"
like "$(tc job show tick | sed -n '/^recent executions:/,$p')" "^$eid +tick +" "job show lists recent executions"
is "$(tc job show tick --json | jpy 'd["recent_executions"][0]["status"] in ("succeeded", "running")')" True \
    "job show --json has the latest executions"
like "$(tc job ls)" 'tick +default +shell +@every 1s +UTC +(waiting|running) +[-0-9T:Z]+ +succeeded' \
    "job ls shows the last status"

# A noop job: every run is an executions row that succeeded, with nothing
# else in it.
run_ok "job add an every-second noop job" tc job add nothing --schedule '@every 1s' --noop
if wait_until 15 at_least nothing succeeded 2; then pass "the instance runs the noop job: executions succeed"; else fail "the instance runs the noop job: executions succeed" "$(tail -5 "$TC_TMP/serve.log")"; fi
is "$(q "SELECT count(*) FILTER (WHERE e.status NOT IN ('succeeded', 'running')),
                count(*) FILTER (WHERE e.status = 'succeeded' AND e.exit_code IS NULL
                                 AND e.error IS NULL AND coalesce(e.output, '') = ''
                                 AND e.finished_at >= e.started_at)
           FROM executions e JOIN jobs j ON j.id = e.job_id WHERE j.name = 'nothing'")" \
    "0|$(execs nothing succeeded)" "noop runs: succeeded, no exit code, no error, no output"
like "$(tc history --job nothing --limit 1)" 'nothing .* succeeded ' "history lists them"
run_ok "job pause the noop job" tc job pause nothing

run_ok "job pause of the busy job" tc job pause tick
if wait_until 10 status_is tick paused; then pass "it ends up paused"; else fail "it ends up paused" "$(job_col tick "status || ' ' || pause_requested")"; fi
wait_until 10 exactly tick running 0
n=$(execs tick)
run_ok "job run of the paused job" tc job run tick
if wait_until 10 exactly tick '' $((n + 1)); then pass "job run gives one more execution"; else fail "job run gives one more execution" "$n -> $(execs tick)"; fi
if wait_until 10 status_is tick paused; then pass "and the job is paused again"; else fail "and the job is paused again" "$(job_col tick status)"; fi
if wait_until 3 at_least tick '' $((n + 2)); then fail "exactly one more execution" "$n -> $(execs tick)"; else pass "exactly one more execution"; fi
is "$(execs tick succeeded)" "$(execs tick)" "every run of it succeeded"

# Two runs within a second: each is its own execution (the fire time of a
# manual run never repeats one that already ran).
run_ok "job add a job to run by hand" tc job add twice --schedule '@every 1h' --shell 'true' --paused
tc job run twice >/dev/null
if wait_until 10 exactly twice succeeded 1 && wait_until 10 status_is twice paused; then pass "the first run is done"; else fail "the first run is done"; fi
run_ok "job run again at once" tc job run twice
if wait_until 10 exactly twice succeeded 2; then pass "the second run is a second execution"; else fail "the second run is a second execution" "$(tail -3 "$TC_TMP/serve.log")"; fi

run_ok "job add a long task" tc job add sleeper --schedule '@every 1h' --shell 'sleep 30' --paused
run_ok "job run it" tc job run sleeper
running_now() { status_is sleeper running && exactly sleeper running 1; }
if wait_until 10 running_now; then pass "it runs"; else fail "it runs" "$(tail -5 "$TC_TMP/serve.log")"; fi
run_status 1 "job run of the running job is refused" tc job run sleeper
run_status 1 "job rm of the running job is refused" tc job rm sleeper
is "$(q "SELECT count(*) FROM jobs WHERE name = 'sleeper'")" 1 "it is still there"
t0=$(date +%s)
run_ok "job kill" tc job kill sleeper
is "$TC_OUT" "asked the instance running job 'sleeper' to kill it" "job kill says so"
if wait_until 5 exactly sleeper killed 1; then pass "the execution is recorded as killed within 5 s"; else fail "the execution is recorded as killed within 5 s" "$(tail -5 "$TC_TMP/serve.log")"; fi
like "$(tc history --job sleeper --status killed)" 'sleeper .* killed .*killed on request' "history shows the kill"
if wait_until 5 status_is sleeper paused; then pass "the killed job is paused again (it was run from paused)"; else fail "the killed job is paused again" "$(job_col sleeper status)"; fi
[ $(( $(date +%s) - t0 )) -lt 10 ] && pass "well before the task would have ended" || fail "well before the task would have ended"

kill -TERM "$serve_pid"
wait "$serve_pid"
is "$?" 0 "the instance stops cleanly"
like "$(tc instances)" 'e2e:1 .* stopped$' "instances shows it stopped"

done_testing
